package io.decostream.nn.image;

/**
 * Pillow's 8-bit bicubic resize ({@code Image.resize(size, BICUBIC)}, [PIL] libImaging/Resample.c),
 * reproduced exactly (spec §1.2 step 2): separable, horizontal pass first with a uint8
 * intermediate; Keys cubic with a = -0.5, support 2 scaled by the downscale factor (antialiasing);
 * per-output normalised weights converted to 22-bit fixed point (round half away from zero);
 * accumulators start at 2^21 and are shifted right by 22 and clamped to 0..255.
 */
public final class PilBicubic {
  private PilBicubic() {}

  private static final int PRECISION_BITS = 32 - 8 - 2;

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

  private static int clip8(int acc) {
    int v = acc >> PRECISION_BITS;
    return v < 0 ? 0 : Math.min(v, 255);
  }

  /** Resizes to {@code outW x outH}; same size returns a copy (as PIL does). */
  public static RgbImage resize(RgbImage in, int outW, int outH) {
    if (outW <= 0 || outH <= 0) {
      throw new IllegalArgumentException("target size must be positive, got " + outW + "x" + outH);
    }
    boolean needH = outW != in.width();
    boolean needV = outH != in.height();
    if (!needH && !needV) {
      return new RgbImage(in.width(), in.height(), in.rgb().clone());
    }
    Coeffs vert = coeffs(in.height(), outH);
    byte[] src = in.rgb();
    int srcW = in.width();
    int rowOffset = 0;
    int srcRows = in.height();
    if (needH) {
      // only source rows [first, last) feed the vertical pass (ImagingResampleInner)
      int first = vert.start()[0];
      int last = vert.start()[outH - 1] + vert.size()[outH - 1];
      Coeffs hor = coeffs(in.width(), outW);
      byte[] tmp = new byte[outW * (last - first) * 3];
      int half = 1 << (PRECISION_BITS - 1);
      for (int y = first; y < last; y++) {
        int srow = y * srcW * 3;
        int drow = (y - first) * outW * 3;
        for (int xx = 0; xx < outW; xx++) {
          int xmin = hor.start()[xx];
          int n = hor.size()[xx];
          int kb = xx * hor.ksize();
          int s0 = half;
          int s1 = half;
          int s2 = half;
          for (int x = 0; x < n; x++) {
            int p = srow + (xmin + x) * 3;
            int kw = hor.k()[kb + x];
            s0 += (src[p] & 0xFF) * kw;
            s1 += (src[p + 1] & 0xFF) * kw;
            s2 += (src[p + 2] & 0xFF) * kw;
          }
          tmp[drow + xx * 3] = (byte) clip8(s0);
          tmp[drow + xx * 3 + 1] = (byte) clip8(s1);
          tmp[drow + xx * 3 + 2] = (byte) clip8(s2);
        }
      }
      src = tmp;
      srcW = outW;
      rowOffset = first;
      srcRows = last - first;
    }
    if (!needV) {
      return new RgbImage(srcW, srcRows, src);
    }
    byte[] out = new byte[outW * outH * 3];
    int half = 1 << (PRECISION_BITS - 1);
    for (int yy = 0; yy < outH; yy++) {
      int ymin = vert.start()[yy] - rowOffset;
      int n = vert.size()[yy];
      int kb = yy * vert.ksize();
      for (int xx = 0; xx < outW; xx++) {
        int s0 = half;
        int s1 = half;
        int s2 = half;
        for (int y = 0; y < n; y++) {
          int p = ((ymin + y) * srcW + xx) * 3;
          int kw = vert.k()[kb + y];
          s0 += (src[p] & 0xFF) * kw;
          s1 += (src[p + 1] & 0xFF) * kw;
          s2 += (src[p + 2] & 0xFF) * kw;
        }
        int o = (yy * outW + xx) * 3;
        out[o] = (byte) clip8(s0);
        out[o + 1] = (byte) clip8(s1);
        out[o + 2] = (byte) clip8(s2);
      }
    }
    return new RgbImage(outW, outH, out);
  }
}
