package io.decostream.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.DType;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerTopologyTest {
  static final int DIM = 4;

  /**
   * A stand-in LLM: context 2048; the "answer" names the frames it was given (first value of each).
   */
  static final class FakeLlm implements AnswerBackend {
    final List<String> prompts = new ArrayList<>();

    @Override
    public int contextLength() {
      return 2048;
    }

    @Override
    public int maxFrames(int tokensPerFrame, int reserved) {
      return (2048 - reserved) / tokensPerFrame;
    }

    @Override
    public Generated generate(
        List<float[]> frames, int tokensPerFrame, String prompt, int maxNewTokens) {
      prompts.add(prompt);
      StringBuilder sb = new StringBuilder();
      for (float[] f : frames) {
        assertEquals(tokensPerFrame * DIM, f.length);
        sb.append((int) f[0]).append(' ');
      }
      return new Generated(
          sb.toString().trim(),
          frames.size() * tokensPerFrame + 10,
          Math.min(3, maxNewTokens),
          1,
          2,
          3);
    }
  }

  @TempDir Path state;
  final Topics topics = Topics.of(TopicNames.defaults());
  final FakeLlm llm = new FakeLlm();

  TopologyTestDriver driver(WorkerConfig config) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "worker-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    return new TopologyTestDriver(WorkerTopology.build(config.withMaxBatch(0), llm), p);
  }

  static FrameTokens tokens(String stream, long index, int grid) {
    float[] v = new float[grid * grid * DIM];
    java.util.Arrays.fill(v, index);
    return FrameTokens.newBuilder()
        .setStreamId(stream)
        .setFrameIndex(index)
        .setTimestampMicros(index * 1_000_000)
        .setModelId("fake")
        .setVisionLayer(2)
        .setSourceGridHeight(24)
        .setSourceGridWidth(24)
        .setGridHeight(grid)
        .setGridWidth(grid)
        .setPooling(grid == 24 ? "none" : "avg")
        .setTokens(Tensors.encode(v, new int[] {grid * grid, DIM}, DType.F16))
        .build();
  }

  static Question question(String stream, String id) {
    return Question.newBuilder()
        .setQuestionId(id)
        .setStreamId(stream)
        .setText("what is here?")
        .setAskedAtMillis(System.currentTimeMillis())
        .build();
  }

  record Io(
      TestInputTopic<String, FrameTokens> tokens,
      TestInputTopic<String, Question> questions,
      TestOutputTopic<String, Answer> answers,
      TestOutputTopic<String, Caption> captions,
      TestOutputTopic<String, DeadLetter> dead) {}

  Io io(TopologyTestDriver d) {
    return new Io(
        d.createInputTopic(
            topics.tokens().name(),
            Serdes.String().serializer(),
            topics.tokens().valueSerde().serializer()),
        d.createInputTopic(
            topics.questions().name(),
            Serdes.String().serializer(),
            topics.questions().valueSerde().serializer()),
        d.createOutputTopic(
            topics.answers().name(),
            Serdes.String().deserializer(),
            topics.answers().valueSerde().deserializer()),
        d.createOutputTopic(
            topics.captions().name(),
            Serdes.String().deserializer(),
            topics.captions().valueSerde().deserializer()),
        d.createOutputTopic(
            topics.deadLetters().name(),
            Serdes.String().deserializer(),
            topics.deadLetters().valueSerde().deserializer()));
  }

  @Test
  void windowIsDerivedFromContextAndTokensPerFrame() {
    WorkerConfig c = WorkerConfig.defaults();
    assertEquals(12, c.windowFor(144, llm), "(2048-256)/144 DeCo frames");
    assertEquals(3, c.windowFor(576, llm), "(2048-256)/576 uncompressed frames");
    assertEquals(5, c.withWindow(5, 64).windowFor(144, llm));
    assertEquals(
        16,
        c.withWindow(0, 16).windowFor(64, llm),
        "28 frames of 64 tokens fit, capped by maxFrames = 16");
    assertEquals(28, c.withWindow(0, 64).windowFor(64, llm));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalStateException.class,
        () -> c.windowFor(2304, llm),
        "not one 48x48 frame fits 2048 - 256 tokens");
  }

  @Test
  void answersUseTheLastWFramesOfTheirOwnStream() {
    try (TopologyTestDriver d = driver(WorkerConfig.defaults().withCaptionEvery(0))) {
      Io io = io(d);
      for (int i = 0; i < 5; i++) {
        io.tokens.pipeInput("big", tokens("big", i, 24)); // 576 tokens: window of 3
      }
      for (int i = 0; i < 15; i++) {
        io.tokens.pipeInput("deco", tokens("deco", i, 12)); // 144 tokens: window of 12
      }
      io.questions.pipeInput("big", question("big", "q1"));
      io.questions.pipeInput("deco", question("deco", "q2"));
      List<Answer> answers = io.answers.readValuesToList();
      assertEquals(2, answers.size());
      Answer big = answers.get(0);
      assertEquals("q1", big.getQuestionId());
      assertEquals("big", big.getStreamId());
      assertNull(big.getError());
      assertEquals(2, big.getFirstFrameIndex());
      assertEquals(4, big.getLastFrameIndex());
      assertEquals(3, big.getFrameCount());
      assertEquals(576, big.getTokensPerFrame());
      assertEquals("2 3 4", big.getText());
      Answer deco = answers.get(1);
      assertEquals(3, deco.getFirstFrameIndex());
      assertEquals(14, deco.getLastFrameIndex());
      assertEquals(12, deco.getFrameCount(), "144-token frames: 4x the window of 576-token frames");
      assertEquals(144, deco.getTokensPerFrame());
      assertEquals(12 * 144 + 10, deco.getPromptTokens());
      assertTrue(
          deco.getTimingsMillis()
              .keySet()
              .containsAll(List.of("prefill", "decode", "total", "queue")));
      KeyValueStore<String, byte[]> store = d.getKeyValueStore(WorkerTopology.WINDOW_STORE);
      long kept = 0;
      try (var it = store.all()) {
        while (it.hasNext()) {
          it.next();
          kept++;
        }
      }
      assertEquals(3 + 12, kept, "older frames are evicted from the window store");
    }
  }

  @Test
  void aQuestionBeforeAnyFrameGetsAnAnswerWithTheReason() {
    try (TopologyTestDriver d = driver(WorkerConfig.defaults())) {
      Io io = io(d);
      io.questions.pipeInput("empty", question("empty", "q"));
      Answer a = io.answers.readValue();
      assertEquals("q", a.getQuestionId());
      assertNotNull(a.getError());
      assertTrue(a.getError().contains("no frames yet"), a.getError());
      assertEquals(-1, a.getFirstFrameIndex());
    }
  }

  @Test
  void aCaptionAfterEveryNFramesOfStreamTime() {
    try (TopologyTestDriver d = driver(WorkerConfig.defaults().withCaptionEvery(4))) {
      Io io = io(d);
      for (int i = 0; i < 10; i++) {
        io.tokens.pipeInput("s", tokens("s", i, 12));
      }
      List<Caption> captions = io.captions.readValuesToList();
      assertEquals(2, captions.size());
      assertEquals(3, captions.get(0).getLastFrameIndex());
      assertEquals(7, captions.get(1).getLastFrameIndex());
      assertEquals("0 1 2 3 4 5 6 7", captions.get(1).getText());
      assertEquals(WorkerConfig.defaults().captionPrompt(), llm.prompts.get(0));
    }
  }

  @Test
  void theChangelogHoldsExactlyTheWindowARestartedWorkerRestores() {
    // TopologyTestDriver does not restore stores on restart, so this checks the changelog itself:
    // replaying
    // it (puts, and tombstones for evicted frames) must give back the last W frames with their
    // bytes.
    // WorkerRestartIT (tests module) restarts a real KafkaStreams on a broker after deleting local
    // state.
    WorkerConfig config = WorkerConfig.defaults().withCaptionEvery(0).withWindow(3, 16);
    try (TopologyTestDriver d = driver(config)) {
      Io io = io(d);
      for (int i = 0; i < 6; i++) {
        io.tokens.pipeInput("s", tokens("s", i, 12));
      }
      io.tokens.pipeInput("t", tokens("t", 0, 12));
      TestOutputTopic<String, byte[]> changelog =
          d.createOutputTopic(
              "worker-test-" + WorkerTopology.WINDOW_STORE + "-changelog",
              Serdes.String().deserializer(),
              Serdes.ByteArray().deserializer());
      java.util.TreeMap<String, byte[]> replayed = new java.util.TreeMap<>();
      for (var r : changelog.readRecordsToList()) {
        if (r.value() == null) {
          replayed.remove(r.key());
        } else {
          replayed.put(r.key(), r.value());
        }
      }
      assertEquals(
          List.of(
              "s|0000000000000000003",
              "s|0000000000000000004",
              "s|0000000000000000005",
              "t|0000000000000000000"),
          new ArrayList<>(replayed.keySet()));
      FrameTokens restored =
          topics
              .tokens()
              .valueSerde()
              .deserializer()
              .deserialize("t", replayed.get("s|0000000000000000005"));
      assertEquals(5, restored.getFrameIndex());
      assertEquals(5f, Tensors.decode(restored.getTokens())[0]);
    }
  }

  @Test
  void streamIdsThatExtendAnotherStreamIdDoNotShareItsWindow() {
    try (TopologyTestDriver d =
        driver(WorkerConfig.defaults().withCaptionEvery(0).withWindow(2, 16))) {
      Io io = io(d);
      io.tokens.pipeInput("a", tokens("a", 1, 12));
      for (int i = 0; i < 3; i++) {
        io.tokens.pipeInput("a|b", tokens("a|b", 10 + i, 12));
      }
      io.questions.pipeInput("a", question("a", "q"));
      Answer a = io.answers.readValue();
      assertEquals("1", a.getText(), "stream a sees only its own frame");
      assertEquals(1, a.getFrameCount());
      io.questions.pipeInput("a|b", question("a|b", "q2"));
      assertEquals("11 12", io.answers.readValue().getText());
    }
  }

  @Test
  void aFailedCaptionIsSkippedAndTheStreamGoesOn() {
    AnswerBackend flaky =
        new AnswerBackend() {
          @Override
          public int contextLength() {
            return 2048;
          }

          @Override
          public int maxFrames(int tpf, int reserved) {
            return llm.maxFrames(tpf, reserved);
          }

          @Override
          public Generated generate(
              List<float[]> frames, int tpf, String prompt, int maxNewTokens) {
            if (prompt.equals(WorkerConfig.defaults().captionPrompt())) {
              throw new IllegalStateException("out of memory (simulated)");
            }
            return llm.generate(frames, tpf, prompt, maxNewTokens);
          }
        };
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "worker-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    try (TopologyTestDriver d =
        new TopologyTestDriver(
            WorkerTopology.build(
                WorkerConfig.defaults().withCaptionEvery(2).withMaxBatch(0), flaky),
            p)) {
      Io io = io(d);
      for (int i = 0; i < 4; i++) {
        io.tokens.pipeInput("s", tokens("s", i, 12));
      }
      assertTrue(io.captions.isEmpty());
      io.questions.pipeInput("s", question("s", "q"));
      assertEquals("0 1 2 3", io.answers.readValue().getText());
    }
  }

  @Test
  void badRecordsGoToTheDeadLetterTopic() {
    try (TopologyTestDriver d = driver(WorkerConfig.defaults())) {
      Io io = io(d);
      TestInputTopic<byte[], byte[]> raw =
          d.createInputTopic(
              topics.tokens().name(),
              Serdes.ByteArray().serializer(),
              Serdes.ByteArray().serializer());
      raw.pipeInput("s".getBytes(), new byte[] {(byte) 0xC3, 1, 0, 0});
      FrameTokens bad = tokens("s", 0, 12);
      bad.getTokens().setShape(List.of(200, DIM)); // data length no longer matches its shape
      io.tokens.pipeInput("s", bad);
      io.tokens.pipeInput(
          "s", tokens("s", 1, 48)); // 2304 tokens: no frame of this size fits the context
      List<DeadLetter> dl = io.dead.readValuesToList();
      assertEquals(3, dl.size());
      assertTrue(
          dl.get(1).getReason().contains("does not match the 12x12 grid"), dl.get(1).getReason());
      assertTrue(
          dl.get(2).getReason().contains("not even one frame of 2304 tokens fits"),
          dl.get(2).getReason());
      assertTrue(dl.stream().allMatch(x -> x.getStage().equals("llm-worker")));
      assertEquals("s", dl.get(1).getStreamId());
      io.questions.pipeInput("s", question("s", "q"));
      assertTrue(io.answers.readValue().getError().contains("no frames yet"));
    }
  }

  @Test
  void configIsValidated() {
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class,
        () ->
            new WorkerConfig(
                "a",
                TopicNames.defaults(),
                -1,
                1,
                1,
                0,
                "x",
                1,
                null,
                false,
                WorkerConfig.DEFAULT_DEDUP_RETENTION,
                WorkerConfig.DEFAULT_MAX_QUESTION_BYTES,
                WorkerConfig.DEFAULT_CRASH_ATTEMPT_LIMIT));
  }
}
