package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.cli.Deco;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The README's first command, in process: `deco demo` with a summary JSON. */
@Timeout(600)
class DemoCommandIT {
  @TempDir Path tmp;

  @Test
  void demoPrintsAnswersCaptionsAndASummaryWith144TokensPerFrame() throws Exception {
    Path json = tmp.resolve("summary.json");
    PrintStream original = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int code;
    try (PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
      System.setOut(capture);
      code = Deco.run("demo", "--seconds", "10", "--question", "what color is the circle?",
          "--question", "how many shapes are there?", "--max-new-tokens", "5", "--summary-json", json.toString(),
          "--grounding-dir", tmp.resolve("pics").toString());
    } finally {
      System.setOut(original);
    }
    String printed = buf.toString(StandardCharsets.UTF_8);
    original.println(printed);
    assertEquals(0, code, printed);
    assertTrue(printed.contains("Q: what color is the circle?"), "answers are printed as they arrive");
    assertTrue(printed.contains("caption frames"), "captions are printed as they arrive");
    assertTrue(printed.contains("==> summary"));

    JsonNode s = new ObjectMapper().readTree(json.toFile());
    assertEquals(10, s.get("frames").asInt());
    assertEquals(144, s.get("tokensPerFrame").asInt());
    assertEquals(2, s.get("answers").size());
    for (JsonNode a : s.get("answers")) {
      assertTrue(a.get("question").asText().endsWith("?"));
      assertTrue(a.has("text"));
      assertTrue(a.get("frameRange").get(0).asInt() >= 0 && a.get("frameRange").get(1).asInt() == 9);
    }
    assertTrue(s.get("captions").size() >= 2, "a caption every 4 frames of 10");
    for (String stage : new String[] {"frames", "encoder", "llmWorker"}) {
      assertTrue(s.get("stageLatencyMs").get(stage).asDouble() > 0, stage + " latency");
    }
    // the demo draws the answers' grounding maps: one folder per question, an overlay per frame of the window
    assertTrue(printed.contains("grounding of \"what color is the circle?\""), printed);
    for (String q : new String[] {"what_color_is_the_circle_", "how_many_shapes_are_there_"}) {
      try (var files = java.nio.file.Files.list(tmp.resolve("pics").resolve(q))) {
        long overlays = files.filter(p -> p.getFileName().toString().contains("-frame-")).count();
        assertEquals(10, overlays, q);
      }
    }
  }
}
