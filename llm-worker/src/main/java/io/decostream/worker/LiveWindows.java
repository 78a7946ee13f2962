package io.decostream.worker;

import io.decostream.metrics.StageMetrics;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Tensors;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each stream's window kept prefilled (issue 20 point 1, docs/design.md "Live window"): one per
 * worker topology, shared by its tasks (a stream belongs to one task), so the memory bounds hold
 * for the whole process. Its methods are synchronized (the model calls serialise on the model
 * anyway); rebuilds run on the background executor and are swapped in by the stream threads.
 *
 * <p>A stream's cached window holds up to C = min(W + slideFrames, frames the context fits) frames.
 * A new frame is appended to it (one frame's prefill) while there is room. When it is full, a
 * second window over the newest {@code keep = max(1, min(W, C - slideFrames))} frames is built on
 * the background executor while the full one keeps answering (over the frames it holds, which its
 * answers name); frames that arrive meanwhile wait in the entry and are appended when the new
 * window is swapped in, on the next frame or question. So RoPE positions are rebuilt once every
 * {@code slideFrames} frames, never on a question's path.
 *
 * <p>Memory: each entry is charged two caches (the active one and the one its slide rebuilds) plus
 * the encoded tokens of the C frames it keeps for that rebuild. Entries are evicted least recently
 * used beyond {@link LiveWindowConfig#maxStreams} or {@link LiveWindowConfig#maxBytes}; a stream
 * whose single entry exceeds the bytes bound is not cached. An evicted stream's next question
 * rebuilds it from the window store (the cost the full path pays on every question). The total is
 * the gauge {@code deco_live_window_bytes}, evictions {@code deco_live_window_evictions_total}.
 *
 * <p>Hot streams only (issue 22, {@link LiveWindowConfig#warmAfter} > 0): prefilling every stream's
 * frames as they arrive costs CPU for windows nobody asks about (a 20-camera load test answered no
 * question that way). A cold stream has no entry: its frames are only in the window store and its
 * questions take the full path. The {@code warmAfter}-th question within {@link
 * LiveWindowConfig#hotFor} makes it hot: its window is built from the store on the background
 * executor (the question itself takes the full path, as do those asked before the build is swapped
 * in), then kept like any other. Captions never warm a stream. A hot stream asked nothing for
 * {@code hotFor} is cooled (its window freed, {@code deco_live_window_cooled_total}) before the LRU
 * bounds evict anything.
 */
final class LiveWindows implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LiveWindows.class);

  /** Bytes of every task's cached windows in this process (the gauge). */
  private static final AtomicLong TOTAL_BYTES = new AtomicLong();

  private static final AtomicLong TOTAL_STREAMS = new AtomicLong();

  static {
    Gauge.builder("deco.live.window.bytes", TOTAL_BYTES, AtomicLong::get)
        .description("Bytes held by the LLM worker's live windows (KV caches and kept features)")
        .tag("stage", WorkerTopology.STAGE)
        .register(StageMetrics.registry());
    Gauge.builder("deco.live.window.streams", TOTAL_STREAMS, AtomicLong::get)
        .description("Streams whose window the LLM worker keeps prefilled")
        .tag("stage", WorkerTopology.STAGE)
        .register(StageMetrics.registry());
  }

  /**
   * A frame as the window store holds it (at the stream's latest grid); its features are decoded
   * when prefilled, so an entry keeps only the encoded (usually F16) tokens for its rebuilds.
   */
  record Frame(FrameTokens tokens) {
    long index() {
      return tokens.getFrameIndex();
    }

    /** Pooled features, [tokensPerFrame * Dv]. */
    float[] features() {
      return Tensors.decode(tokens.getTokens());
    }

    long encodedBytes() {
      return tokens.getTokens().getData().remaining();
    }
  }

  /** An answer from a live window and the frames it used (oldest first), which the Answer names. */
  record Answered(AnswerBackend.Generated result, List<Frame> frames) {}

  private record Built(AnswerBackend.Live live, List<Frame> frames) {}

  /** A stream's questions within hotFor (the latest warmAfter at most, oldest first). */
  private static final class Heat {
    final ArrayDeque<Long> asked = new ArrayDeque<>();
    boolean hot;
  }

  private final class Entry {
    final String stream;
    final int tokensPerFrame;
    final int capacity;
    final int keep;
    final ArrayDeque<Frame> known = new ArrayDeque<>();
    AnswerBackend.Live active;
    final List<Frame> activeFrames = new ArrayList<>();
    CompletableFuture<Built> pending;
    long bytes;

    Entry(String stream, int tokensPerFrame, int capacity, int keep) {
      this.stream = stream;
      this.tokensPerFrame = tokensPerFrame;
      this.capacity = capacity;
      this.keep = keep;
    }

    long lastKnown() {
      return known.isEmpty() ? Long.MIN_VALUE : known.peekLast().index();
    }

    long lastActive() {
      return activeFrames.isEmpty()
          ? Long.MIN_VALUE
          : activeFrames.get(activeFrames.size() - 1).index();
    }
  }

  private final AnswerBackend backend;
  private final LiveWindowConfig config;
  private final int reservedTokens;
  private final Executor rebuilds;
  private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
  private final Set<String> oversized = ConcurrentHashMap.newKeySet();
  private final Counter evictions;
  private final Counter cooled;
  private final LongSupplier nanos;

  /** Streams asked about within hotFor (issue 22): their latest question times, whether hot. */
  private final Map<String, Heat> heat = new HashMap<>();

  private long bytes;
  private int rebuildsStarted;
  private boolean unsupported;

  /**
   * @param reservedTokens room each cache keeps beyond its frames for a prompt's text and answer
   * @param rebuilds where slides are rebuilt (a background thread; a direct executor makes them
   *     synchronous, as some tests want)
   */
  LiveWindows(
      AnswerBackend backend, LiveWindowConfig config, int reservedTokens, Executor rebuilds) {
    this(backend, config, reservedTokens, rebuilds, System::nanoTime);
  }

  /**
   * As the four-argument constructor, with the clock that hot streams are timed on ({@link
   * System#nanoTime} there; tests advance their own).
   */
  LiveWindows(
      AnswerBackend backend,
      LiveWindowConfig config,
      int reservedTokens,
      Executor rebuilds,
      LongSupplier nanos) {
    this.backend = backend;
    this.config = config;
    this.reservedTokens = reservedTokens;
    this.rebuilds = rebuilds;
    this.nanos = nanos;
    this.evictions =
        Counter.builder("deco.live.window.evictions")
            .description("Live windows evicted to keep the LLM worker's memory bound")
            .tag("stage", WorkerTopology.STAGE)
            .register(StageMetrics.registry());
    this.cooled =
        Counter.builder("deco.live.window.cooled")
            .description("Hot streams' live windows freed because no question came for hotFor")
            .tag("stage", WorkerTopology.STAGE)
            .register(StageMetrics.registry());
  }

  /** Bytes this task's windows hold now. */
  synchronized long bytes() {
    return bytes;
  }

  /** Streams cached now. */
  synchronized int streams() {
    return entries.size();
  }

  /** Background rebuilds started so far (slides). */
  synchronized int rebuildsStarted() {
    return rebuildsStarted;
  }

  /** Frame indices the stream's active window holds (oldest first); empty when not cached. */
  synchronized List<Long> cachedFrames(String stream) {
    Entry e = entries.get(stream);
    List<Long> out = new ArrayList<>();
    if (e != null) {
      e.activeFrames.forEach(f -> out.add(f.index()));
    }
    return out;
  }

  /** Whether a rebuild of the stream's window is in flight. */
  synchronized boolean rebuilding(String stream) {
    Entry e = entries.get(stream);
    return e != null && e.pending != null && !e.pending.isDone();
  }

  /**
   * A frame arrived (already in the window store). Appends it to the stream's cached window, or
   * starts the slide's rebuild when that is full.
   *
   * @param window W, the frames the store keeps for the stream
   * @param store the stream's window from the store (oldest first, at the latest grid), read only
   *     when the stream has no usable entry
   */
  synchronized void onFrame(
      String stream, Frame frame, int tokensPerFrame, int window, Supplier<List<Frame>> store) {
    cool();
    Entry e = entries.get(stream);
    if (e != null
        && (e.tokensPerFrame != tokensPerFrame
            || e.capacity != capacity(tokensPerFrame, window)
            || frame.index() <= e.lastKnown())) {
      // another grid, another window size, or a frame out of order: start again from the store
      discard(e, "its frames changed");
      e = null;
    }
    if (e == null) {
      if (!config.hotOnly()) {
        entry(stream, tokensPerFrame, window, store);
      }
      // hot streams only: a cold stream's frame is only stored; a hot one without a window (its
      // frames changed, it was evicted) gets it built on its next question
      return;
    }
    e.known.addLast(frame);
    while (e.known.size() > e.capacity) {
      e.known.removeFirst();
    }
    if (poll(e) && e.active != null) {
      catchUp(e);
    }
  }

  /**
   * Whether the stream's frames are prefilled as they arrive (so {@link #onFrame} may run the
   * model): every stream's, or with hot streams only a hot stream's that has a window.
   */
  synchronized boolean prefills(String stream) {
    return !config.hotOnly() || entries.containsKey(stream);
  }

  /**
   * Answers over the stream's cached window, or null when the caller must take the full path (live
   * windows off or unsupported, the window over the memory bound, or a prompt that does not fit). A
   * stream without an entry (new, evicted, or restarted) gets one built from {@code store} first.
   */
  synchronized Answered answer(
      String stream,
      int tokensPerFrame,
      int window,
      Supplier<List<Frame>> store,
      String prompt,
      int maxNewTokens,
      Sampling sampling) {
    Entry e = upToDate(stream, tokensPerFrame, window, store, true);
    if (e == null) {
      return null;
    }
    if (e.active == null || !e.active.canAnswer(prompt, maxNewTokens)) {
      return null;
    }
    AnswerBackend.Generated g = e.active.answer(prompt, maxNewTokens, sampling);
    return new Answered(g, List.copyOf(e.activeFrames));
  }

  /**
   * The frames a question asked now is answered over (issue 22 point 3): the stream's cached window
   * brought up to date as {@link #answer} does (rebuild swapped in, known frames appended), or null
   * when the full path must answer. The stream thread pins them when it enqueues the question;
   * {@link #start} later generates over exactly these frames, so the answer is the one an answer at
   * enqueue time would give. A question that waited so long that the window slid past them is
   * answered over the window's newest frames instead ({@link #startNewest}).
   *
   * @param question true for a question (it counts towards making the stream hot), false for a
   *     caption (captions come for every stream, so they never warm one)
   */
  synchronized List<Frame> pin(
      String stream,
      int tokensPerFrame,
      int window,
      Supplier<List<Frame>> store,
      boolean question) {
    Entry e = upToDate(stream, tokensPerFrame, window, store, question);
    if (e == null) {
      return null;
    }
    return e.active == null || e.activeFrames.isEmpty() ? null : List.copyOf(e.activeFrames);
  }

  /**
   * Starts a generation over {@code frames} (as {@link #pin} gave them) on a copy of the stream's
   * cached window, or null when the window no longer starts with them (it slid, was evicted or
   * dropped) or cannot answer the prompt: the caller then takes the full path over the same frames,
   * which gives the same tokens.
   */
  synchronized AnswerBackend.Started start(
      String stream, List<Long> frames, String prompt, int maxNewTokens, Sampling sampling) {
    Entry e = entries.get(stream);
    if (e == null || e.active == null || frames.isEmpty()) {
      return null;
    }
    List<Frame> active = e.activeFrames;
    int n = frames.size();
    if (active.size() < n || e.active.frames() < n) {
      return null;
    }
    for (int i = 0; i < n; i++) {
      if (active.get(i).index() != frames.get(i)) {
        return null;
      }
    }
    if (!e.active.canAnswer(prompt, maxNewTokens)) {
      return null;
    }
    return e.active.start(prompt, maxNewTokens, sampling, n);
  }

  /** A question's generation over the window as it is now, and the frames it answers over. */
  record Repinned(AnswerBackend.Started started, List<Frame> frames) {}

  /**
   * Starts a question's generation over the stream's cached window as it is now, for a question
   * whose pinned frames the window no longer holds (it slid while the question waited in a worker
   * that fell behind) or that was asked before the stream had a window (a cold stream, made hot
   * while the question waited). Answering over the newest frames (named in the answer) keeps such a
   * question on the live path; re-prefilling its old frames instead costs a whole window's prefill
   * per question, and one worker that fell behind never caught up again (docs/scaling.md,
   * Scale-out). Null when the window cannot answer (none, another grid, or the prompt does not
   * fit).
   */
  synchronized Repinned startNewest(
      String stream, int tokensPerFrame, String prompt, int maxNewTokens, Sampling sampling) {
    Entry e = entries.get(stream);
    if (e == null || e.active == null || e.tokensPerFrame != tokensPerFrame) {
      return null;
    }
    int n = Math.min(e.activeFrames.size(), e.active.frames());
    if (n < 1 || !e.active.canAnswer(prompt, maxNewTokens)) {
      return null;
    }
    AnswerBackend.Started s = e.active.start(prompt, maxNewTokens, sampling, n);
    return s == null ? null : new Repinned(s, List.copyOf(e.activeFrames.subList(0, n)));
  }

  /**
   * The stream's entry as a question sees it: a finished rebuild swapped in and the known frames
   * appended; created from {@code store} when the stream has none (new, evicted, restarted) or its
   * grid or window size changed; null when it cannot be cached. With hot streams only, a question
   * is counted first; a hot stream without a window gets it built in the background, and null is
   * returned until that build is swapped in (the full path answers meanwhile).
   */
  private Entry upToDate(
      String stream,
      int tokensPerFrame,
      int window,
      Supplier<List<Frame>> store,
      boolean question) {
    cool();
    boolean hot = question && config.hotOnly() && asked(stream);
    Entry e = entries.get(stream);
    if (e != null
        && (e.tokensPerFrame != tokensPerFrame || e.capacity != capacity(tokensPerFrame, window))) {
      discard(e, "its grid or window size changed");
      e = null;
    }
    if (e == null) {
      if (!config.hotOnly()) {
        return entry(stream, tokensPerFrame, window, store);
      }
      if (hot) {
        warm(stream, tokensPerFrame, window, store);
      }
      return null; // this question takes the full path; later ones use the window once built
    }
    if (!poll(e) || e.active == null) {
      return null; // dropped, or still being built
    }
    catchUp(e);
    return e;
  }

  /**
   * Counts a question on {@code stream} (issue 22); whether the stream is hot now: it is asked the
   * {@code warmAfter}-th time within hotFor, or was hot already.
   */
  private boolean asked(String stream) {
    Heat h = heat.computeIfAbsent(stream, s -> new Heat());
    h.asked.addLast(nanos.getAsLong());
    while (h.asked.size() > config.warmAfter()) {
      h.asked.removeFirst();
    }
    if (!h.hot && h.asked.size() >= config.warmAfter()) {
      h.hot = true;
      LOG.info(
          "stream {} is hot: {} question(s) within {}; its live window is kept",
          WorkerDeadLetters.oneLine(stream, 200),
          h.asked.size(),
          config.hotFor());
    }
    return h.hot;
  }

  /**
   * Forgets questions older than hotFor and cools the hot streams left with none (issue 22): their
   * windows are freed before a new one would make the LRU bounds evict a stream still asked about.
   */
  private void cool() {
    if (heat.isEmpty()) {
      return;
    }
    long now = nanos.getAsLong();
    long hotFor = config.hotFor().toNanos();
    Iterator<Map.Entry<String, Heat>> it = heat.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, Heat> me = it.next();
      Heat h = me.getValue();
      while (!h.asked.isEmpty() && now - h.asked.peekFirst() >= hotFor) {
        h.asked.removeFirst();
      }
      if (!h.asked.isEmpty()) {
        continue;
      }
      it.remove();
      if (h.hot) {
        Entry e = entries.remove(me.getKey());
        if (e != null) {
          release(e);
        }
        cooled.increment();
        LOG.info(
            "stream {} cooled: no question for {}; its live window is freed ({} stream(s), {}"
                + " bytes cached)",
            WorkerDeadLetters.oneLine(me.getKey(), 200),
            config.hotFor(),
            entries.size(),
            bytes);
      }
    }
  }

  /**
   * Starts building a hot stream's window from the store's newest frames on the background executor
   * (issue 22): the stream thread only reads the store. Frames that arrive meanwhile wait in the
   * entry and are appended when the build is swapped in; its memory is charged then.
   */
  private void warm(String stream, int tokensPerFrame, int window, Supplier<List<Frame>> store) {
    int capacity = capacity(tokensPerFrame, window);
    if (unsupported || capacity < 1 || oversized.contains(tokensPerFrame + "x" + capacity)) {
      return;
    }
    List<Frame> frames = store.get();
    if (frames.isEmpty()) {
      return;
    }
    List<Frame> newest =
        List.copyOf(frames.subList(Math.max(0, frames.size() - capacity), frames.size()));
    Entry e = new Entry(stream, tokensPerFrame, capacity, keep(window, capacity));
    e.known.addAll(newest);
    entries.put(stream, e);
    TOTAL_STREAMS.incrementAndGet();
    LOG.info(
        "live window of stream {}: building over frames {}..{} in the background",
        WorkerDeadLetters.oneLine(stream, 200),
        newest.get(0).index(),
        newest.get(newest.size() - 1).index());
    e.pending = build(tokensPerFrame, capacity, newest);
    // a synchronous executor has finished by now: swap at once
    if (poll(e) && e.active != null) {
      catchUp(e);
    }
    if (entries.get(stream) == e) {
      enforceBounds(stream);
    }
  }

  private int keep(int window, int capacity) {
    return Math.max(1, Math.min(window, capacity - config.slideFrames()));
  }

  /** C: W + slideFrames, or fewer where the context does not fit them. */
  int capacity(int tokensPerFrame, int window) {
    int fit = backend.maxFrames(tokensPerFrame, reservedTokens);
    return Math.max(0, Math.min(window + config.slideFrames(), fit));
  }

  /** Creates the stream's entry from the store's window; null when it cannot be cached. */
  private Entry entry(String stream, int tokensPerFrame, int window, Supplier<List<Frame>> store) {
    int capacity = capacity(tokensPerFrame, window);
    String shape = tokensPerFrame + "x" + capacity;
    if (unsupported || capacity < 1 || oversized.contains(shape)) {
      return null;
    }
    int keep = keep(window, capacity);
    AnswerBackend.Live live;
    try {
      live = backend.openLive(tokensPerFrame, capacity, reservedTokens);
    } catch (RuntimeException ex) {
      LOG.warn(
          "no live window for stream {}: {}",
          WorkerDeadLetters.oneLine(stream, 200),
          ex.toString());
      return null;
    }
    if (live == null) {
      unsupported = true; // a backend without live windows: the full path, every time
      return null;
    }
    // as many of the store's frames as the window holds: a restarted or evicted stream answers
    // over its whole stored window again at once
    List<Frame> frames = store.get();
    List<Frame> newest = frames.subList(Math.max(0, frames.size() - capacity), frames.size());
    Entry e = new Entry(stream, tokensPerFrame, capacity, keep);
    e.active = live;
    if (!fits(e, live, newest)) {
      live.close();
      return null;
    }
    try {
      for (Frame f : newest) {
        live.append(f.features());
        e.activeFrames.add(f);
        e.known.addLast(f);
      }
    } catch (RuntimeException ex) {
      live.close();
      LOG.warn(
          "live window of stream {} failed: {}",
          WorkerDeadLetters.oneLine(stream, 200),
          ex.toString());
      return null;
    }
    entries.put(stream, e);
    TOTAL_STREAMS.incrementAndGet();
    charge(e);
    return e;
  }

  /**
   * Sets the entry's bytes (two caches plus its kept frames); false, the shape remembered as
   * oversized, when that is over the bound.
   */
  private boolean fits(Entry e, AnswerBackend.Live live, List<Frame> frames) {
    long featureBytes = frames.isEmpty() ? 0 : (long) e.capacity * frames.get(0).encodedBytes();
    e.bytes = 2 * live.bytes() + featureBytes;
    if (e.bytes <= config.maxBytes()) {
      return true;
    }
    oversized.add(e.tokensPerFrame + "x" + e.capacity);
    LOG.warn(
        "live window of stream {} ({} frames x {} tokens) would hold {} bytes, over the bound of"
            + " {} (LiveWindowConfig.maxBytes): windows of this size are answered by full"
            + " re-prefill",
        WorkerDeadLetters.oneLine(e.stream, 200),
        e.capacity,
        e.tokensPerFrame,
        e.bytes,
        config.maxBytes());
    return false;
  }

  /** Adds a cached entry's bytes to the totals and evicts others beyond the bounds. */
  private void charge(Entry e) {
    bytes += e.bytes;
    TOTAL_BYTES.addAndGet(e.bytes);
    LOG.info(
        "live window of stream {}: {} frame(s) prefilled, up to {} x {} tokens, {} bytes; {} stream(s),"
            + " {} bytes cached (bounds {} streams, {} bytes)",
        WorkerDeadLetters.oneLine(e.stream, 200),
        e.activeFrames.size(),
        e.capacity,
        e.tokensPerFrame,
        e.bytes,
        entries.size(),
        bytes,
        config.maxStreams(),
        config.maxBytes());
    enforceBounds(e.stream);
  }

  /**
   * Swaps in a finished rebuild, or a hot stream's first build (charged then); false when that
   * build failed or is over the bound, and the entry was dropped.
   */
  private boolean poll(Entry e) {
    if (e.pending == null || !e.pending.isDone()) {
      return true;
    }
    CompletableFuture<Built> done = e.pending;
    e.pending = null;
    Built b;
    try {
      b = done.join();
    } catch (RuntimeException ex) {
      // the full window keeps answering; the next frame tries the slide again (a first build: the
      // next question tries again)
      LOG.warn(
          "rebuilding the live window of stream {} failed: {}",
          WorkerDeadLetters.oneLine(e.stream, 200),
          ex.toString());
      if (e.active == null) {
        discard(e, "its build failed");
        return false;
      }
      return true;
    }
    if (e.active == null) {
      return firstBuild(e, b);
    }
    e.active.close();
    e.active = b.live();
    e.activeFrames.clear();
    e.activeFrames.addAll(b.frames());
    LOG.debug(
        "live window of stream {} slid to frames {}..{}",
        e.stream,
        b.frames().get(0).index(),
        b.frames().get(b.frames().size() - 1).index());
    return true;
  }

  /** A hot stream's first window is built: whether it is kept (supported and within the bound). */
  private boolean firstBuild(Entry e, Built b) {
    if (b.live() == null) {
      unsupported = true; // a backend without live windows: the full path, every time
      discard(e, "the backend has no live windows");
      return false;
    }
    if (!fits(e, b.live(), b.frames())) {
      b.live().close();
      e.bytes = 0;
      discard(e, "it is over the memory bound");
      return false;
    }
    e.active = b.live();
    e.activeFrames.addAll(b.frames());
    charge(e);
    return true;
  }

  /**
   * Appends the known frames newer than the active window's while it has room; when it is full,
   * starts the slide's rebuild (unless one is in flight).
   */
  private void catchUp(Entry e) {
    if (e.pending != null) {
      return;
    }
    long last = e.lastActive();
    for (Frame f : e.known) {
      if (f.index() <= last) {
        continue;
      }
      if (e.active.frames() < e.active.maxFrames()) {
        e.active.append(f.features());
        e.activeFrames.add(f);
      } else {
        startRebuild(e);
        return;
      }
    }
  }

  private void startRebuild(Entry e) {
    List<Frame> newest = new ArrayList<>(e.known);
    List<Frame> src =
        List.copyOf(newest.subList(Math.max(0, newest.size() - e.keep), newest.size()));
    int tpf = e.tokensPerFrame;
    int capacity = e.capacity;
    rebuildsStarted++;
    LOG.debug(
        "live window of stream {} is full; rebuilding over frames {}..{} in the background",
        e.stream,
        src.get(0).index(),
        src.get(src.size() - 1).index());
    CompletableFuture<Built> f = build(tpf, capacity, src);
    e.pending = f;
    // a synchronous executor has finished by now: swap at once
    poll(e);
    if (e.pending == null && f.isDone() && !f.isCompletedExceptionally()) {
      catchUp(e);
    }
  }

  /** A window over {@code src}, opened and prefilled on the background executor. */
  private CompletableFuture<Built> build(int tpf, int capacity, List<Frame> src) {
    CompletableFuture<Built> f = new CompletableFuture<>();
    rebuilds.execute(
        () -> {
          AnswerBackend.Live live = null;
          try {
            live = backend.openLive(tpf, capacity, reservedTokens);
            if (live != null) {
              for (Frame fr : src) {
                live.append(fr.features());
              }
            }
            f.complete(new Built(live, src));
          } catch (RuntimeException | Error ex) {
            if (live != null) {
              live.close();
            }
            f.completeExceptionally(ex);
          }
        });
    return f;
  }

  /** Evicts least recently used entries (never {@code keep}) beyond the bounds. */
  private void enforceBounds(String keepStream) {
    Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
    while ((entries.size() > config.maxStreams() || bytes > config.maxBytes()) && it.hasNext()) {
      Entry e = it.next().getValue();
      if (e.stream.equals(keepStream)) {
        continue;
      }
      it.remove();
      release(e);
      evictions.increment();
      LOG.info(
          "live window of stream {} evicted (least recently used): {} stream(s), {} bytes cached"
              + " (bounds {} streams, {} bytes)",
          WorkerDeadLetters.oneLine(e.stream, 200),
          entries.size(),
          bytes,
          config.maxStreams(),
          config.maxBytes());
    }
  }

  private void discard(Entry e, String why) {
    entries.remove(e.stream);
    release(e);
    LOG.debug("live window of stream {} dropped: {}", e.stream, why);
  }

  /** Frees an entry that is no longer in the map, including a rebuild still in flight. */
  private void release(Entry e) {
    bytes -= e.bytes;
    TOTAL_BYTES.addAndGet(-e.bytes);
    TOTAL_STREAMS.decrementAndGet();
    if (e.active != null) {
      e.active.close();
      e.active = null;
    }
    if (e.pending != null) {
      e.pending.whenComplete(
          (b, ex) -> {
            if (b != null && b.live() != null) {
              b.live().close();
            }
          });
      e.pending = null;
    }
  }

  /**
   * Frees the windows of {@code streams} (a task closing: its streams may be processed elsewhere
   * next, so their windows would go stale).
   */
  synchronized void drop(Iterable<String> streams) {
    for (String stream : streams) {
      heat.remove(stream);
      Entry e = entries.remove(stream);
      if (e != null) {
        release(e);
      }
    }
  }

  /**
   * A background executor for rebuilds: one daemon thread, started on demand and ended when idle
   * (so a topology needs no close hook).
   */
  static Executor backgroundExecutor() {
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            1,
            1,
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "deco-live-window-rebuild");
              t.setDaemon(true);
              return t;
            });
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /** Frees every window (the topology is closing). */
  @Override
  public synchronized void close() {
    for (Entry e : new ArrayList<>(entries.values())) {
      release(e);
    }
    entries.clear();
    heat.clear();
  }
}
