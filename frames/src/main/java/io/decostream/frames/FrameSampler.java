package io.decostream.frames;

import java.util.OptionalLong;

/**
 * Picks frames at a fixed rate by presentation time (DeCo samples the video at 1 fps before the
 * vision encoder), stable across chunk boundaries because the only state is the next index, kept
 * per stream in a Kafka Streams store by the topology.
 *
 * <p>Rule: target times are t_k = k / fps for k = 0, 1, 2, ... Frame k is the <b>first decoded
 * frame whose timestamp is &ge; t_k</b> (never the nearest, which would need to look ahead past a
 * chunk boundary). A selected frame gets index {@code floor(ts * fps)} and the next index becomes
 * that plus one, so for continuous video the indices are exactly 0, 1, 2, ...; across a gap in the
 * video the indices jump (so frameIndex / fps always tracks the timestamp) rather than several
 * indices being given to one frame. Such gaps occur when {@code deco publish} reconnects to a lost
 * camera (issue 18 point 5): the chunk start times jump by the time the source was away, and
 * sampling resumes at the first frame after the gap with no burst of frames for the missing time.
 * Timestamps are compared with a {@link #TOLERANCE_MICROS} tolerance, so a frame at 0.999999 s
 * still counts as the 1 s frame after container rounding.
 */
public final class FrameSampler {

  /** Rounding tolerance of timestamps (1 ms, well below any frame interval). */
  public static final long TOLERANCE_MICROS = 1000;

  private final double fps;

  public FrameSampler(double fps) {
    if (!(fps > 0 && fps <= 1000)) {
      throw new IllegalArgumentException("sampling fps must be in (0, 1000], got " + fps);
    }
    this.fps = fps;
  }

  public double fps() {
    return fps;
  }

  /** Target time of index k in microseconds. */
  public long targetMicros(long k) {
    return Math.round(k * 1e6 / fps);
  }

  /**
   * The index a frame at {@code timestampMicros} takes when the next wanted index is {@code next},
   * or empty if the frame is not sampled.
   */
  public OptionalLong select(long next, long timestampMicros) {
    long t = timestampMicros + TOLERANCE_MICROS;
    if (t < 0) {
      return OptionalLong.empty();
    }
    long bucket = (long) Math.floor(t * fps / 1e6);
    return bucket >= next ? OptionalLong.of(bucket) : OptionalLong.empty();
  }

  /** A cursor starting at index {@code next}: offer frames in presentation order. */
  public Cursor cursor(long next) {
    return new Cursor(next);
  }

  /** Sampling position while walking through the frames of a chunk. */
  public final class Cursor {
    private long next;

    private Cursor(long next) {
      if (next < 0) {
        throw new IllegalArgumentException("next index must be >= 0, got " + next);
      }
      this.next = next;
    }

    /** The frame's index if it is sampled (and advances), else empty. */
    public OptionalLong offer(long timestampMicros) {
      OptionalLong k = select(next, timestampMicros);
      if (k.isPresent()) {
        next = k.getAsLong() + 1;
      }
      return k;
    }

    /** The next index wanted. */
    public long next() {
      return next;
    }
  }
}
