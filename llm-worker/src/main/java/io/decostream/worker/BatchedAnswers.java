package io.decostream.worker;

import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Tensors;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The worker's generation path without Kafka (issue 22 point 3), for benchmarks: the same live
 * windows ({@link LiveWindows}) and generation scheduler ({@link GenerationScheduler}) the worker's
 * processor uses, fed directly. A question pins its stream's window as the processor does and is
 * decoded together with the other questions in flight, up to {@code maxBatch} at once.
 *
 * <p>{@link #addFrame} and {@link #ask} belong to one thread (the role of the stream thread);
 * answers complete on the scheduler's thread.
 */
public final class BatchedAnswers implements AutoCloseable {
  private final AnswerBackend backend;
  private final LiveWindows live;
  private final GenerationScheduler scheduler;
  private final int window;
  private final Map<String, Deque<FrameTokens>> frames = new HashMap<>();

  /**
   * @param maxBatch most generations decoded together (1 = one at a time, through the same
   *     scheduler)
   * @param window frames per stream (W)
   * @param reservedTokens room each window keeps for a question and its answer
   */
  public BatchedAnswers(AnswerBackend backend, int maxBatch, int window, int reservedTokens) {
    if (maxBatch < 1 || window < 1) {
      throw new IllegalArgumentException(
          "maxBatch and window must be >= 1, got " + maxBatch + ", " + window);
    }
    this.backend = backend;
    this.window = window;
    // no slides within a benchmark's window: room for W frames plus W more before a rebuild
    this.live =
        new LiveWindows(
            backend,
            new LiveWindowConfig(true, window, 4096, Long.MAX_VALUE),
            reservedTokens,
            LiveWindows.backgroundExecutor());
    this.scheduler = new GenerationScheduler(backend, maxBatch);
  }

  /** Appends a frame to its stream's window (prefilled now, as the worker's stream thread does). */
  public void addFrame(FrameTokens f) {
    Deque<FrameTokens> d = frames.computeIfAbsent(f.getStreamId(), s -> new ArrayDeque<>());
    d.addLast(f);
    while (d.size() > window) {
      d.removeFirst();
    }
    List<FrameTokens> now = List.copyOf(d);
    live.onFrame(
        f.getStreamId(),
        new LiveWindows.Frame(f),
        tpf(f),
        window,
        () -> now.stream().map(LiveWindows.Frame::new).toList());
  }

  private static int tpf(FrameTokens f) {
    return f.getGridHeight() * f.getGridWidth();
  }

  /**
   * Enqueues a greedy question over the stream's window; the future completes with its answer when
   * the scheduler retires it.
   */
  public CompletableFuture<AnswerBackend.Generated> ask(
      String stream, String question, int maxNewTokens) {
    Deque<FrameTokens> d = frames.get(stream);
    if (d == null || d.isEmpty()) {
      throw new IllegalArgumentException("no frames yet for stream " + stream);
    }
    List<FrameTokens> store = List.copyOf(d);
    int tpf = tpf(store.get(0));
    List<LiveWindows.Frame> pinned =
        live.pin(
            stream, tpf, window, () -> store.stream().map(LiveWindows.Frame::new).toList(), true);
    List<FrameTokens> used = new ArrayList<>();
    if (pinned != null) {
      pinned.forEach(f -> used.add(f.tokens()));
    } else {
      used.addAll(store);
    }
    CompletableFuture<AnswerBackend.Generated> out = new CompletableFuture<>();
    GenerationScheduler.Job job =
        new GenerationScheduler.Job() {
          @Override
          public GenerationScheduler.Admitted admit() {
            List<Long> idx = new ArrayList<>();
            used.forEach(f -> idx.add(f.getFrameIndex()));
            AnswerBackend.Started s =
                pinned == null
                    ? null
                    : live.start(stream, idx, question, maxNewTokens, Sampling.GREEDY);
            if (s != null) {
              return GenerationScheduler.Admitted.stepping(s);
            }
            List<float[]> features = new ArrayList<>();
            used.forEach(f -> features.add(Tensors.decode(f.getTokens())));
            return GenerationScheduler.Admitted.finished(
                backend.generate(features, tpf, question, maxNewTokens, Sampling.GREEDY));
          }

          @Override
          public Object finish(AnswerBackend.Generated result) {
            return result;
          }
        };
    scheduler.submit(
        this,
        job,
        done -> {
          if (done.failure() != null) {
            out.completeExceptionally(done.failure());
          } else {
            out.complete((AnswerBackend.Generated) done.outcome());
          }
        });
    return out;
  }

  /** Decode steps so far and the generations they advanced (their ratio is the mean batch). */
  public long[] steps() {
    return new long[] {scheduler.steps(), scheduler.stepped()};
  }

  @Override
  public void close() {
    scheduler.cancel(this);
    live.close();
  }
}
