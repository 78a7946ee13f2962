package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.cli.Deco;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.Questions;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapesWorld;
import io.decostream.shapes.Window;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first command, in process: `deco demo` on its defaults (the shipped ShapesWorld
 * model, a ShapesWorld clip and its questions) with a summary JSON and the grounding pictures.
 */
@Timeout(600)
class DemoCommandIT {
  @TempDir Path tmp;

  static String run(String... args) {
    PrintStream original = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int code;
    try (PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
      System.setOut(capture);
      code = Deco.run(args);
    } finally {
      System.setOut(original);
    }
    String printed = buf.toString(StandardCharsets.UTF_8);
    original.println(printed);
    assertEquals(0, code, printed);
    return printed;
  }

  @Test
  void demoAnswersShapesWorldQuestionsWithTheShippedModelAndDrawsTheirGrounding() throws Exception {
    assertTrue(
        Files.isRegularFile(Path.of("../models/shapes-demo/model.safetensors")),
        "the shipped model");
    Path json = tmp.resolve("summary.json");
    String printed =
        run(
            "demo",
            "--max-new-tokens",
            "12",
            "--summary-json",
            json.toString(),
            "--grounding-dir",
            tmp.resolve("pics").toString());
    assertTrue(printed.contains("==> model ") && printed.contains("shapes-demo"), printed);
    assertTrue(printed.contains("caption frames"), "captions are printed as they arrive");
    JsonNode s = new ObjectMapper().readTree(json.toFile());
    assertEquals(16, s.get("frames").asInt(), "a 16 s clip sampled at 1 fps");
    assertEquals(
        36,
        s.get("tokensPerFrame").asInt(),
        "the shipped model's own 6x6 grid (12x12 patches pooled 2x2)");
    int answers = s.get("answers").size();
    assertTrue(answers >= 4, "one question per type that may be asked of the clip");
    for (JsonNode a : s.get("answers")) {
      assertTrue(a.has("expected") && a.has("correct"), a.toString());
      assertEquals(
          15,
          a.get("frameRange").get(1).asInt(),
          "the window ends at the clip's last sampled second");
    }
    // the trained model answers in the world's own terms: a colour for a colour question, a cell
    // for "where", ...
    // (a random pack answers with arbitrary words); how many are right is in the summary and in
    // docs/shapes-eval.md
    for (JsonNode a : s.get("answers")) {
      String q = a.get("question").asText();
      String text = a.get("text").asText().trim();
      assertTrue(
          allowedAnswers(q).contains(text),
          "answer \"" + text + "\" to \"" + q + "\" is not a " + "ShapesWorld answer of that type");
    }
    // the clip's questions are one per type with the scene's ground truth, and the shipped model
    // answers all six right (README: "correct answers:  6 of 6")
    Map<String, String> truth = groundTruth(7, 16);
    assertEquals(README_DEMO, truth, "the demo clip (scene seed 7, 16 s) and its questions");
    assertEquals(6, answers, s.toPrettyString());
    int i = 0;
    for (Map.Entry<String, String> qa : truth.entrySet()) {
      JsonNode a = s.get("answers").get(i++);
      assertEquals(qa.getKey(), a.get("question").asText(), "asked in question-type order");
      assertEquals(qa.getValue(), a.get("expected").asText(), a.toString());
      assertEquals(qa.getValue(), a.get("text").asText().trim(), "the shipped model's answer");
      assertTrue(a.get("correct").asBoolean(), a.toString());
      assertTrue(a.get("generatedTokens").asInt() >= 1, a.toString());
    }
    assertEquals(6, s.get("correctAnswers").asInt(), "correct answers: 6 of 6");
    assertEquals(0, s.get("deadLetters").asInt(), "nothing went to the dead-letter topic");
    // a caption every 4 frames of 16, the last over the whole clip, naming what is in it
    JsonNode captions = s.get("captions");
    assertEquals(4, captions.size(), captions.toString());
    for (int c = 0; c < 4; c++) {
      assertEquals(
          4 * c + 3, captions.get(c).get("frameRange").get(1).asInt(), captions.toString());
    }
    assertTrue(captions.get(3).get("text").asText().contains("white square"), captions.toString());
    // the grounding pictures: one folder per question, an overlay per frame of the window and the
    // window's strip
    List<Path> dirs;
    try (var list = Files.list(tmp.resolve("pics"))) {
      dirs = list.filter(Files::isDirectory).toList();
    }
    assertEquals(6, dirs.size(), "one folder of pictures per question: " + dirs);
    for (Path q : dirs) {
      try (var files = Files.list(q)) {
        List<String> names = files.map(p -> p.getFileName().toString()).toList();
        assertEquals(16, names.stream().filter(n -> n.contains("-frame-")).count(), q.toString());
        assertEquals(
            1, names.stream().filter(n -> n.endsWith("-window.png")).count(), names.toString());
      }
    }
  }

  /** The demo's questions and answers as the README prints them. */
  static final Map<String, String> README_DEMO = readmeDemo();

  private static Map<String, String> readmeDemo() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("what color is the square?", "white");
    m.put("what shape is the white object?", "square");
    m.put("how many shapes are there?", "one");
    m.put("where is the white square?", "top right");
    m.put("which way is the white square moving?", "up");
    m.put("is there a white square?", "yes");
    return m;
  }

  /** What `deco demo` asks of a ShapesWorld clip, with the answers (as DemoCommand picks them). */
  static Map<String, String> groundTruth(long sceneSeed, int seconds) {
    Scene scene = SceneGenerator.generate(sceneSeed, seconds);
    Window w = Window.latest(seconds - 1, ShapesWorld.MAX_WINDOW_FRAMES);
    Map<String, String> m = new LinkedHashMap<>();
    for (QaPair qa : Questions.samplePerType(scene, w, new SplittableRandom(sceneSeed))) {
      m.put(qa.question(), qa.answer());
    }
    return m;
  }

  static java.util.Set<String> allowedAnswers(String question) {
    if (question.startsWith("what color")) {
      return java.util.Set.of("red", "green", "blue", "yellow", "white", "purple");
    } else if (question.startsWith("what shape")) {
      return java.util.Set.of("circle", "square", "triangle");
    } else if (question.startsWith("how many")) {
      return java.util.Set.of("one", "two", "three");
    } else if (question.startsWith("where")) {
      return java.util.Set.of(
          "top left",
          "top",
          "top right",
          "left",
          "center",
          "right",
          "bottom left",
          "bottom",
          "bottom right");
    } else if (question.startsWith("which way")) {
      return java.util.Set.of("left", "right", "up", "down", "not moving");
    } else if (question.startsWith("is there")) {
      return java.util.Set.of("yes", "no");
    }
    throw new AssertionError("not a ShapesWorld question: " + question);
  }

  @Test
  void demoRunsARandomPackAtTheDecoDefaultsWhenGivenOne() throws Exception {
    Path pack = tmp.resolve("tiny");
    io.decostream.nn.tiny.TinyPack.write(pack, 42);
    Path json = tmp.resolve("summary.json");
    String printed =
        run(
            "demo",
            "--model",
            pack.toString(),
            "--seconds",
            "10",
            "--question",
            "how many shapes are there?",
            "--max-new-tokens",
            "4",
            "--no-grounding",
            "--summary-json",
            json.toString());
    assertTrue(
        printed.contains("Q: how many shapes are there?"), "answers are printed as they arrive");
    JsonNode s = new ObjectMapper().readTree(json.toFile());
    assertEquals(10, s.get("frames").asInt());
    assertEquals(
        144, s.get("tokensPerFrame").asInt(), "24x24 CLIP patches average-pooled to 12x12");
    assertTrue(s.get("captions").size() >= 2, "a caption every 4 frames of 10");
    for (String stage : new String[] {"frames", "encoder", "llmWorker"}) {
      assertTrue(s.get("stageLatencyMs").get(stage).asDouble() > 0, stage + " latency");
    }
  }
}
