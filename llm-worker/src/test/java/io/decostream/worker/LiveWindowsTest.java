package io.decostream.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.metrics.StageMetrics;
import io.decostream.schemas.FrameTokens;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The worker's live windows (issue 20 point 1) with a stand-in backend whose windows answer with
 * the frames they hold: appends while there is room, the slide's rebuild in the background while
 * the full window keeps answering, the swap, and the memory bounds (LRU eviction by streams and
 * bytes), and (issue 22) windows kept only for hot streams.
 */
class LiveWindowsTest {

  static final int TPF = 4;

  /** A backend whose live windows record their frames; each cache "holds" 1000 bytes per frame. */
  static final class FakeLiveLlm implements AnswerBackend {
    int opened;
    int closed;
    int appended;

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
      throw new AssertionError("the live window answers");
    }

    @Override
    public Live openLive(int tokensPerFrame, int maxFrames, int reservedTokens) {
      opened++;
      List<Integer> frames = new ArrayList<>();
      return new Live() {
        @Override
        public int frames() {
          return frames.size();
        }

        @Override
        public int maxFrames() {
          return maxFrames;
        }

        @Override
        public void append(float[] frame) {
          if (frames.size() == maxFrames) {
            throw new IllegalStateException("full");
          }
          appended++;
          frames.add((int) frame[0]);
        }

        @Override
        public boolean canAnswer(String prompt, int maxNewTokens) {
          return !frames.isEmpty();
        }

        @Override
        public Generated answer(String prompt, int maxNewTokens, Sampling sampling) {
          StringBuilder sb = new StringBuilder();
          frames.forEach(f -> sb.append(f).append(' '));
          return new Generated(sb.toString().trim(), 10, 1, 0, 1, 1);
        }

        @Override
        public long bytes() {
          return 1000L * maxFrames;
        }

        @Override
        public void close() {
          closed++;
        }
      };
    }
  }

  /** Runs queued rebuilds only when told: a rebuild "in the background" that has not finished. */
  static final class ManualExecutor implements Executor {
    final ArrayDeque<Runnable> queue = new ArrayDeque<>();

    @Override
    public void execute(Runnable r) {
      queue.add(r);
    }

    void runAll() {
      while (!queue.isEmpty()) {
        queue.poll().run();
      }
    }
  }

  final FakeLiveLlm llm = new FakeLiveLlm();
  final List<FrameTokens> store = new ArrayList<>();

  LiveWindows.Frame frame(String stream, long i) {
    FrameTokens t = WorkerTopologyTest.tokens(stream, i, 2);
    store.add(t);
    return new LiveWindows.Frame(t);
  }

  Supplier<List<LiveWindows.Frame>> store(String stream) {
    return () -> {
      List<LiveWindows.Frame> out = new ArrayList<>();
      store.stream()
          .filter(t -> t.getStreamId().equals(stream))
          .forEach(t -> out.add(new LiveWindows.Frame(t)));
      return out;
    };
  }

  String ask(LiveWindows w, String stream, int window) {
    LiveWindows.Answered a = w.answer(stream, TPF, window, store(stream), "q", 4, Sampling.GREEDY);
    assertNotNull(a);
    List<Long> named = new ArrayList<>();
    a.frames().forEach(f -> named.add(f.index()));
    // the text (the frames the window held) is exactly the frames the answer names
    StringBuilder sb = new StringBuilder();
    named.forEach(i -> sb.append(i).append(' '));
    assertEquals(sb.toString().trim(), a.result().text());
    return a.result().text();
  }

  @Test
  void slidesInTheBackgroundWhileTheFullWindowKeepsAnswering() {
    ManualExecutor bg = new ManualExecutor();
    // W = 3, slide 2: the cached window holds up to 5 frames, a slide keeps the newest 3
    LiveWindows w = new LiveWindows(llm, new LiveWindowConfig(true, 2, 8, 1L << 30), 100, bg);
    for (long i = 0; i < 5; i++) {
      w.onFrame("cam", frame("cam", i), TPF, 3, store("cam"));
    }
    assertEquals("0 1 2 3 4", ask(w, "cam", 3));
    assertEquals(1, llm.opened, "frames were appended, nothing rebuilt");
    // frame 5: full, the rebuild over frames 3..5 starts but has not finished
    w.onFrame("cam", frame("cam", 5), TPF, 3, store("cam"));
    assertTrue(w.rebuilding("cam"));
    assertEquals(1, w.rebuildsStarted());
    assertEquals("0 1 2 3 4", ask(w, "cam", 3), "the full window answers during the rebuild");
    w.onFrame("cam", frame("cam", 6), TPF, 3, store("cam"));
    assertEquals(1, w.rebuildsStarted(), "frames wait for the rebuild in flight");
    bg.runAll();
    // swapped in on the next question; frame 6 (arrived during the rebuild) is appended then
    assertEquals("3 4 5 6", ask(w, "cam", 3));
    assertEquals(List.of(3L, 4L, 5L, 6L), w.cachedFrames("cam"));
    assertEquals(1, llm.closed, "the old window was freed");
    w.onFrame("cam", frame("cam", 7), TPF, 3, store("cam"));
    assertEquals("3 4 5 6 7", ask(w, "cam", 3));
    w.close();
    assertEquals(llm.opened, llm.closed, "closing frees every window");
  }

  @Test
  void aFrameOutOfOrderOrAnotherWindowSizeStartsAgainFromTheStore() {
    LiveWindows w =
        new LiveWindows(llm, new LiveWindowConfig(true, 2, 8, 1L << 30), 100, Runnable::run);
    for (long i = 0; i < 3; i++) {
      w.onFrame("cam", frame("cam", i), TPF, 3, store("cam"));
    }
    assertEquals("0 1 2", ask(w, "cam", 3));
    // W now 2: capacity 4 -> rebuilt from the store's newest frames, as many as it holds
    assertEquals("0 1 2", ask(w, "cam", 2));
    w.onFrame("cam", frame("cam", 3), TPF, 2, store("cam"));
    assertEquals("0 1 2 3", ask(w, "cam", 2));
    // full: the slide keeps the newest W = 2
    w.onFrame("cam", frame("cam", 4), TPF, 2, store("cam"));
    assertEquals("3 4", ask(w, "cam", 2));
    w.close();
  }

  @Test
  void memoryIsBoundedByStreamsAndBytesLeastRecentlyUsedFirst() {
    double evictedBefore = evictions();
    // W = 2, slide 1: 3 frames per cache; each entry is charged 2 caches x 3000 + 3 frames' tokens
    LiveWindows w =
        new LiveWindows(llm, new LiveWindowConfig(true, 1, 2, 1L << 30), 100, Runnable::run);
    w.onFrame("a", frame("a", 0), TPF, 2, store("a"));
    w.onFrame("b", frame("b", 0), TPF, 2, store("b"));
    assertEquals(2, w.streams());
    long perStream = w.bytes() / 2;
    assertTrue(perStream > 6000, "two caches plus the kept frames: " + perStream);
    ask(w, "a", 2); // a is now the most recently used
    w.onFrame("c", frame("c", 0), TPF, 2, store("c"));
    assertEquals(2, w.streams(), "at most two streams");
    assertTrue(w.cachedFrames("b").isEmpty(), "b, the least recently used, was evicted");
    assertEquals(List.of(0L), w.cachedFrames("a"));
    assertEquals(2 * perStream, w.bytes());
    assertEquals(1, evictions() - evictedBefore);
    // an evicted stream's next question rebuilds it from the store
    assertEquals("0", ask(w, "b", 2));
    assertTrue(metric("deco.live.window.bytes") >= w.bytes());
    // a task closing drops its streams' windows (they may be processed elsewhere next)
    long before = w.bytes();
    w.drop(List.of("b", "nobody"));
    assertTrue(w.cachedFrames("b").isEmpty());
    assertEquals(before - perStream, w.bytes());
    w.close();
    assertEquals(0, w.bytes());

    // bytes: room for one stream only
    LiveWindows one =
        new LiveWindows(
            llm, new LiveWindowConfig(true, 1, 8, perStream + perStream / 2), 100, Runnable::run);
    one.onFrame("a", frame("a", 1), TPF, 2, store("a"));
    one.onFrame("b", frame("b", 1), TPF, 2, store("b"));
    assertEquals(1, one.streams());
    assertTrue(one.cachedFrames("a").isEmpty());
    one.close();

    // a single window over the bound is not cached: the caller takes the full path
    LiveWindows none =
        new LiveWindows(llm, new LiveWindowConfig(true, 1, 8, 100), 100, Runnable::run);
    none.onFrame("a", frame("a", 2), TPF, 2, store("a"));
    assertEquals(0, none.streams());
    assertNull(none.answer("a", TPF, 2, store("a"), "q", 4, Sampling.GREEDY));
    none.close();
    assertEquals(llm.opened, llm.closed);
  }

  @Test
  void aBackendWithoutLiveWindowsMeansTheFullPath() {
    LiveWindows w =
        new LiveWindows(
            new WorkerTopologyTest.FakeLlm(), LiveWindowConfig.DEFAULTS, 100, Runnable::run);
    w.onFrame("a", frame("a", 0), TPF, 2, store("a"));
    assertFalse(w.streams() > 0);
    assertNull(w.answer("a", TPF, 2, store("a"), "q", 4, Sampling.GREEDY));
  }

  /** W = 3, slide 2 (5 frames a window), hot for 30 s after the warmAfter-th question. */
  static LiveWindowConfig hot(int maxStreams, int warmAfter) {
    return new LiveWindowConfig(true, 2, maxStreams, 1L << 30, Duration.ofSeconds(30), warmAfter);
  }

  final AtomicLong clock = new AtomicLong();

  void advance(long seconds) {
    clock.addAndGet(TimeUnit.SECONDS.toNanos(seconds));
  }

  @Test
  void aColdStreamIsNotPrefilledAndItsSecondQuestionWithinHotForWarmsItInTheBackground() {
    ManualExecutor bg = new ManualExecutor();
    LiveWindows w = new LiveWindows(llm, hot(8, 2), 100, bg, clock::get);
    for (long i = 0; i < 3; i++) {
      w.onFrame("cam", frame("cam", i), TPF, 3, store("cam"));
    }
    // cold: its frames are only in the store, the model never ran
    assertEquals(0, llm.opened + llm.appended);
    assertFalse(w.prefills("cam"));
    // captions come for every stream: they never warm one
    for (int k = 0; k < 3; k++) {
      assertNull(w.pin("cam", TPF, 3, store("cam"), false));
    }
    assertNull(w.answer("cam", TPF, 3, store("cam"), "q", 4, Sampling.GREEDY), "full path");
    advance(31);
    // the first question is older than hotFor: this is the first again
    assertNull(w.answer("cam", TPF, 3, store("cam"), "q", 4, Sampling.GREEDY));
    assertEquals(0, w.streams());
    advance(10);
    // the second within hotFor: hot, built in the background; this question takes the full path
    assertNull(w.answer("cam", TPF, 3, store("cam"), "q", 4, Sampling.GREEDY));
    assertTrue(w.rebuilding("cam"));
    assertEquals(1, bg.queue.size());
    assertEquals(0, llm.opened, "nothing was prefilled on the caller's thread");
    w.onFrame("cam", frame("cam", 3), TPF, 3, store("cam"));
    assertEquals(0, llm.appended, "a frame during the build waits for it");
    assertNull(
        w.pin("cam", TPF, 3, store("cam"), true), "while it builds, questions take the full path");
    bg.runAll();
    assertEquals(1, llm.opened);
    // swapped in on the next question, the frame that came meanwhile appended then
    assertEquals("0 1 2 3", ask(w, "cam", 3));
    assertTrue(w.prefills("cam"));
    w.onFrame("cam", frame("cam", 4), TPF, 3, store("cam"));
    assertEquals("0 1 2 3 4", ask(w, "cam", 3));
    w.close();
    assertEquals(llm.opened, llm.closed);
  }

  @Test
  void anIdleHotStreamCoolsBeforeTheLeastRecentlyUsedBoundEvictsAnother() {
    double evictedBefore = evictions();
    double cooledBefore = cooled();
    // at most two windows; one question makes a stream hot
    LiveWindows w = new LiveWindows(llm, hot(2, 1), 100, Runnable::run, clock::get);
    for (String s : List.of("a", "b")) {
      w.onFrame(s, frame(s, 0), TPF, 3, store(s));
      assertNull(w.pin(s, TPF, 3, store(s), true), "the warming question takes the full path");
      assertEquals("0", ask(w, s, 3));
    }
    advance(20);
    assertEquals("0", ask(w, "b", 3)); // b is asked again, a is not
    advance(15); // a: 35 s without a question, b: 15 s
    assertEquals(0, cooled() - cooledBefore, "both were asked within hotFor so far");
    // any call looks at the clock: a, 30 s and more without a question, is cooled first
    w.onFrame("c", frame("c", 0), TPF, 3, store("c"));
    assertEquals(1, cooled() - cooledBefore);
    assertTrue(w.cachedFrames("a").isEmpty());
    assertNull(w.pin("c", TPF, 3, store("c"), true));
    // so c's window fits the two-stream bound: b kept its window, nothing was evicted
    assertEquals(0, evictions() - evictedBefore);
    assertTrue(w.cachedFrames("a").isEmpty());
    assertEquals(List.of(0L), w.cachedFrames("b"));
    assertEquals(List.of(0L), w.cachedFrames("c"));
    assertEquals(2, w.streams());
    assertFalse(w.prefills("a"));
    w.onFrame("a", frame("a", 1), TPF, 3, store("a"));
    assertTrue(w.cachedFrames("a").isEmpty(), "a cooled stream's frames are only stored");
    w.close();
    assertEquals(0, w.bytes());
    assertEquals(llm.opened, llm.closed);
  }

  @Test
  void everyStreamFromItsFirstFrameWithWarmAfterZeroAndTheSettingsAreChecked() {
    LiveWindowConfig old = new LiveWindowConfig(true, 2, 8, 1L << 30);
    assertEquals(0, old.warmAfter(), "the four-argument config is the behaviour before issue 22");
    assertEquals(2, LiveWindowConfig.DEFAULTS.warmAfter());
    assertEquals(Duration.ofSeconds(30), LiveWindowConfig.DEFAULTS.hotFor());
    LiveWindows w = new LiveWindows(llm, old, 100, Runnable::run, clock::get);
    w.onFrame("cam", frame("cam", 0), TPF, 3, store("cam"));
    assertEquals(List.of(0L), w.cachedFrames("cam"));
    advance(3600);
    w.onFrame("cam", frame("cam", 1), TPF, 3, store("cam"));
    assertEquals(List.of(0L, 1L), w.cachedFrames("cam"), "never cooled");
    w.close();
    assertThrows(IllegalArgumentException.class, () -> old.withHot(Duration.ZERO, 2));
    assertThrows(IllegalArgumentException.class, () -> old.withHot(Duration.ofSeconds(-1), 2));
    assertThrows(IllegalArgumentException.class, () -> old.withHot(Duration.ofSeconds(1), -1));
  }

  static double cooled() {
    var c = StageMetrics.registry().find("deco.live.window.cooled").counter();
    return c == null ? 0 : c.count();
  }

  static double evictions() {
    var c = StageMetrics.registry().find("deco.live.window.evictions").counter();
    return c == null ? 0 : c.count();
  }

  static double metric(String name) {
    return StageMetrics.registry().find(name).gauge().value();
  }
}
