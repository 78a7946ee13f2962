package io.decostream.nn.image;

import java.util.Arrays;

/**
 * Pillow's 8-bit bicubic resize ({@code Image.resize(size, BICUBIC)}, [PIL] libImaging/Resample.c),
 * reproduced exactly (spec §1.2 step 2): separable, horizontal pass first with a uint8
 * intermediate; Keys cubic with a = -0.5, support 2 scaled by the downscale factor (antialiasing);
 * per-output normalised weights converted to 22-bit fixed point (round half away from zero);
 * accumulators start at 2^21 and are shifted right by 22 and clamped to 0..255.
 */
public final class PilBicubic {
  private PilBicubic() {}

  static final int PRECISION_BITS = 32 - 8 - 2;

  /**
   * Fixed-point coefficients for one axis: output i reads {@code size[i]} inputs from {@code
   * start[i]}.
   */
  record Coeffs(int ksize, int[] start, int[] size, int[] k) {}

  private static double cubic(double x) {
    final double a = -0.5;
    if (x < 0.0) {
      x = -x;
    }
    if (x < 1.0) {
      return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    }
    if (x < 2.0) {
      return (((x - 5) * x + 8) * x - 4) * a;
    }
    return 0.0;
  }

  /** precompute_coeffs + normalize_coeffs_8bpc for the box [0, inSize). */
  static Coeffs coeffs(int inSize, int outSize) {
    // in0/in1 are C floats in Pillow; for integer sizes below 2^24 they are exact.
    double scale = (double) inSize / outSize;
    double filterscale = Math.max(scale, 1.0);
    double support = 2.0 * filterscale;
    int ksize = (int) Math.ceil(support) * 2 + 1;
    int[] start = new int[outSize];
    int[] size = new int[outSize];
    int[] k = new int[outSize * ksize];
    double[] w = new double[ksize];
    for (int xx = 0; xx < outSize; xx++) {
      double center = (xx + 0.5) * scale;
      double ss = 1.0 / filterscale;
      int xmin = (int) (center - support + 0.5);
      if (xmin < 0) {
        xmin = 0;
      }
      int xmax = (int) (center + support + 0.5);
      if (xmax > inSize) {
        xmax = inSize;
      }
      xmax -= xmin;
      double ww = 0.0;
      for (int x = 0; x < xmax; x++) {
        w[x] = cubic((x + xmin - center + 0.5) * ss);
        ww += w[x];
      }
      for (int x = 0; x < xmax; x++) {
        double v = ww != 0.0 ? w[x] / ww : w[x];
        // (int) truncates toward zero, as the C cast does
        k[xx * ksize + x] =
            v < 0
                ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                : (int) (0.5 + v * (1 << PRECISION_BITS));
      }
      start[xx] = xmin;
      size[xx] = xmax;
    }
    return new Coeffs(ksize, start, size, k);
  }

  /**
   * Whether the passes run on the Vector API ({@link ResampleKernels}): the incubator module is
   * present (as {@code ./deco}, the test runners and the images start the JVM) and {@code
   * -Ddeco.resize.vector=false} is not set. Without it the same passes run in scalar Java.
   */
  static final boolean VECTOR =
      !"false".equalsIgnoreCase(System.getProperty("deco.resize.vector"))
          && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

  private static int clip8(int acc) {
    int v = acc >> PRECISION_BITS;
    return v < 0 ? 0 : Math.min(v, 255);
  }

  /** Resizes to {@code outW x outH}; same size returns a copy (as PIL does). */
  public static RgbImage resize(RgbImage in, int outW, int outH) {
    return resize(in, outW, outH, VECTOR);
  }

  /**
   * The encoder's per-frame hot spot (issue 22 point 2): both passes run over planar channels laid
   * out so that the outputs a pass computes together are contiguous, which lets one output row's
   * taps be summed for many pixels at once. The horizontal pass runs on the transposed planes
   * (columns as rows) and its result is transposed back; integer sums in any order are the same, so
   * the result stays Pillow's to the bit.
   */
  static RgbImage resize(RgbImage in, int outW, int outH, boolean vector) {
    if (outW <= 0 || outH <= 0) {
      throw new IllegalArgumentException("target size must be positive, got " + outW + "x" + outH);
    }
    int w = in.width();
    int h = in.height();
    boolean needH = outW != w;
    boolean needV = outH != h;
    if (!needH && !needV) {
      return new RgbImage(w, h, in.rgb().clone());
    }
    Coeffs vert = coeffs(h, outH);
    byte[] planes; // three channel planes of `rows` rows x `outW` columns
    int rows = h;
    int rowOffset = 0;
    if (needH) {
      // only source rows [first, last) feed the vertical pass (ImagingResampleInner)
      int first = vert.start()[0];
      int last = vert.start()[outH - 1] + vert.size()[outH - 1];
      rows = last - first;
      byte[] columns = columnPlanes(in.rgb(), w, first, last);
      byte[] done = new byte[3 * outW * rows];
      Coeffs hor = coeffs(w, outW);
      for (int c = 0; c < 3; c++) {
        pass(columns, c * w * rows, rows, hor, 0, done, c * outW * rows, vector);
      }
      planes = transposePlanes(done, outW, rows);
      rowOffset = first;
      if (!needV) {
        return interleave(planes, outW, rows);
      }
    } else {
      planes = rowPlanes(in.rgb(), w * h);
    }
    byte[] out = new byte[3 * outW * outH];
    for (int c = 0; c < 3; c++) {
      pass(planes, c * outW * rows, outW, vert, rowOffset, out, c * outW * outH, vector);
    }
    return interleave(out, outW, outH);
  }

  /**
   * One separable pass over a plane of rows of {@code len} bytes: output row i is, element by
   * element, clip8(2^21 + Σ_t in[row start[i] - offset + t] * k[i][t]) (Pillow's 8-bit
   * accumulation, int32 as in C).
   */
  private static void pass(
      byte[] in,
      int inBase,
      int len,
      Coeffs k,
      int offset,
      byte[] out,
      int outBase,
      boolean vector) {
    int half = 1 << (PRECISION_BITS - 1);
    int[] acc = null; // for the tail the vector loop leaves (all of the row without it)
    for (int i = 0; i < k.start().length; i++) {
      int from = inBase + (k.start()[i] - offset) * len;
      int n = k.size()[i];
      int kb = i * k.ksize();
      int to = outBase + i * len;
      int j0 = vector ? ResampleKernels.row(in, from, len, n, k.k(), kb, out, to) : 0;
      if (j0 == len) {
        continue;
      }
      if (acc == null) {
        acc = new int[len];
      }
      // the rest of the row, tap by tap over contiguous bytes (loops the JIT can vectorise itself)
      Arrays.fill(acc, j0, len, half);
      for (int t = 0; t < n; t++) {
        int kw = k.k()[kb + t];
        int row = from + t * len;
        for (int j = j0; j < len; j++) {
          acc[j] += (in[row + j] & 0xFF) * kw;
        }
      }
      for (int j = j0; j < len; j++) {
        out[to + j] = (byte) clip8(acc[j]);
      }
    }
  }

  /** Rows [first, last) of interleaved RGB as three planes of columns: column x is a row. */
  private static byte[] columnPlanes(byte[] rgb, int w, int first, int last) {
    int rows = last - first;
    int plane = w * rows;
    byte[] t = new byte[3 * plane];
    for (int y = first; y < last; y++) {
      for (int x = 0, s = y * w * 3, d = y - first; x < w; x++, s += 3, d += rows) {
        t[d] = rgb[s];
        t[plane + d] = rgb[s + 1];
        t[2 * plane + d] = rgb[s + 2];
      }
    }
    return t;
  }

  /** Three planes of {@code cols} rows x {@code rows} columns to {@code rows} x {@code cols}. */
  private static byte[] transposePlanes(byte[] t, int cols, int rows) {
    int plane = cols * rows;
    byte[] out = new byte[3 * plane];
    for (int c = 0; c < 3; c++) {
      int b = c * plane;
      for (int x = 0; x < cols; x++) {
        for (int y = 0, s = b + x * rows; y < rows; y++) {
          out[b + y * cols + x] = t[s + y];
        }
      }
    }
    return out;
  }

  private static byte[] rowPlanes(byte[] rgb, int n) {
    byte[] p = new byte[3 * n];
    for (int i = 0, s = 0; i < n; i++, s += 3) {
      p[i] = rgb[s];
      p[n + i] = rgb[s + 1];
      p[2 * n + i] = rgb[s + 2];
    }
    return p;
  }

  private static RgbImage interleave(byte[] planes, int w, int h) {
    int n = w * h;
    byte[] rgb = new byte[3 * n];
    for (int i = 0, d = 0; i < n; i++, d += 3) {
      rgb[d] = planes[i];
      rgb[d + 1] = planes[n + i];
      rgb[d + 2] = planes[2 * n + i];
    }
    return new RgbImage(w, h, rgb);
  }
}
