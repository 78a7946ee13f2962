package io.decostream.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The load test's book-keeping (issue 22 point 1), free of Kafka so it is unit-tested alone.
 *
 * <ul>
 *   <li>Frames: every frame the sampler must produce for every camera is {@link #expect expected}
 *       when its chunk is published, with its camera time (when the camera "captured" it); every
 *       FrameTokens record read back is {@link #seen}. A frame expected and never seen is lost, one
 *       seen twice is a duplicate, one seen but never expected is unexpected (a sampler that
 *       numbers frames differently). Latency = arrival of the tokens minus camera time.
 *   <li>Questions: {@link #asked} / {@link #answered}, latency = answer arrival minus asking.
 * </ul>
 *
 * <p>Thread-safe (the publisher, the question driver and the reader call it from their threads).
 */
final class LoadLedger {

  /** A frame's identity: stream and frame index. */
  private record Key(String stream, long index) {}

  private static final class Entry {
    final long cameraMillis;
    int seen;
    long arrivalMillis = -1;

    Entry(long cameraMillis) {
      this.cameraMillis = cameraMillis;
    }
  }

  private final Map<Key, Entry> frames = new HashMap<>();
  private final Map<String, Long> questions = new HashMap<>();
  private final Map<String, Long> answers = new HashMap<>();
  private long unexpected;
  private long duplicateAnswers;
  private long answerErrors;
  private long liveWindowAnswers;

  /** A frame the pipeline must deliver: {@code stream}'s frame {@code index}, captured then. */
  synchronized void expect(String stream, long index, long cameraMillis) {
    frames.putIfAbsent(
        new Key(Objects.requireNonNull(stream, "stream"), index), new Entry(cameraMillis));
  }

  /** Frame tokens of {@code stream}'s frame {@code index} read back at {@code arrivalMillis}. */
  synchronized void seen(String stream, long index, long arrivalMillis) {
    Entry e = frames.get(new Key(stream, index));
    if (e == null) {
      unexpected++;
      return;
    }
    if (e.seen++ == 0) {
      e.arrivalMillis = arrivalMillis;
    }
  }

  synchronized void asked(String questionId, long askedMillis) {
    questions.put(questionId, askedMillis);
  }

  /**
   * An answer read back; {@code error} when the worker answered with an error, {@code liveWindow}
   * when it came from the stream's prefilled live window (only the question's text prefilled)
   * rather than a re-prefill of the whole window, the cost that grows when a worker falls behind.
   */
  synchronized void answered(
      String questionId, long arrivalMillis, boolean error, boolean liveWindow) {
    if (!questions.containsKey(questionId)) {
      return; // another asker's question (a shared cluster)
    }
    if (answers.putIfAbsent(questionId, arrivalMillis) != null) {
      duplicateAnswers++;
    } else if (error) {
      answerErrors++;
    } else if (liveWindow) {
      liveWindowAnswers++;
    }
  }

  /** Figures of the frames whose camera time lies in [fromMillis, toMillis). */
  synchronized FrameFigures frames(long fromMillis, long toMillis) {
    long expected = 0;
    long delivered = 0;
    long lost = 0;
    long dups = 0;
    long arrivedInWindow = 0;
    List<Long> latencies = new ArrayList<>();
    List<Long> arrivedLatencies = new ArrayList<>();
    for (Entry e : frames.values()) {
      if (e.arrivalMillis >= fromMillis && e.arrivalMillis < toMillis) {
        arrivedInWindow++;
        arrivedLatencies.add(e.arrivalMillis - e.cameraMillis);
      }
      if (e.cameraMillis < fromMillis || e.cameraMillis >= toMillis) {
        continue;
      }
      expected++;
      if (e.seen == 0) {
        lost++;
      } else {
        delivered++;
        dups += e.seen - 1;
        latencies.add(e.arrivalMillis - e.cameraMillis);
      }
    }
    return new FrameFigures(
        expected,
        delivered,
        arrivedInWindow,
        lost,
        dups,
        Percentiles.of(latencies),
        Percentiles.of(arrivedLatencies));
  }

  /** Every frame expected so far, over the whole run. */
  synchronized FrameFigures allFrames() {
    return frames(Long.MIN_VALUE, Long.MAX_VALUE);
  }

  synchronized long unexpectedFrames() {
    return unexpected;
  }

  /** Whether every expected frame has been seen (the drain is over). */
  synchronized boolean allFramesSeen() {
    return frames.values().stream().allMatch(e -> e.seen > 0);
  }

  synchronized boolean allAnswered() {
    return answers.keySet().containsAll(questions.keySet());
  }

  /**
   * Answers (of questions asked here) that arrived in [fromMillis, toMillis), errors included: the
   * workers' achieved rate over a window, which keeps counting when their queue grows (latency
   * alone shows only that they fell behind).
   */
  synchronized long answeredBetween(long fromMillis, long toMillis) {
    return answers.values().stream().filter(at -> at >= fromMillis && at < toMillis).count();
  }

  /** Questions asked in [fromMillis, toMillis). */
  synchronized long askedBetween(long fromMillis, long toMillis) {
    return questions.values().stream().filter(at -> at >= fromMillis && at < toMillis).count();
  }

  synchronized AnswerFigures answers() {
    List<Long> latencies = new ArrayList<>();
    answers.forEach((id, at) -> latencies.add(at - questions.get(id)));
    return new AnswerFigures(
        questions.size(),
        answers.size(),
        answerErrors,
        liveWindowAnswers,
        duplicateAnswers,
        Percentiles.of(latencies));
  }

  /**
   * @param expected frames whose camera time is in the window
   * @param delivered of those, the frames read back at least once
   * @param arrivedInWindow frames (any camera time) whose tokens arrived within the window
   * @param lost expected, never read back
   * @param duplicates extra copies read back
   * @param latencyMs camera time to tokens read back, of the frames captured in the window
   * @param arrivedLatencyMs the same of the frames whose tokens arrived in the window (the progress
   *     line: a stage that falls behind shows at once, not only when its frames finally arrive)
   */
  record FrameFigures(
      long expected,
      long delivered,
      long arrivedInWindow,
      long lost,
      long duplicates,
      Percentiles latencyMs,
      Percentiles arrivedLatencyMs) {}

  /**
   * @param liveWindow of the answers without an error, those from a prefilled live window
   */
  record AnswerFigures(
      long asked,
      long answered,
      long errors,
      long liveWindow,
      long duplicates,
      Percentiles latencyMs) {}

  /** Nearest-rank percentiles of a sample (NaN when empty). */
  record Percentiles(long count, double p50, double p95, double p99, double max) {
    static Percentiles of(List<Long> values) {
      if (values.isEmpty()) {
        return new Percentiles(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
      }
      long[] v = values.stream().mapToLong(Long::longValue).toArray();
      Arrays.sort(v);
      return new Percentiles(v.length, rank(v, 50), rank(v, 95), rank(v, 99), v[v.length - 1]);
    }

    /** Nearest rank: the smallest value with at least p% of the sample at or below it. */
    static double rank(long[] sorted, double p) {
      int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
      return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
  }
}
