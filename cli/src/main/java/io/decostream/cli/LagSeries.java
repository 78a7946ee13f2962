package io.decostream.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * One stage's consumer lag sampled over a load test, and whether it grows (issue 22 point 1: "the
 * largest consumer lag per stage and whether it grows").
 *
 * <p>Growth verdict: the least-squares slope of the lag over the second half of the run (the first
 * half holds the start-up: models warming up, the first batches) times that half's length, i.e. how
 * much lag the trend adds over the half. It is growing when that exceeds {@code tolerance} records:
 * a stage that keeps up oscillates around a constant (a micro-batch or a commit interval of
 * records), one that falls behind by a fraction f of an input of R records/s adds f·R per second.
 * Fewer than 4 samples in the half give no verdict (not growing).
 */
final class LagSeries {
  private final List<double[]> samples = new ArrayList<>();

  /** A sample: seconds since the start, lag in records (negative = unknown, skipped). */
  synchronized void add(double seconds, long lag) {
    if (lag >= 0) {
      samples.add(new double[] {seconds, lag});
    }
  }

  synchronized long max() {
    long m = -1;
    for (double[] s : samples) {
      m = Math.max(m, (long) s[1]);
    }
    return m;
  }

  synchronized long last() {
    return samples.isEmpty() ? -1 : (long) samples.get(samples.size() - 1)[1];
  }

  /** Slope (records/s) over the samples at or after {@code fromSeconds}; 0 with fewer than 4. */
  synchronized double slopeSince(double fromSeconds) {
    double n = 0;
    double sx = 0;
    double sy = 0;
    double sxx = 0;
    double sxy = 0;
    for (double[] s : samples) {
      if (s[0] >= fromSeconds) {
        n++;
        sx += s[0];
        sy += s[1];
        sxx += s[0] * s[0];
        sxy += s[0] * s[1];
      }
    }
    double den = n * sxx - sx * sx;
    if (n < 4 || den <= 0) {
      return 0;
    }
    return (n * sxy - sx * sy) / den;
  }

  /**
   * Whether the lag grows over the second half of [0, runSeconds]: the trend adds more than {@code
   * tolerance} records over that half (see the class comment).
   */
  synchronized boolean growing(double runSeconds, double tolerance) {
    double half = runSeconds / 2;
    return slopeSince(half) * half > tolerance;
  }
}
