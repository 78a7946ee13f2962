package io.decostream.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.DType;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker on a tiny random LLaVA-NeXT-Video pack (issue 20 points 1 and 5): answers from the
 * live window as frames arrive and after the window slides name the frames they used and equal the
 * full re-prefill path over exactly those frames; grounding runs over the same frames; sampling is
 * per question (same seed, same answer), greedy by default, and bad values are dead-lettered. With
 * hot streams only (issue 22), a stream's window is prefilled only once questions make it hot, and
 * every answer, from either path, equals the full path over the frames it names.
 */
class WorkerLiveWindowTest {

  static final int GRID = 12; // 144 tokens per frame
  static final int DV = 64; // the tiny pack's CLIP width
  static final String QUESTION = "what color is the circle ?";

  @TempDir static Path tmp;
  static LlavaNextVideo model;
  static LlavaAnswerBackend backend;

  @TempDir Path state;
  final Topics topics = Topics.of(TopicNames.defaults());

  @BeforeAll
  static void load() {
    Path pack = tmp.resolve("tiny");
    TinyPack.write(pack, 5);
    model = LlavaNextVideo.load(pack, LlavaNextVideo.Part.LANGUAGE);
    backend = new LlavaAnswerBackend(model);
  }

  @AfterAll
  static void close() {
    if (model != null) {
      model.close();
    }
  }

  static float[] features(long index) {
    Random r = new Random(100 + index);
    float[] v = new float[GRID * GRID * DV];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }

  static FrameTokens frame(String stream, long index) {
    return FrameTokens.newBuilder()
        .setStreamId(stream)
        .setFrameIndex(index)
        .setTimestampMicros(index * 1_000_000)
        .setModelId("tiny")
        .setVisionLayer(2)
        .setSourceGridHeight(24)
        .setSourceGridWidth(24)
        .setGridHeight(GRID)
        .setGridWidth(GRID)
        .setPooling("avg")
        .setTokens(Tensors.encode(features(index), new int[] {GRID * GRID, DV}, DType.F32))
        .build();
  }

  static Question.Builder question(String stream, String id) {
    return Question.newBuilder()
        .setQuestionId(id)
        .setStreamId(stream)
        .setText(QUESTION)
        .setAskedAtMillis(System.currentTimeMillis());
  }

  /** The full re-prefill path over exactly the frames {@code a} names (consecutive indices). */
  static AnswerBackend.Generated full(Answer a, int maxNewTokens, Sampling s) {
    List<float[]> f = new ArrayList<>();
    for (long i = a.getFirstFrameIndex(); i <= a.getLastFrameIndex(); i++) {
      f.add(features(i));
    }
    assertEquals(a.getFrameCount(), f.size());
    return backend.generate(f, GRID * GRID, a.getQuestion(), maxNewTokens, s);
  }

  static void assertSameAsFull(Answer a, int maxNewTokens, Sampling s) {
    assertNull(a.getError(), a.getError());
    AnswerBackend.Generated g = full(a, maxNewTokens, s);
    assertEquals(g.text(), a.getText(), "answer " + a.getQuestionId());
    assertEquals(g.promptTokens(), a.getPromptTokens());
    assertEquals(g.generatedTokens(), a.getGeneratedTokens());
  }

  record Io(
      TestInputTopic<String, FrameTokens> tokens,
      TestInputTopic<String, Question> questions,
      TestOutputTopic<String, Answer> answers,
      TestOutputTopic<String, Grounding> grounding,
      TestOutputTopic<String, DeadLetter> dead) {}

  TopologyTestDriver driver(WorkerConfig config, Executor rebuilds) {
    return driver(config, backend, rebuilds, System::nanoTime);
  }

  TopologyTestDriver driver(
      WorkerConfig config, AnswerBackend llm, Executor rebuilds, LongSupplier nanos) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "worker-live-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    return new TopologyTestDriver(
        WorkerTopology.build(
            config.withMaxBatch(0), llm, rebuilds == null ? null : () -> rebuilds, nanos),
        p);
  }

  /** The tiny model's backend, counting the live windows it opens and the frames it prefills. */
  static final class Counting implements AnswerBackend {
    int opened;
    int closed;
    int prefilled;

    @Override
    public int contextLength() {
      return backend.contextLength();
    }

    @Override
    public int maxFrames(int tokensPerFrame, int reserved) {
      return backend.maxFrames(tokensPerFrame, reserved);
    }

    @Override
    public Generated generate(List<float[]> f, int tpf, String prompt, int maxNewTokens) {
      return backend.generate(f, tpf, prompt, maxNewTokens);
    }

    @Override
    public Generated generate(
        List<float[]> f, int tpf, String prompt, int maxNewTokens, Sampling sampling) {
      return backend.generate(f, tpf, prompt, maxNewTokens, sampling);
    }

    @Override
    public Explained explain(List<float[]> f, int tpf, String prompt, int[] tokenIds) {
      return backend.explain(f, tpf, prompt, tokenIds);
    }

    @Override
    public Live openLive(int tokensPerFrame, int maxFrames, int reservedTokens) {
      Live live = backend.openLive(tokensPerFrame, maxFrames, reservedTokens);
      synchronized (this) {
        opened++;
      }
      return new Live() {
        @Override
        public int frames() {
          return live.frames();
        }

        @Override
        public int maxFrames() {
          return live.maxFrames();
        }

        @Override
        public void append(float[] frame) {
          synchronized (Counting.this) {
            prefilled++;
          }
          live.append(frame);
        }

        @Override
        public boolean canAnswer(String prompt, int maxNewTokens) {
          return live.canAnswer(prompt, maxNewTokens);
        }

        @Override
        public Generated answer(String prompt, int maxNewTokens, Sampling sampling) {
          return live.answer(prompt, maxNewTokens, sampling);
        }

        @Override
        public long bytes() {
          return live.bytes();
        }

        @Override
        public Started start(String prompt, int maxNewTokens, Sampling sampling, int frames) {
          return live.start(prompt, maxNewTokens, sampling, frames);
        }

        @Override
        public void close() {
          synchronized (Counting.this) {
            closed++;
          }
          live.close();
        }
      };
    }

    @Override
    public void step(List<Started> active) {
      backend.step(active);
    }
  }

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
            topics.grounding().name(),
            Serdes.String().deserializer(),
            topics.grounding().valueSerde().deserializer()),
        d.createOutputTopic(
            topics.deadLetters().name(),
            Serdes.String().deserializer(),
            topics.deadLetters().valueSerde().deserializer()));
  }

  /** W = 2 in the store; the live window holds up to 4 frames and a slide keeps the newest 2. */
  static WorkerConfig config(boolean live) {
    return WorkerConfig.defaults()
        .withCaptionEvery(0)
        .withWindow(2, 64)
        .withMaxNewTokens(6)
        .withLive(new LiveWindowConfig(live, 2, 4, 1L << 30));
  }

  @Test
  void answersFromTheLiveWindowAsFramesArriveAndAfterASlide() {
    try (TopologyTestDriver d = driver(config(true), Runnable::run)) {
      Io io = io(d);
      io.tokens.pipeInput("cam", frame("cam", 0));
      io.questions.pipeInput("cam", question("cam", "q0").build());
      Answer a0 = io.answers.readValue();
      assertEquals(Boolean.TRUE, a0.getLiveWindow());
      assertEquals(0, a0.getFirstFrameIndex());
      assertEquals(1, a0.getFrameCount());
      assertSameAsFull(a0, 6, Sampling.GREEDY);

      for (long i = 1; i < 4; i++) {
        io.tokens.pipeInput("cam", frame("cam", i));
      }
      io.questions.pipeInput("cam", question("cam", "q1").build());
      Answer a1 = io.answers.readValue();
      // the store keeps W = 2, the live window all 4 frames it holds: the answer says so
      assertEquals(Boolean.TRUE, a1.getLiveWindow());
      assertEquals(0, a1.getFirstFrameIndex());
      assertEquals(3, a1.getLastFrameIndex());
      assertEquals(4, a1.getFrameCount());
      assertSameAsFull(a1, 6, Sampling.GREEDY);
      assertTrue(a0.getGeneratedTokens() + a1.getGeneratedTokens() > 0, "the tiny model answers");

      // frame 4: the window is full, it slides to the newest 2 frames (3, 4)
      io.tokens.pipeInput("cam", frame("cam", 4));
      io.questions.pipeInput("cam", question("cam", "q2").setWantGrounding(true).build());
      Answer a2 = io.answers.readValue();
      assertEquals(Boolean.TRUE, a2.getLiveWindow());
      assertEquals(3, a2.getFirstFrameIndex());
      assertEquals(4, a2.getLastFrameIndex());
      assertEquals(2, a2.getFrameCount());
      assertSameAsFull(a2, 6, Sampling.GREEDY);
      if (a2.getGeneratedTokens() > 0) {
        // grounding explains the answer over exactly its frames (the full path)
        Grounding g = io.grounding.readValue();
        assertEquals(List.of(3L, 4L), g.getFrameIndices());
        assertEquals(a2.getText(), g.getText());
      }
      io.tokens.pipeInput("cam", frame("cam", 5));
      io.questions.pipeInput("cam", question("cam", "q3").build());
      Answer a3 = io.answers.readValue();
      assertEquals(
          List.of(3L, 5L, 3),
          List.of(a3.getFirstFrameIndex(), a3.getLastFrameIndex(), a3.getFrameCount()));
      assertSameAsFull(a3, 6, Sampling.GREEDY);
      assertTrue(io.dead.isEmpty());
    }
  }

  @Test
  void captionsComeFromTheLiveWindowToo() {
    WorkerConfig c = config(true).withCaptionEvery(2);
    try (TopologyTestDriver d = driver(c, Runnable::run)) {
      Io io = io(d);
      TestOutputTopic<String, Caption> captions =
          d.createOutputTopic(
              topics.captions().name(),
              Serdes.String().deserializer(),
              topics.captions().valueSerde().deserializer());
      for (long i = 0; i < 6; i++) {
        io.tokens.pipeInput("cam", frame("cam", i));
      }
      // after frames 1, 3 and 5: windows 0..1, 0..3, then (slid at frame 4) 3..5
      List<Caption> out = captions.readValuesToList();
      assertEquals(3, out.size());
      long[][] ranges = {{0, 1}, {0, 3}, {3, 5}};
      for (int k = 0; k < 3; k++) {
        Caption cap = out.get(k);
        assertEquals(ranges[k][0], cap.getFirstFrameIndex(), cap.toString());
        assertEquals(ranges[k][1], cap.getLastFrameIndex(), cap.toString());
        List<float[]> f = new ArrayList<>();
        for (long i = ranges[k][0]; i <= ranges[k][1]; i++) {
          f.add(features(i));
        }
        AnswerBackend.Generated g =
            backend.generate(f, GRID * GRID, c.captionPrompt(), c.maxNewTokens());
        assertEquals(g.text(), cap.getText());
        assertEquals(g.promptTokens(), cap.getPromptTokens());
      }
    }
  }

  @Test
  void aCaptionDuringASlideStillEndsAtTheFrameThatTriggeredIt() {
    // the slide's rebuild is held back: the live window keeps its pre-slide frames, which a
    // caption must not use (the fault suite saw the same range captioned twice that way)
    WorkerConfig c = config(true).withCaptionEvery(2);
    List<Runnable> held = new ArrayList<>();
    try (TopologyTestDriver d = driver(c, held::add)) {
      Io io = io(d);
      TestOutputTopic<String, Caption> captions =
          d.createOutputTopic(
              topics.captions().name(),
              Serdes.String().deserializer(),
              topics.captions().valueSerde().deserializer());
      for (long i = 0; i < 8; i++) {
        io.tokens.pipeInput("cam", frame("cam", i));
      }
      assertFalse(held.isEmpty(), "a slide's rebuild was started and is still in flight");
      List<Caption> out = captions.readValuesToList();
      assertEquals(4, out.size());
      java.util.Set<String> ranges = new java.util.HashSet<>();
      for (int k = 0; k < out.size(); k++) {
        Caption cap = out.get(k);
        assertEquals(2L * k + 1, cap.getLastFrameIndex(), cap.toString());
        assertTrue(
            ranges.add(cap.getFirstFrameIndex() + ".." + cap.getLastFrameIndex()), cap.toString());
      }
    }
  }

  @Test
  void backgroundSlidesKeepAnsweringOverTheFramesTheyName() {
    // the real background thread: whichever window answers, the answer names its frames and
    // equals the full path over them
    try (TopologyTestDriver d = driver(config(true), null)) {
      Io io = io(d);
      for (long i = 0; i < 9; i++) {
        io.tokens.pipeInput("cam", frame("cam", i));
        if (i % 2 == 1) {
          io.questions.pipeInput("cam", question("cam", "q" + i).build());
          Answer a = io.answers.readValue();
          assertEquals(Boolean.TRUE, a.getLiveWindow());
          assertTrue(a.getLastFrameIndex() <= i && a.getFrameCount() <= 4, a.toString());
          assertSameAsFull(a, 6, Sampling.GREEDY);
        }
      }
    }
  }

  @Test
  void theFullPathStaysAvailableAndGivesTheSameAnswer() {
    String live;
    try (TopologyTestDriver d = driver(config(true), Runnable::run)) {
      Io io = io(d);
      io.tokens.pipeInput("cam", frame("cam", 0));
      io.tokens.pipeInput("cam", frame("cam", 1));
      io.questions.pipeInput("cam", question("cam", "q").build());
      Answer a = io.answers.readValue();
      assertEquals(Boolean.TRUE, a.getLiveWindow());
      live = a.getText();
    }
    try (TopologyTestDriver d = driver(config(false), Runnable::run)) {
      Io io = io(d);
      io.tokens.pipeInput("cam", frame("cam", 0));
      io.tokens.pipeInput("cam", frame("cam", 1));
      io.questions.pipeInput("cam", question("cam", "q").build());
      Answer a = io.answers.readValue();
      assertEquals(Boolean.FALSE, a.getLiveWindow());
      assertEquals(2, a.getFrameCount());
      assertEquals(live, a.getText());
      // greedy by default: the answer records it, and it is the old greedy output
      assertEquals(0.0, a.getTemperature());
      assertEquals(1.0, a.getTopP());
      assertEquals(
          backend.generate(List.of(features(0), features(1)), GRID * GRID, QUESTION, 6).text(),
          a.getText());
    }
  }

  @Test
  void evictedStreamsAreRebuiltFromTheStoreAndOversizedWindowsTakeTheFullPath() {
    // one cached stream at most: b's first frame evicts a
    WorkerConfig one = config(true).withLive(new LiveWindowConfig(true, 2, 1, 1L << 30));
    try (TopologyTestDriver d = driver(one, Runnable::run)) {
      Io io = io(d);
      for (long i = 0; i < 3; i++) {
        io.tokens.pipeInput("a", frame("a", i));
      }
      io.tokens.pipeInput("b", frame("b", 0));
      io.questions.pipeInput("a", question("a", "qa").build());
      Answer a = io.answers.readValue();
      // a's window came back from the store: its W = 2 newest frames
      assertEquals(Boolean.TRUE, a.getLiveWindow());
      assertEquals(
          List.of(1L, 2L, 2),
          List.of(a.getFirstFrameIndex(), a.getLastFrameIndex(), a.getFrameCount()));
      assertSameAsFull(a, 6, Sampling.GREEDY);
      io.questions.pipeInput("b", question("b", "qb").build());
      Answer b = io.answers.readValue();
      assertEquals(Boolean.TRUE, b.getLiveWindow());
      assertEquals(1, b.getFrameCount());
      assertSameAsFull(b, 6, Sampling.GREEDY);
    }
    // a bound below one window: never cached, answered by full re-prefill
    WorkerConfig tiny = config(true).withLive(new LiveWindowConfig(true, 2, 4, 1024));
    try (TopologyTestDriver d = driver(tiny, Runnable::run)) {
      Io io = io(d);
      io.tokens.pipeInput("a", frame("a", 0));
      io.tokens.pipeInput("a", frame("a", 1));
      io.questions.pipeInput("a", question("a", "qa").build());
      Answer a = io.answers.readValue();
      assertEquals(Boolean.FALSE, a.getLiveWindow());
      assertEquals(2, a.getFrameCount());
      assertSameAsFull(a, 6, Sampling.GREEDY);
    }
  }

  /**
   * Asks {@code id} on {@code stream}; the answer, which must equal the full path over its frames.
   */
  static Answer ask(Io io, String stream, String id) {
    io.questions.pipeInput(stream, question(stream, id).build());
    Answer a = io.answers.readValue();
    assertSameAsFull(a, 6, Sampling.GREEDY);
    return a;
  }

  static Answer ask(Io io, String stream, String id, java.time.Instant at) {
    io.questions.pipeInput(stream, question(stream, id).build(), at);
    Answer a = io.answers.readValue();
    assertSameAsFull(a, 6, Sampling.GREEDY);
    return a;
  }

  @Test
  void streamsTurnHotAndCoolOnTheRecordsTimeNotTheWorkersClock() {
    // issue 22: a worker that lags behind its input still sees a stream's questions seconds apart
    // in stream time, so it must not cool a stream that is asked about all the time; here the
    // records span 80 s while the worker's own clock moves milliseconds
    WorkerConfig c =
        config(true)
            .withLive(new LiveWindowConfig(true, 2, 4, 1L << 30, Duration.ofSeconds(30), 2));
    Counting llm = new Counting();
    double cooledBefore = LiveWindowsTest.cooled();
    java.time.Instant t0 = java.time.Instant.parse("2026-12-07T00:00:00Z");
    try (TopologyTestDriver d = driver(c, llm, Runnable::run, null)) {
      Io io = io(d);
      for (long i = 0; i < 2; i++) {
        io.tokens.pipeInput("cam", frame("cam", i), t0.plusSeconds(i));
      }
      assertEquals(Boolean.FALSE, ask(io, "cam", "q1", t0.plusSeconds(2)).getLiveWindow());
      // 40 s later in the records: not within 30 s of the first, so still cold
      assertEquals(Boolean.FALSE, ask(io, "cam", "q2", t0.plusSeconds(42)).getLiveWindow());
      assertEquals(0, llm.opened, "two questions 40 s apart do not make a stream hot");
      // the second within 30 s: hot; its window is built (synchronously here)
      ask(io, "cam", "q3", t0.plusSeconds(50));
      assertEquals(1, llm.opened, "hot after two questions 8 s apart");
      assertEquals(Boolean.TRUE, ask(io, "cam", "q4", t0.plusSeconds(51)).getLiveWindow());
      // 31 s of frames without a question: cam cools
      io.tokens.pipeInput("cam", frame("cam", 2), t0.plusSeconds(82));
      assertEquals(1, LiveWindowsTest.cooled() - cooledBefore);
      assertEquals(llm.opened, llm.closed, "its window was freed");
      assertTrue(io.dead.isEmpty());
    }
  }

  static List<Long> named(Answer a) {
    return List.of(a.getFirstFrameIndex(), a.getLastFrameIndex(), (long) a.getFrameCount());
  }

  @Test
  void onlyHotStreamsAreKeptPrefilledAndAnIdleOneCools() {
    // issue 22: the second question within 30 s makes a stream hot; captions every 2 frames
    WorkerConfig c =
        config(true)
            .withCaptionEvery(2)
            .withLive(new LiveWindowConfig(true, 2, 4, 1L << 30, Duration.ofSeconds(30), 2));
    Counting llm = new Counting();
    AtomicLong clock = new AtomicLong();
    List<Runnable> held = new ArrayList<>();
    double cooledBefore = LiveWindowsTest.cooled();
    try (TopologyTestDriver d = driver(c, llm, held::add, clock::get)) {
      Io io = io(d);
      for (long i = 0; i < 2; i++) {
        io.tokens.pipeInput("cam", frame("cam", i));
        io.tokens.pipeInput("other", frame("other", i));
      }
      assertEquals(
          0, llm.opened + llm.prefilled, "cold streams' frames (and captions) prefill none");
      Answer a1 = ask(io, "cam", "q1");
      assertEquals(Boolean.FALSE, a1.getLiveWindow());
      assertEquals(List.of(0L, 1L, 2L), named(a1));
      clock.addAndGet(TimeUnit.SECONDS.toNanos(31));
      // 31 s later: not within hotFor of the first, so still cold
      assertEquals(Boolean.FALSE, ask(io, "cam", "q2").getLiveWindow());
      assertTrue(held.isEmpty());
      clock.addAndGet(TimeUnit.SECONDS.toNanos(10));
      // the second within hotFor: its window is built in the background, this one re-prefills
      assertEquals(Boolean.FALSE, ask(io, "cam", "q3").getLiveWindow());
      assertEquals(1, held.size(), "the build is on the background executor");
      assertEquals(0, llm.opened, "not on the stream thread");
      io.tokens.pipeInput("cam", frame("cam", 2));
      // asked while the window is still building: the full path, over the store's frames
      Answer a4 = ask(io, "cam", "q4");
      assertEquals(Boolean.FALSE, a4.getLiveWindow());
      assertEquals(List.of(1L, 2L, 2L), named(a4));
      held.remove(0).run();
      assertEquals(List.of(1, 2), List.of(llm.opened, llm.prefilled), "built over frames 0, 1");
      // built: swapped in, frame 2 appended; greedy answers equal the full path (ask checks)
      Answer a5 = ask(io, "cam", "q5");
      assertEquals(Boolean.TRUE, a5.getLiveWindow());
      assertEquals(List.of(0L, 2L, 3L), named(a5));
      io.tokens.pipeInput("cam", frame("cam", 3));
      Answer a6 = ask(io, "cam", "q6");
      assertEquals(Boolean.TRUE, a6.getLiveWindow());
      assertEquals(List.of(0L, 3L, 4L), named(a6));
      io.tokens.pipeInput("other", frame("other", 2));
      assertEquals(4, llm.prefilled, "only cam's frames were prefilled");
      // 30 s without a question: cam cools on the next record, its window freed
      clock.addAndGet(TimeUnit.SECONDS.toNanos(30));
      io.tokens.pipeInput("cam", frame("cam", 4));
      assertEquals(1, LiveWindowsTest.cooled() - cooledBefore);
      assertEquals(llm.opened, llm.closed, "its window was freed");
      assertEquals(4, llm.prefilled, "a cooled stream's frames are only stored");
      Answer a7 = ask(io, "cam", "q7");
      assertEquals(Boolean.FALSE, a7.getLiveWindow());
      assertEquals(List.of(3L, 4L, 2L), named(a7));
      assertTrue(io.dead.isEmpty());
    }
  }

  @Test
  void samplingIsPerQuestionAndSeeded() {
    for (boolean liveOn : new boolean[] {true, false}) {
      try (TopologyTestDriver d = driver(config(liveOn), Runnable::run)) {
        Io io = io(d);
        io.tokens.pipeInput("cam", frame("cam", 0));
        io.tokens.pipeInput("cam", frame("cam", 1));
        Sampling hot = new Sampling(1.5, 0.95, 7);
        List<String> texts = new ArrayList<>();
        for (String id : List.of("s1", "s2")) {
          io.questions.pipeInput(
              "cam", question("cam", id).setTemperature(1.5).setTopP(0.95).setSeed(7L).build());
          Answer a = io.answers.readValue();
          assertEquals(liveOn, a.getLiveWindow());
          assertEquals(1.5, a.getTemperature());
          assertEquals(0.95, a.getTopP());
          assertEquals(7L, a.getSeed());
          assertSameAsFull(a, 6, hot);
          texts.add(a.getText());
        }
        assertEquals(texts.get(0), texts.get(1), "same seed, same answer");
        // a seed alone keeps the worker's default temperature: greedy
        io.questions.pipeInput("cam", question("cam", "s3").setSeed(99L).build());
        Answer greedy = io.answers.readValue();
        assertEquals(0.0, greedy.getTemperature());
        assertSameAsFull(greedy, 6, Sampling.GREEDY);
      }
    }
  }

  @Test
  void workerDefaultsSampleWhenConfigured() {
    Sampling hot = new Sampling(1.2, 0.9, 3);
    try (TopologyTestDriver d = driver(config(true).withSampling(hot), Runnable::run)) {
      Io io = io(d);
      io.tokens.pipeInput("cam", frame("cam", 0));
      io.questions.pipeInput("cam", question("cam", "d").build());
      Answer a = io.answers.readValue();
      assertEquals(1.2, a.getTemperature());
      assertEquals(3L, a.getSeed());
      assertSameAsFull(a, 6, hot);
    }
  }

  @Test
  void badSamplingValuesAreDeadLettered() {
    try (TopologyTestDriver d = driver(config(true), Runnable::run)) {
      Io io = io(d);
      io.tokens.pipeInput("cam", frame("cam", 0));
      List<Question> bad =
          List.of(
              question("cam", "t-neg").setTemperature(-0.5).build(),
              question("cam", "t-nan").setTemperature(Double.NaN).build(),
              question("cam", "t-inf").setTemperature(Double.POSITIVE_INFINITY).build(),
              question("cam", "p-zero").setTopP(0.0).build(),
              question("cam", "p-big").setTopP(1.5).build());
      for (Question q : bad) {
        io.questions.pipeInput("cam", q);
        DeadLetter dl = io.dead.readValue();
        assertTrue(
            dl.getReason().contains(q.getQuestionId())
                && dl.getReason().contains("invalid sampling"),
            dl.getReason());
        assertEquals("cam", dl.getStreamId());
      }
      assertTrue(io.answers.isEmpty(), "a refused question is not answered");
      // the worker goes on
      io.questions.pipeInput("cam", question("cam", "ok").setTemperature(0.0).setTopP(1.0).build());
      assertFalse(io.answers.readValue().getText() == null);
    }
  }

  @Test
  void invalidWorkerDefaultsAreRefused() {
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> new Sampling(-1, 1, 0));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> new Sampling(1, 0, 0));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> new LiveWindowConfig(true, 0, 1, 1));
  }
}
