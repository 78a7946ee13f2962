package io.decostream.lab.bench;

import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.schemas.DType;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Tensors;
import io.decostream.worker.AnswerBackend;
import io.decostream.worker.BatchedAnswers;
import io.decostream.worker.LlavaAnswerBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Questions per second of the worker's generation path at 1, 8 and 32 concurrent streams (issue 22
 * point 3): every stream keeps one question in flight (closed loop: the next is asked as soon as
 * its answer is back), each over its own live window of W frames, through the worker's live windows
 * and generation scheduler ({@link BatchedAnswers}). Each count runs twice: batched (up to 32
 * generations decoded together) and one at a time (maxBatch 1, the same scheduler), so the ratio is
 * what continuous batching buys on this model and machine.
 */
public final class BatchBench {

  private BatchBench() {}

  static final List<String> QUESTIONS =
      List.of(
          "what color is the circle ?",
          "which shape is moving ?",
          "how many shapes are there ?",
          "where is the square ?");

  /** One measured configuration. */
  public record Row(
      int streams,
      int maxBatch,
      int questions,
      double seconds,
      double questionsPerSecond,
      double meanGeneratedTokens,
      double meanBatch) {}

  /**
   * @param pack a llava_next_video pack (the shipped demo model: {@code models/shapes-demo})
   * @param window frames per stream
   * @param maxNewTokens per answer
   * @param perStream questions each stream asks in the timed part
   */
  public static List<Row> run(
      Path pack,
      int[] streamCounts,
      int window,
      int maxNewTokens,
      int perStream,
      long seed,
      Consumer<String> log) {
    List<Row> rows = new ArrayList<>();
    try (LlavaNextVideo model = LlavaNextVideo.load(pack, LlavaNextVideo.Part.LANGUAGE)) {
      AnswerBackend backend = new LlavaAnswerBackend(model);
      int grid = model.defaultPooledGrid();
      int dv = model.visionHidden();
      log.accept(
          String.format(
              Locale.ROOT,
              "%s: %d x %d tokens per frame, Dv %d, W %d frames, %d new tokens at most",
              pack,
              grid,
              grid,
              dv,
              window,
              maxNewTokens));
      // untimed: the decode kernels and the prefill path compiled before the first figure
      measure(backend, 8, 8, grid, dv, window, maxNewTokens, 3, seed);
      measure(backend, 1, 1, grid, dv, window, maxNewTokens, 8, seed);
      for (int n : streamCounts) {
        for (int maxBatch : new int[] {32, 1}) {
          Row r = measure(backend, n, maxBatch, grid, dv, window, maxNewTokens, perStream, seed);
          log.accept(
              String.format(
                  Locale.ROOT,
                  "%2d streams, maxBatch %2d: %d questions in %.2f s = %.2f questions/s (mean %.1f"
                      + " tokens, mean batch %.1f)",
                  r.streams(),
                  r.maxBatch(),
                  r.questions(),
                  r.seconds(),
                  r.questionsPerSecond(),
                  r.meanGeneratedTokens(),
                  r.meanBatch()));
          rows.add(r);
        }
      }
    }
    return rows;
  }

  private static Row measure(
      AnswerBackend backend,
      int streams,
      int maxBatch,
      int grid,
      int dv,
      int window,
      int maxNewTokens,
      int perStream,
      long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    try (BatchedAnswers b = new BatchedAnswers(backend, maxBatch, window, 64)) {
      for (int s = 0; s < streams; s++) {
        for (int f = 0; f < window; f++) {
          b.addFrame(frame("cam" + s, f, grid, dv, rnd));
        }
      }
      closedLoop(b, streams, 1, maxNewTokens); // warm-up: kernels compiled, first copies made
      long[] before = b.steps();
      long t0 = System.nanoTime();
      long tokens = closedLoop(b, streams, perStream, maxNewTokens);
      double seconds = (System.nanoTime() - t0) / 1e9;
      long[] after = b.steps();
      int total = streams * perStream;
      double meanBatch =
          after[0] == before[0] ? 1 : (double) (after[1] - before[1]) / (after[0] - before[0]);
      return new Row(
          streams, maxBatch, total, seconds, total / seconds, (double) tokens / total, meanBatch);
    }
  }

  /** Every stream asks {@code perStream} questions, one in flight each; returns tokens made. */
  private static long closedLoop(BatchedAnswers b, int streams, int perStream, int maxNewTokens) {
    List<CompletableFuture<AnswerBackend.Generated>> inFlight = new ArrayList<>();
    int[] asked = new int[streams];
    long tokens = 0;
    for (int s = 0; s < streams; s++) {
      inFlight.add(b.ask("cam" + s, QUESTIONS.get(0), maxNewTokens));
      asked[s] = 1;
    }
    int open = streams;
    while (open > 0) {
      boolean any = false;
      for (int s = 0; s < streams; s++) {
        CompletableFuture<AnswerBackend.Generated> f = inFlight.get(s);
        if (f == null || !f.isDone()) {
          continue;
        }
        any = true;
        tokens += f.join().generatedTokens();
        if (asked[s] < perStream) {
          inFlight.set(
              s, b.ask("cam" + s, QUESTIONS.get(asked[s] % QUESTIONS.size()), maxNewTokens));
          asked[s]++;
        } else {
          inFlight.set(s, null);
          open--;
        }
      }
      if (!any) {
        try {
          Thread.sleep(0, 200_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
    }
    return tokens;
  }

  private static FrameTokens frame(
      String stream, long index, int grid, int dv, SplittableRandom r) {
    float[] v = new float[grid * grid * dv];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return FrameTokens.newBuilder()
        .setStreamId(stream)
        .setFrameIndex(index)
        .setTimestampMicros(index * 1_000_000)
        .setModelId("bench")
        .setVisionLayer(-1)
        .setSourceGridHeight(grid * 2)
        .setSourceGridWidth(grid * 2)
        .setGridHeight(grid)
        .setGridWidth(grid)
        .setPooling("avg")
        .setTokens(Tensors.encode(v, new int[] {grid * grid, dv}, DType.F32))
        .build();
  }

  /** The figures as a Markdown table. */
  public static String table(List<Row> rows) {
    StringBuilder b =
        new StringBuilder(
            "| streams | max batch | questions | seconds | questions/s | mean tokens | mean batch"
                + " |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Row r : rows) {
      b.append(
          String.format(
              Locale.ROOT,
              "| %d | %d | %d | %.2f | %.2f | %.1f | %.1f |%n",
              r.streams(),
              r.maxBatch(),
              r.questions(),
              r.seconds(),
              r.questionsPerSecond(),
              r.meanGeneratedTokens(),
              r.meanBatch()));
    }
    return b.toString();
  }
}
