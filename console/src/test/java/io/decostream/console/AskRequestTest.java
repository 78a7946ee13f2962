package io.decostream.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AskRequestTest {
  @Test
  void aQuestionIsStrippedAndKept() {
    AskRequest r =
        AskRequest.fromJson(
            Map.of("stream", "cam1", "question", "  where is it? ", "grounding", true));
    assertEquals("cam1", r.streamId());
    assertEquals("where is it?", r.question());
    assertTrue(r.grounding());
  }

  @Test
  void anEmptyQuestionIsRefusedWithTheReason() {
    for (String q : new String[] {"", "   ", "\n\t"}) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> AskRequest.fromJson(Map.of("stream", "cam1", "question", q)));
      assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }
    Map<String, Object> noQuestion = new HashMap<>();
    noQuestion.put("stream", "cam1");
    assertThrows(IllegalArgumentException.class, () -> AskRequest.fromJson(noQuestion));
  }

  @Test
  void theLimitIs4096BytesOfUtf8NotCharacters() {
    assertEquals(4096, new AskRequest("s", "a".repeat(4096), false).question().length());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> new AskRequest("s", "a".repeat(4097), false));
    assertTrue(
        e.getMessage().contains("4097 bytes") && e.getMessage().contains("4096"), e.getMessage());
    // 2048 two-byte characters fit exactly, one more does not
    new AskRequest("s", "é".repeat(2048), false);
    assertThrows(
        IllegalArgumentException.class, () -> new AskRequest("s", "é".repeat(2049), false));
  }

  @Test
  void badFieldsAreRefused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> AskRequest.fromJson(Map.of("stream", 3, "question", "q")));
    assertThrows(
        IllegalArgumentException.class,
        () -> AskRequest.fromJson(Map.of("stream", "s", "question", "q", "grounding", "yes")));
    assertThrows(
        IllegalArgumentException.class, () -> AskRequest.fromJson(Map.of("question", "q")));
    assertThrows(
        IllegalArgumentException.class,
        () -> new AskRequest("x".repeat(256), "q", false),
        "an overlong stream id");
  }
}
