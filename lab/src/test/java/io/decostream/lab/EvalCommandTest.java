package io.decostream.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class EvalCommandTest {

  @Test
  void theMarkdownNamesTheCommandThatReproducesItWithTheDefaultsSpelledOut() {
    EvalCommand withDefaults = new EvalCommand();
    new CommandLine(withDefaults)
        .parseArgs(
            "--model",
            "models/shapes-demo",
            "--grounding-check",
            "--markdown",
            "docs/shapes-eval.md");
    // the held-out set is fixed by its seed and size, so both are written even when left at their
    // defaults
    assertEquals(
        "./deco eval --model models/shapes-demo --videos 100 --seed 1000003 --grounding-check",
        withDefaults.reproduce());
    EvalCommand other = new EvalCommand();
    new CommandLine(other)
        .parseArgs("--model", "runs/v5/final", "--videos", "20", "--seed", "2000003");
    assertEquals("./deco eval --model runs/v5/final --videos 20 --seed 2000003", other.reproduce());
    EvalCommand half = new EvalCommand();
    new CommandLine(half).parseArgs("--model", "m", "--precision", "BF16");
    assertEquals(
        "./deco eval --model m --videos 100 --seed 1000003 --precision bf16", half.reproduce());
  }

  @Test
  void theWideSetIsNamedInTheCommandAndDrawsItsOwnClips() {
    EvalCommand wide = new EvalCommand();
    new CommandLine(wide).parseArgs("--model", "m", "--videos", "7", "--wide");
    assertEquals("./deco eval --model m --videos 7 --seed 1000003 --wide", wide.reproduce());
    for (int i = 0; i < 7; i++) {
      io.decostream.shapes.WideClips.Clip c = wide.clip(i);
      assertEquals(io.decostream.shapes.WideClips.clip(1000003, i), c);
    }
    EvalCommand plain = new EvalCommand();
    new CommandLine(plain).parseArgs("--model", "m");
    // the default set: 336x336, 8 fps, 16 s clips of the default world, as before
    io.decostream.shapes.WideClips.Clip c = plain.clip(3);
    assertEquals(io.decostream.shapes.VideoSpec.defaults(), c.spec());
    assertEquals(
        io.decostream.shapes.SceneGenerator.generate(
            io.decostream.shapes.ShapesWorld.videoSeed(1000003, 3), 16),
        c.scene());
  }

  @Test
  void everyQuestionIsWrittenAsOneJsonLineWithWhatMakesItsClipHard() throws Exception {
    EvalCommand wide = new EvalCommand();
    new CommandLine(wide).parseArgs("--model", "m", "--videos", "3", "--wide");
    java.util.List<io.decostream.shapes.WideClips.Clip> clips = new java.util.ArrayList<>();
    java.util.List<EvalCommand.Asked> asked = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      io.decostream.shapes.WideClips.Clip c = wide.clip(i);
      clips.add(c);
      int last = c.spec().lastSampledSecond();
      for (io.decostream.shapes.QaPair qa :
          io.decostream.shapes.Questions.samplePerType(
              c.scene(),
              io.decostream.shapes.Window.latest(last, 16),
              new java.util.SplittableRandom(i))) {
        String id = EvalCommand.stream(i) + "#" + qa.type().label();
        asked.add(new EvalCommand.Asked(EvalCommand.stream(i), c.scene(), qa, id, false, last));
      }
    }
    // the first question answered right, the second wrongly, the rest not at all
    java.util.Map<String, io.decostream.schemas.Answer> answers = new java.util.HashMap<>();
    answers.put(asked.get(0).id(), answer(asked.get(0), asked.get(0).qa().answer()));
    answers.put(asked.get(1).id(), answer(asked.get(1), "purple elephant"));
    java.util.List<String> lines = wide.answerLines(asked, answers, clips);
    assertEquals(asked.size(), lines.size());
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();
    for (int k = 0; k < lines.size(); k++) {
      com.fasterxml.jackson.databind.JsonNode o = json.readTree(lines.get(k));
      EvalCommand.Asked a = asked.get(k);
      io.decostream.shapes.WideClips.Clip c = clips.get(Integer.parseInt(a.stream().substring(5)));
      assertEquals(a.qa().type().label(), o.get("type").asText());
      assertEquals(a.qa().answer(), o.get("expected").asText());
      assertEquals(k == 0, o.get("correct").asBoolean(), lines.get(k));
      assertEquals(c.spec().width(), o.get("width").asInt());
      assertEquals(c.spec().height(), o.get("height").asInt());
      // the wide clips are 6 to 10 s, so the window holds every sampled second
      assertEquals(Math.min(16, c.spec().lastSampledSecond() + 1), o.get("windowFrames").asInt());
      assertEquals(c.scene().shapes().size(), o.get("shapes").asInt());
      java.util.Optional<io.decostream.shapes.Shape> s = a.qa().subject(a.scene());
      assertEquals(s.isPresent(), o.has("speed"), lines.get(k));
      if (s.isPresent()) {
        assertEquals(s.get().motion().name(), o.get("motion").asText());
        assertEquals(s.get().speed(), o.get("speed").asDouble());
      }
    }
    assertEquals("purple elephant", json.readTree(lines.get(1)).get("got").asText());
    assertEquals(true, json.readTree(lines.get(2)).get("got").isNull());
  }

  private static io.decostream.schemas.Answer answer(EvalCommand.Asked a, String text) {
    return io.decostream.schemas.Answer.newBuilder()
        .setQuestionId(a.id())
        .setStreamId(a.stream())
        .setQuestion(a.qa().question())
        .setText(text)
        .setFirstFrameIndex(0)
        .setLastFrameIndex(a.lastSecond())
        .setFrameCount(a.lastSecond() + 1)
        .setTokensPerFrame(36)
        .setPromptTokens(10)
        .setGeneratedTokens(2)
        .setAnsweredAtMillis(0)
        .build();
  }
}
