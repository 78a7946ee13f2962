package io.decostream.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TopicNamesTest {

  @Test
  void defaultsMatchDesign() {
    TopicNames n = TopicNames.defaults();
    assertEquals(
        List.of(
            "deco.video-chunks",
            "deco.frames",
            "deco.frame-tokens",
            "deco.questions",
            "deco.answers",
            "deco.captions",
            "deco.grounding",
            "deco.dead-letters",
            "deco.control",
            "deco.budgets"),
        List.copyOf(n.asMap().values()));
  }

  @Test
  void prefixApplies() {
    TopicNames n = TopicNames.withPrefix("it-123.");
    assertEquals("it-123.deco.video-chunks", n.chunks());
    assertEquals("it-123.deco.dead-letters", n.deadLetters());
    assertEquals("it-123.deco.control", n.control());
    assertEquals("it-123.deco.budgets", n.budgets());
  }

  @Test
  void envOverridesAndPrefix() {
    TopicNames n =
        TopicNames.fromEnv(
            Map.of(
                "DECO_TOPIC_PREFIX",
                "dev.",
                "DECO_TOPIC_DEAD_LETTERS",
                "dlq",
                "DECO_TOPIC_TOKENS",
                "  tok  ",
                "DECO_TOPIC_ANSWERS",
                " "));
    assertEquals("dev.deco.video-chunks", n.chunks());
    assertEquals("dlq", n.deadLetters());
    assertEquals("tok", n.tokens());
    assertEquals("dev.deco.answers", n.answers()); // blank counts as unset
    assertEquals(TopicNames.defaults(), TopicNames.fromEnv(Map.of()));
    assertEquals("DECO_TOPIC_DEAD_LETTERS", TopicNames.envVar("deadLetters"));
    assertEquals("DECO_TOPIC_CHUNKS", TopicNames.envVar("chunks"));
    assertEquals("DECO_TOPIC_CONTROL", TopicNames.envVar("control"));
    TopicNames c =
        TopicNames.fromEnv(Map.of("DECO_TOPIC_CONTROL", "ctl", "DECO_TOPIC_PREFIX", "p."));
    assertEquals("ctl", c.control());
    assertEquals("p.deco.budgets", c.budgets());
  }

  @Test
  void rejectsIllegalNames() {
    TopicNames d = TopicNames.defaults();
    assertMessage(
        "must not be blank",
        () ->
            new TopicNames(
                " ",
                d.frames(),
                d.tokens(),
                d.questions(),
                d.answers(),
                d.captions(),
                d.grounding(),
                d.deadLetters(),
                d.control(),
                d.budgets()));
    assertMessage(
        "must not be blank",
        () ->
            new TopicNames(
                null,
                d.frames(),
                d.tokens(),
                d.questions(),
                d.answers(),
                d.captions(),
                d.grounding(),
                d.deadLetters(),
                d.control(),
                d.budgets()));
    assertMessage("illegal characters", () -> TopicNames.withPrefix("bad prefix/"));
    assertMessage(
        "illegal characters", () -> TopicNames.fromEnv(Map.of("DECO_TOPIC_FRAMES", "främes")));
    assertMessage("at most 249", () -> TopicNames.withPrefix("x".repeat(240)));
    assertMessage(
        "used for two topics",
        () -> TopicNames.fromEnv(Map.of("DECO_TOPIC_FRAMES", "deco.answers")));
    assertMessage(
        "used for two topics",
        () -> TopicNames.fromEnv(Map.of("DECO_TOPIC_CONTROL", "deco.budgets")));
    assertMessage("'.' or '..'", () -> TopicNames.validate("x", ".."));
  }

  private static void assertMessage(String fragment, org.junit.jupiter.api.function.Executable e) {
    IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
    assertTrue(ex.getMessage().contains(fragment), ex.getMessage());
  }
}
