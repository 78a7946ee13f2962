package io.decostream.worker;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The worker's stream time (issue 22): the newest record timestamp its tasks have processed. Hot
 * streams are timed on it ({@link LiveWindows}' clock), not on the worker's own clock: a worker
 * that lags behind its input (a CPU-starved one was measured tens of seconds behind) still sees a
 * stream's questions a few seconds of stream time apart, where on its own clock it saw none for 30
 * s, cooled eight of twelve streams that were asked about ten times a second, and fell onto the
 * full path rebuilding their windows. Caught up, stream time follows the cameras' clocks.
 *
 * <p>A timestamp more than {@link #MAX_AHEAD_MILLIS} past this machine's clock counts as that far
 * ahead, so one record from a producer with a wrong clock cannot cool every stream at once.
 */
final class StreamClock implements LongSupplier {
  static final long MAX_AHEAD_MILLIS = 60_000;

  private final AtomicLong newestMillis = new AtomicLong(Long.MIN_VALUE);

  /** Takes a processed record's timestamp (ms since the epoch; negative ones are ignored). */
  void observe(long timestampMillis) {
    if (timestampMillis < 0) {
      return;
    }
    long t = Math.min(timestampMillis, System.currentTimeMillis() + MAX_AHEAD_MILLIS);
    newestMillis.accumulateAndGet(t, Math::max);
  }

  /** Stream time in nanoseconds (0 before the first record). */
  @Override
  public long getAsLong() {
    long m = newestMillis.get();
    return m == Long.MIN_VALUE ? 0 : m * 1_000_000L;
  }
}
