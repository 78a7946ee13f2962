package io.decostream.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.schemas.Answer;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Question;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Continuous batching in the worker (issue 22 point 3): questions of several streams in flight at
 * once are decoded together and answered exactly as one at a time; the stream thread goes on with
 * other streams' records while a generation runs. (A question whose offset was committed but whose
 * answer was not written is answered after a restart, once: WorkerBatchingIT, on a real broker.)
 */
class WorkerBatchingTest {

  @TempDir static Path packs;

  @BeforeAll
  static void load() {
    // the live-window test's tiny pack and backend (its helpers read them)
    Path pack = packs.resolve("tiny");
    TinyPack.write(pack, 5);
    WorkerLiveWindowTest.model = LlavaNextVideo.load(pack, LlavaNextVideo.Part.LANGUAGE);
    WorkerLiveWindowTest.backend = new LlavaAnswerBackend(WorkerLiveWindowTest.model);
  }

  @AfterAll
  static void close() {
    WorkerLiveWindowTest.close();
    WorkerLiveWindowTest.model = null;
    WorkerLiveWindowTest.backend = null;
  }

  @TempDir Path state;
  final Topics topics = Topics.of(TopicNames.defaults());

  TopologyTestDriver driver(WorkerConfig config, AnswerBackend backend, Path dir) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "worker-batching-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString());
    return new TopologyTestDriver(WorkerTopology.build(config, backend, () -> Runnable::run), p);
  }

  /** Advances wall-clock time (the forwarding punctuator) until {@code done} or 240 s pass. */
  static void pump(TopologyTestDriver d, BooleanSupplier done) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
    while (!done.getAsBoolean()) {
      assertTrue(System.nanoTime() < end, "the scheduler did not finish in time");
      d.advanceWallClockTime(WorkerProcessor.FORWARD_EVERY);
      Thread.sleep(5);
    }
  }

  static Question q(String stream, String id, String text, int maxNew) {
    return WorkerLiveWindowTest.question(stream, id).setText(text).setMaxNewTokens(maxNew).build();
  }

  static final List<String> TEXTS =
      List.of("what color is the circle ?", "is the square moving left ?", "how many shapes ?");

  /**
   * The test pack's backend whose first batched step waits until {@link #release}: every question
   * is then queued before the first decode step, so the batch does not depend on how fast this
   * machine generates a few tokens while the test pipes the next question in.
   */
  static final class Held implements AnswerBackend {
    final AnswerBackend inner = WorkerLiveWindowTest.backend;
    final CountDownLatch released = new CountDownLatch(1);
    final CountDownLatch stepping = new CountDownLatch(1);

    void release() {
      released.countDown();
    }

    @Override
    public int contextLength() {
      return inner.contextLength();
    }

    @Override
    public int maxFrames(int tokensPerFrame, int reservedTextTokens) {
      return inner.maxFrames(tokensPerFrame, reservedTextTokens);
    }

    @Override
    public Generated generate(
        List<float[]> frames, int tokensPerFrame, String prompt, int maxNewTokens) {
      return inner.generate(frames, tokensPerFrame, prompt, maxNewTokens);
    }

    @Override
    public Generated generate(
        List<float[]> frames,
        int tokensPerFrame,
        String prompt,
        int maxNewTokens,
        Sampling sampling) {
      return inner.generate(frames, tokensPerFrame, prompt, maxNewTokens, sampling);
    }

    @Override
    public Live openLive(int tokensPerFrame, int maxFrames, int reservedTokens) {
      return inner.openLive(tokensPerFrame, maxFrames, reservedTokens);
    }

    @Override
    public void step(List<Started> active) {
      stepping.countDown();
      try {
        if (!released.await(200, TimeUnit.SECONDS)) {
          throw new IllegalStateException("never released");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      inner.step(active);
    }

    @Override
    public Explained explain(
        List<float[]> frames, int tokensPerFrame, String prompt, int[] tokenIds) {
      return inner.explain(frames, tokensPerFrame, prompt, tokenIds);
    }
  }

  /**
   * Two frames per stream, then every stream's questions at once; answers by question id. With
   * batching on, the first decode step waits until every question was piped ({@link Held}).
   */
  Map<String, Answer> run(WorkerConfig config, Path dir, int streams) throws Exception {
    Map<String, Answer> out = new LinkedHashMap<>();
    Held held = new Held();
    AnswerBackend backend = config.maxBatch() > 0 ? held : WorkerLiveWindowTest.backend;
    try (TopologyTestDriver d = driver(config, backend, dir)) {
      WorkerLiveWindowTest.Io io = new WorkerLiveWindowTest().io(d);
      for (int s = 0; s < streams; s++) {
        io.tokens().pipeInput("cam" + s, WorkerLiveWindowTest.frame("cam" + s, s));
        io.tokens().pipeInput("cam" + s, WorkerLiveWindowTest.frame("cam" + s, s + 1));
      }
      int n = 0;
      for (int s = 0; s < streams; s++) {
        for (int k = 0; k < 2; k++) {
          String id = "q" + s + "-" + k;
          io.questions().pipeInput("cam" + s, q("cam" + s, id, TEXTS.get((s + k) % 3), 4 + 3 * k));
          n++;
        }
      }
      int expected = n;
      held.release();
      pump(
          d,
          () -> {
            io.answers().readValuesToList().forEach(a -> out.put(a.getQuestionId(), a));
            return out.size() == expected;
          });
      assertTrue(io.answers().isEmpty(), "one answer per question");
      assertTrue(pendingKeys(d).isEmpty(), "nothing left pending");
    }
    return out;
  }

  static List<String> pendingKeys(TopologyTestDriver d) {
    KeyValueStore<String, byte[]> pending = d.getKeyValueStore(WorkerTopology.PENDING_STORE);
    List<String> keys = new java.util.ArrayList<>();
    try (KeyValueIterator<String, byte[]> it = pending.all()) {
      it.forEachRemaining(kv -> keys.add(kv.key));
    }
    return keys;
  }

  @Test
  @Timeout(600)
  void questionsOfManyStreamsDecodedTogetherEqualOneAtATimeAnswers() throws Exception {
    // room for all 5 streams' windows: none is evicted while its questions wait
    WorkerConfig config =
        WorkerLiveWindowTest.config(true).withLive(new LiveWindowConfig(true, 2, 8, 1L << 30));
    double steps = GenerationScheduler.STEPS.count();
    double stepped = GenerationScheduler.STEPPED.count();
    Map<String, Answer> batched = run(config.withMaxBatch(8), state.resolve("batched"), 5);
    double meanBatch =
        (GenerationScheduler.STEPPED.count() - stepped)
            / Math.max(1, GenerationScheduler.STEPS.count() - steps);
    Map<String, Answer> alone = run(config.withMaxBatch(0), state.resolve("alone"), 5);
    assertEquals(10, batched.size());
    assertEquals(alone.keySet(), batched.keySet());
    for (String id : alone.keySet()) {
      Answer a = alone.get(id);
      Answer b = batched.get(id);
      assertNull(b.getError(), b.getError());
      assertEquals(a.getText(), b.getText(), id);
      assertEquals(a.getGeneratedTokens(), b.getGeneratedTokens(), id);
      assertEquals(a.getPromptTokens(), b.getPromptTokens(), id);
      assertEquals(a.getFirstFrameIndex(), b.getFirstFrameIndex(), id);
      assertEquals(a.getLastFrameIndex(), b.getLastFrameIndex(), id);
      assertEquals(Boolean.TRUE, b.getLiveWindow(), id + " came from its stream's live window");
      // and the greedy answer over the frames it names
      WorkerLiveWindowTest.assertSameAsFull(b, id.endsWith("-0") ? 4 : 7, Sampling.GREEDY);
    }
    assertTrue(meanBatch > 1.5, "generations were decoded together: mean batch " + meanBatch);
  }

  /**
   * A question that waited while the live window slid past the frames it was pinned to is answered
   * over the window's newest frames, still from the live window, and its answer names them; not by
   * re-prefilling its old frames (what made one loaded worker fall further and further behind).
   */
  @Test
  @Timeout(600)
  void aQuestionWhosePinnedFramesSlidOutIsAnsweredOverTheNewestFrames() throws Exception {
    WorkerConfig config = WorkerLiveWindowTest.config(true).withMaxBatch(8);
    Held held = new Held();
    Map<String, Answer> out = new LinkedHashMap<>();
    try (TopologyTestDriver d = driver(config, held, state)) {
      WorkerLiveWindowTest.Io io = new WorkerLiveWindowTest().io(d);
      io.tokens().pipeInput("cam", WorkerLiveWindowTest.frame("cam", 0));
      io.tokens().pipeInput("cam", WorkerLiveWindowTest.frame("cam", 1));
      // the first question is admitted and holds the scheduler in its first step; the second is
      // pinned to frames 0..1 and waits
      io.questions().pipeInput("cam", q("cam", "first", TEXTS.get(0), 5));
      assertTrue(held.stepping.await(60, TimeUnit.SECONDS), "the first question was admitted");
      io.questions().pipeInput("cam", q("cam", "waited", TEXTS.get(1), 5));
      // W = 2, slide 2: frame 4 fills the window, it slides to frames 3..4, frame 5 is appended
      for (long i = 2; i <= 5; i++) {
        io.tokens().pipeInput("cam", WorkerLiveWindowTest.frame("cam", i));
      }
      held.release();
      pump(
          d,
          () -> {
            io.answers().readValuesToList().forEach(a -> out.put(a.getQuestionId(), a));
            return out.size() == 2;
          });
    }
    Answer first = out.get("first");
    assertEquals(List.of(0L, 1L, 2L), frames(first));
    assertEquals(Boolean.TRUE, first.getLiveWindow());
    WorkerLiveWindowTest.assertSameAsFull(first, 5, Sampling.GREEDY);
    Answer waited = out.get("waited");
    assertEquals(List.of(3L, 5L, 3L), frames(waited), "the window's newest frames");
    assertEquals(Boolean.TRUE, waited.getLiveWindow(), "still from the live window");
    // and it is the greedy answer over the frames it names
    WorkerLiveWindowTest.assertSameAsFull(waited, 5, Sampling.GREEDY);
  }

  /**
   * A question asked while its stream had no window yet (hot streams only: it takes the full path
   * when asked) that waits until the window is built is answered from it, over its newest frames.
   */
  @Test
  @Timeout(600)
  void aQuestionAskedBeforeItsStreamHadAWindowIsAnsweredFromItOnceBuilt() throws Exception {
    WorkerConfig config =
        WorkerLiveWindowTest.config(true)
            .withLive(
                new LiveWindowConfig(true, 2, 8, 1L << 30).withHot(Duration.ofSeconds(600), 2))
            .withMaxBatch(8);
    Held held = new Held();
    Map<String, Answer> out = new LinkedHashMap<>();
    try (TopologyTestDriver d = driver(config, held, state)) {
      WorkerLiveWindowTest.Io io = new WorkerLiveWindowTest().io(d);
      // stream "hot": two questions make it hot, frame 2 swaps its window in, a third question
      // decodes from it and holds the scheduler in its first step
      for (long i = 0; i < 2; i++) {
        io.tokens().pipeInput("hot", WorkerLiveWindowTest.frame("hot", i));
      }
      io.questions().pipeInput("hot", q("hot", "h1", TEXTS.get(1), 5));
      io.questions().pipeInput("hot", q("hot", "h2", TEXTS.get(1), 5));
      io.tokens().pipeInput("hot", WorkerLiveWindowTest.frame("hot", 2));
      io.questions().pipeInput("hot", q("hot", "h3", TEXTS.get(0), 5));
      assertTrue(held.stepping.await(120, TimeUnit.SECONDS), "h3 decodes");
      // stream "cold": both questions are asked before it has a window (the second makes it hot)
      for (long i = 0; i < 2; i++) {
        io.tokens().pipeInput("cold", WorkerLiveWindowTest.frame("cold", i));
      }
      io.questions().pipeInput("cold", q("cold", "c1", TEXTS.get(2), 5));
      io.questions().pipeInput("cold", q("cold", "c2", TEXTS.get(2), 5));
      io.tokens().pipeInput("cold", WorkerLiveWindowTest.frame("cold", 2));
      held.release();
      pump(
          d,
          () -> {
            io.answers().readValuesToList().forEach(a -> out.put(a.getQuestionId(), a));
            return out.size() == 5;
          });
    }
    assertEquals(Boolean.FALSE, out.get("h1").getLiveWindow(), "asked before any window");
    assertEquals(Boolean.TRUE, out.get("h3").getLiveWindow());
    for (String id : List.of("c1", "c2")) {
      Answer c = out.get(id);
      assertEquals(Boolean.TRUE, c.getLiveWindow(), id + " waited for the window");
      assertEquals(List.of(0L, 2L, 3L), frames(c), id + ": the window's newest frames");
      WorkerLiveWindowTest.assertSameAsFull(c, 5, Sampling.GREEDY);
    }
  }

  private static List<Long> frames(Answer a) {
    return List.of(a.getFirstFrameIndex(), a.getLastFrameIndex(), (long) a.getFrameCount());
  }

  /** A stand-in whose generation for stream "slow" waits for a latch. */
  static final class Gate implements AnswerBackend {
    final CountDownLatch open = new CountDownLatch(1);
    final CountDownLatch entered = new CountDownLatch(1);

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
      if (prompt.startsWith("slow")) {
        entered.countDown();
        try {
          if (!open.await(200, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the gate was never opened");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
      return new Generated(prompt + " over " + frames.size(), 10, 1, 0, 0, 0);
    }
  }

  static Question question(String stream, String id, String text) {
    Question q = WorkerTopologyTest.question(stream, id);
    q.setText(text);
    return q;
  }

  static FrameTokens frame(String stream, long i) {
    return WorkerTopologyTest.tokens(stream, i, 2);
  }

  @Test
  @Timeout(60)
  void theStreamThreadKeepsProcessingWhileAGenerationRuns() throws Exception {
    Gate gate = new Gate();
    WorkerConfig config =
        WorkerConfig.defaults().withCaptionEvery(0).withWindow(4, 64).withMaxBatch(4);
    try (TopologyTestDriver d = driver(config, gate, state)) {
      WorkerTopologyTest t = new WorkerTopologyTest();
      WorkerTopologyTest.Io io = t.io(d);
      var tokens = io.tokens();
      var questions = io.questions();
      var answers = io.answers();
      tokens.pipeInput("a", frame("a", 0));
      questions.pipeInput("a", question("a", "long", "slow question"));
      assertTrue(gate.entered.await(30, TimeUnit.SECONDS), "the scheduler started it");
      // the long generation runs; the stream thread takes the next records all the same
      tokens.pipeInput("b", frame("b", 0));
      tokens.pipeInput("b", frame("b", 1));
      questions.pipeInput("c", question("c", "none", "any frames?"));
      KeyValueStore<String, byte[]> window = d.getKeyValueStore(WorkerTopology.WINDOW_STORE);
      assertNotNull(window.get(String.format("%s|%019d", "b", 1)), "frame b/1 was processed");
      List<Answer> early = answers.readValuesToList();
      assertEquals(1, early.size(), early.toString());
      assertEquals("none", early.get(0).getQuestionId());
      assertEquals("no frames yet for stream c", early.get(0).getError());
      assertEquals(1, pendingKeys(d).size(), "the long question is pending");
      gate.open.countDown();
      List<Answer> late = new java.util.ArrayList<>();
      pump(
          d,
          () -> {
            late.addAll(answers.readValuesToList());
            return !late.isEmpty();
          });
      assertEquals("long", late.get(0).getQuestionId());
      assertEquals("slow question over 1", late.get(0).getText());
      assertTrue(pendingKeys(d).isEmpty());
    } finally {
      gate.open.countDown();
    }
  }
}
