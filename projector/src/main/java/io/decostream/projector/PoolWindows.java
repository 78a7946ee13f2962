package io.decostream.projector;

import java.util.Arrays;

/**
 * The 1-D windows of PyTorch's adaptive pooling along one axis (models.md §3.5, [PT-AP]
 * AdaptivePooling.h): output index {@code j} covers input {@code [start[j], end[j])} with {@code
 * start = floor(j*in/out)} and {@code end = ceil((j+1)*in/out)}. A 2-D adaptive pooling window is
 * the product of a row window and a column window. Windows overlap when {@code out} does not divide
 * {@code in} (24→20, 27→12), so a patch may feed several output tokens — which is what the
 * Query-to-Patch matrix of §7.6 records.
 *
 * @param in input length (> 0)
 * @param out output length (> 0; may exceed {@code in}, as torch allows, repeating inputs)
 * @param start inclusive window starts, length {@code out}
 * @param end exclusive window ends, length {@code out}
 */
public record PoolWindows(int in, int out, int[] start, int[] end) {

  public PoolWindows {
    if (in <= 0 || out <= 0) {
      throw new IllegalArgumentException(
          "pool sizes must be positive, got in=" + in + ", out=" + out);
    }
    if (start == null || end == null || start.length != out || end.length != out) {
      throw new IllegalArgumentException("start/end must both have length out=" + out);
    }
    start = start.clone();
    end = end.clone();
    for (int j = 0; j < out; j++) {
      if (start[j] < 0 || end[j] > in || start[j] >= end[j]) {
        throw new IllegalArgumentException(
            "window "
                + j
                + " ["
                + start[j]
                + ","
                + end[j]
                + ") is empty or outside [0,"
                + in
                + ")");
      }
    }
  }

  /**
   * PyTorch's adaptive windows, computed in integer arithmetic (exact for all sizes, no float
   * rounding): {@code start = (j*in)/out}, {@code end = ((j+1)*in + out - 1)/out}. Products are
   * taken in {@code long} so huge sizes cannot overflow.
   */
  public static PoolWindows of(int in, int out) {
    if (in <= 0 || out <= 0) {
      throw new IllegalArgumentException(
          "pool sizes must be positive, got in=" + in + ", out=" + out);
    }
    int[] s = new int[out];
    int[] e = new int[out];
    for (int j = 0; j < out; j++) {
      s[j] = (int) (((long) j * in) / out); // floor(j*in/out)
      e[j] = (int) (((long) (j + 1) * in + out - 1) / out); // ceil((j+1)*in/out)
    }
    return new PoolWindows(in, out, s, e);
  }

  /** Inclusive start of window {@code j}. */
  public int start(int j) {
    return start[j];
  }

  /** Exclusive end of window {@code j}. */
  public int end(int j) {
    return end[j];
  }

  /** Number of inputs covered by window {@code j}. */
  public int size(int j) {
    return end[j] - start[j];
  }

  /** True when window {@code j} covers input {@code i}. */
  public boolean covers(int j, int i) {
    return i >= start[j] && i < end[j];
  }

  /** Defensive copies: the record's arrays cannot be changed from outside. */
  @Override
  public int[] start() {
    return start.clone();
  }

  @Override
  public int[] end() {
    return end.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PoolWindows w
        && in == w.in
        && out == w.out
        && Arrays.equals(start, w.start)
        && Arrays.equals(end, w.end);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * in + out) + Arrays.hashCode(start) * 7 + Arrays.hashCode(end);
  }

  /** Human-readable window list in the spec's notation, e.g. {@code 24->12 [0,2),[2,4),...}. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder().append(in).append("->").append(out).append(' ');
    for (int j = 0; j < out; j++) {
      if (j > 0) {
        sb.append(',');
      }
      sb.append('[').append(start[j]).append(',').append(end[j]).append(')');
    }
    return sb.toString();
  }
}
