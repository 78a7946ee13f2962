package io.decostream.projector;

import java.util.Objects;

/**
 * A compact form of a pooling Query-to-Patch matrix (R-GAE, spec §7.6) for the wire: pooled token
 * {@code j} can only draw on the patches of its own window (§3.5), so instead of the dense {@code
 * [M, inH*inW]} matrix each row keeps just its window's weights, {@code [M, K]} with {@code K} the
 * largest window area, in the window's row-major order, zero-padded. For 24→12 that is 144 x 4
 * values instead of 144 x 576. Used for max pooling, whose matrix depends on each frame's features
 * and must travel with the frame's tokens; avg and none are rebuilt from the grid.
 */
public final class WindowWeights {

  private WindowWeights() {}

  /** K: the largest window area of adaptive pooling {@code inH x inW → outH x outW}. */
  public static int maxWindowArea(int inH, int inW, int outH, int outW) {
    PoolWindows rows = PoolWindows.of(inH, outH);
    PoolWindows cols = PoolWindows.of(inW, outW);
    int h = 0;
    int w = 0;
    for (int j = 0; j < outH; j++) {
      h = Math.max(h, rows.size(j));
    }
    for (int j = 0; j < outW; j++) {
      w = Math.max(w, cols.size(j));
    }
    return h * w;
  }

  /**
   * Dense {@code [outH*outW, inH*inW]} → compact {@code [outH*outW, K]}.
   *
   * @throws IllegalArgumentException if a row has weight outside its window (not a pooling matrix
   *     of these grids)
   */
  public static float[] compress(float[] dense, int inH, int inW, int outH, int outW) {
    Objects.requireNonNull(dense, "dense");
    int m = outH * outW;
    int n = inH * inW;
    if (dense.length != m * n) {
      throw new IllegalArgumentException(
          "dense matrix has " + dense.length + " values, expected " + m + " x " + n);
    }
    PoolWindows rows = PoolWindows.of(inH, outH);
    PoolWindows cols = PoolWindows.of(inW, outW);
    int k = maxWindowArea(inH, inW, outH, outW);
    float[] out = new float[m * k];
    for (int oh = 0; oh < outH; oh++) {
      for (int ow = 0; ow < outW; ow++) {
        int j = oh * outW + ow;
        double inside = 0;
        double total = 0;
        int slot = 0;
        for (int p = 0; p < n; p++) {
          total += Math.abs(dense[j * n + p]);
        }
        for (int r = rows.start(oh); r < rows.end(oh); r++) {
          for (int c = cols.start(ow); c < cols.end(ow); c++) {
            float v = dense[j * n + r * inW + c];
            inside += Math.abs(v);
            out[j * k + slot++] = v;
          }
        }
        if (total - inside > 1e-6 * Math.max(1.0, total)) {
          throw new IllegalArgumentException("row " + j + " has weight outside its pooling window");
        }
      }
    }
    return out;
  }

  /** Compact {@code [outH*outW, K]} → dense {@code [outH*outW, inH*inW]}. */
  public static float[] expand(float[] compact, int inH, int inW, int outH, int outW) {
    Objects.requireNonNull(compact, "compact");
    int m = outH * outW;
    int n = inH * inW;
    int k = maxWindowArea(inH, inW, outH, outW);
    if (compact.length != m * k) {
      throw new IllegalArgumentException(
          "compact matrix has " + compact.length + " values, expected " + m + " x " + k);
    }
    PoolWindows rows = PoolWindows.of(inH, outH);
    PoolWindows cols = PoolWindows.of(inW, outW);
    float[] dense = new float[m * n];
    for (int oh = 0; oh < outH; oh++) {
      for (int ow = 0; ow < outW; ow++) {
        int j = oh * outW + ow;
        int slot = 0;
        for (int r = rows.start(oh); r < rows.end(oh); r++) {
          for (int c = cols.start(ow); c < cols.end(ow); c++) {
            dense[j * n + r * inW + c] = compact[j * k + slot++];
          }
        }
      }
    }
    return dense;
  }
}
