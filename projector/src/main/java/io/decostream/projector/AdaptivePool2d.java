package io.decostream.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.Objects;

/**
 * Exact PyTorch adaptive 2-D pooling over a ViT token grid (models.md §3.2 DeCo AvgPool, §3.3
 * LLaVA-NeXT-Video pooler, window rule §3.5).
 *
 * <p>Layout: the ViT emits tokens row-major with channels contiguous, {@code x[p*dim + d]} with
 * patch {@code p = row*inW + col}. PyTorch pools the NCHW view of the same data ({@code
 * view(N,H,W,D).permute(0,3,1,2)}); the result is flattened back to tokens in the same row-major
 * order, so output token {@code j = oh*outW + ow}. Both layouts give the same numbers: channels are
 * pooled independently.
 *
 * <p>Numerics follow torch's CPU kernel for exactly this layout. HF's pooler and DeCo's {@code
 * rearrange} hand torch a permuted view, which is channels-last, so torch runs {@code
 * cpu_adaptive_avg_pool_channels_last}: a float accumulator per channel summed over the window row
 * by row, then one division by {@code kh*kw} (its vectorised lanes; the contiguous NCHW kernel
 * divides {@code sum / kh / kw} instead, which differs by 1 ulp for 3x3 windows). Max keeps the
 * first maximum (strict {@code >}), and a NaN always wins (the last NaN in the window), as torch
 * does.
 */
public final class AdaptivePool2d {

  private AdaptivePool2d() {}

  // ------------------------------------------------------------------ pure Java, exact

  /**
   * Pools a token grid {@code x[inH*inW, dim]} (row-major tokens, channels contiguous) to {@code
   * [outH*outW, dim]}.
   *
   * @param mode {@link PoolingMode#NONE} is the identity and requires {@code out == in}
   * @return a new array; {@code x} is not modified
   */
  public static float[] pool(
      float[] x, int inH, int inW, int dim, int outH, int outW, PoolingMode mode) {
    checkGrid(x, inH, inW, dim, outH, outW);
    Objects.requireNonNull(mode, "mode");
    switch (mode) {
      case NONE:
        requireIdentity(inH, inW, outH, outW);
        return x.clone();
      case AVG:
        return avg(x, inH, inW, dim, outH, outW);
      case MAX:
        float[] out = new float[outH * outW * dim];
        max(x, inH, inW, dim, outH, outW, out, null);
        return out;
      default:
        throw new IllegalStateException("unhandled mode " + mode);
    }
  }

  /**
   * For max pooling: the input patch index ({@code row*inW + col}) selected for every output token
   * and channel, laid out like the pooled output {@code [outH*outW, dim]}. Equals torch's {@code
   * adaptive_max_pool2d(..., return_indices=True)} indices (which index the H*W plane). Used by the
   * max-pool Query-to-Patch rule (§7.6).
   */
  public static int[] argmaxIndices(float[] x, int inH, int inW, int dim, int outH, int outW) {
    checkGrid(x, inH, inW, dim, outH, outW);
    int[] idx = new int[outH * outW * dim];
    max(x, inH, inW, dim, outH, outW, null, idx);
    return idx;
  }

  /**
   * The {@code [outH*outW, inH*inW]} averaging matrix {@code M}: {@code M[j,p] = 1/|W_j|} when
   * patch {@code p} lies in the 2-D window of output token {@code j}, else 0 (row-major). Average
   * pooling is {@code y = M x}; this is also exactly the Query-to-Patch matrix of adaptive avg
   * pooling for R-GAE (§7.6). Rows sum to 1 (up to float rounding of {@code 1/|W_j|}).
   */
  public static float[] averagingMatrix(int inH, int inW, int outH, int outW) {
    PoolWindows rows = PoolWindows.of(inH, outH);
    PoolWindows cols = PoolWindows.of(inW, outW);
    int p = inH * inW;
    float[] m = new float[outH * outW * p];
    for (int oh = 0; oh < outH; oh++) {
      for (int ow = 0; ow < outW; ow++) {
        int j = oh * outW + ow;
        float w = 1.0f / (rows.size(oh) * cols.size(ow));
        for (int ih = rows.start(oh); ih < rows.end(oh); ih++) {
          for (int iw = cols.start(ow); iw < cols.end(ow); iw++) {
            m[j * p + ih * inW + iw] = w;
          }
        }
      }
    }
    return m;
  }

  /**
   * Max pooling's Query-to-Patch matrix (§7.6, PROPOSAL in the spec): {@code M[j,p]} is the
   * fraction of channels whose maximum in window {@code j} was taken from patch {@code p}. Shape
   * {@code [outH*outW, inH*inW]}, rows sum to 1.
   */
  public static float[] maxSelectionMatrix(
      float[] x, int inH, int inW, int dim, int outH, int outW) {
    int[] idx = argmaxIndices(x, inH, inW, dim, outH, outW);
    int p = inH * inW;
    int q = outH * outW;
    float[] m = new float[q * p];
    for (int j = 0; j < q; j++) {
      int[] counts = new int[p];
      for (int d = 0; d < dim; d++) {
        counts[idx[j * dim + d]]++;
      }
      for (int i = 0; i < p; i++) {
        if (counts[i] != 0) {
          m[j * p + i] = (float) counts[i] / dim;
        }
      }
    }
    return m;
  }

  private static float[] avg(float[] x, int inH, int inW, int dim, int outH, int outW) {
    PoolWindows rows = PoolWindows.of(inH, outH);
    PoolWindows cols = PoolWindows.of(inW, outW);
    float[] out = new float[outH * outW * dim];
    float[] acc = new float[dim];
    for (int oh = 0; oh < outH; oh++) {
      int kh = rows.size(oh);
      for (int ow = 0; ow < outW; ow++) {
        int kw = cols.size(ow);
        java.util.Arrays.fill(acc, 0f);
        // Same order as torch: rows of the window, then columns, float accumulator per channel.
        for (int ih = rows.start(oh); ih < rows.end(oh); ih++) {
          for (int iw = cols.start(ow); iw < cols.end(ow); iw++) {
            int base = (ih * inW + iw) * dim;
            for (int d = 0; d < dim; d++) {
              acc[d] += x[base + d];
            }
          }
        }
        int o = (oh * outW + ow) * dim;
        float area = kh * kw; // channels-last torch kernel: sum / (kh*kw)
        for (int d = 0; d < dim; d++) {
          out[o + d] = acc[d] / area;
        }
      }
    }
    return out;
  }

  /** Max pooling; fills {@code out} (values) and/or {@code idx} (patch indices) when non-null. */
  private static void max(
      float[] x, int inH, int inW, int dim, int outH, int outW, float[] out, int[] idx) {
    PoolWindows rows = PoolWindows.of(inH, outH);
    PoolWindows cols = PoolWindows.of(inW, outW);
    float[] best = new float[dim];
    int[] bestIdx = new int[dim];
    for (int oh = 0; oh < outH; oh++) {
      for (int ow = 0; ow < outW; ow++) {
        java.util.Arrays.fill(best, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(bestIdx, rows.start(oh) * inW + cols.start(ow));
        for (int ih = rows.start(oh); ih < rows.end(oh); ih++) {
          for (int iw = cols.start(ow); iw < cols.end(ow); iw++) {
            int p = ih * inW + iw;
            int base = p * dim;
            for (int d = 0; d < dim; d++) {
              float v = x[base + d];
              if (v > best[d] || Float.isNaN(v)) { // torch: (val > maxval) || isnan(val)
                best[d] = v;
                bestIdx[d] = p;
              }
            }
          }
        }
        int o = (oh * outW + ow) * dim;
        if (out != null) {
          System.arraycopy(best, 0, out, o, dim);
        }
        if (idx != null) {
          System.arraycopy(bestIdx, 0, idx, o, dim);
        }
      }
    }
  }

  private static void checkGrid(float[] x, int inH, int inW, int dim, int outH, int outW) {
    Objects.requireNonNull(x, "x");
    if (inH <= 0 || inW <= 0 || dim <= 0 || outH <= 0 || outW <= 0) {
      throw new IllegalArgumentException(
          "grid sizes must be positive, got in="
              + inH
              + "x"
              + inW
              + ", dim="
              + dim
              + ", out="
              + outH
              + "x"
              + outW);
    }
    long expected = (long) inH * inW * dim;
    if (x.length != expected) {
      throw new IllegalArgumentException(
          "features have "
              + x.length
              + " floats, expected "
              + inH
              + "*"
              + inW
              + " tokens * "
              + dim
              + " = "
              + expected);
    }
  }

  private static void requireIdentity(int inH, int inW, int outH, int outW) {
    if (inH != outH || inW != outW) {
      throw new IllegalArgumentException(
          "pooling mode none is the identity: output grid "
              + outH
              + "x"
              + outW
              + " must equal the input grid "
              + inH
              + "x"
              + inW);
    }
  }

  // ------------------------------------------------------------------ DJL (differentiable)

  /**
   * NDArray version for a square input grid: {@code x} is {@code [N, P, dim]} or {@code [P, dim]}
   * with {@code P = g*g}. See {@link #pool(NDArray, int, int, int, int, PoolingMode)}.
   */
  public static NDArray pool(NDArray x, int outH, int outW, PoolingMode mode) {
    Objects.requireNonNull(x, "x");
    Shape s = x.getShape();
    if (s.dimension() < 2) {
      throw new IllegalArgumentException("expected [N, P, dim] or [P, dim], got " + s);
    }
    long p = s.get(s.dimension() - 2);
    int g = (int) Math.round(Math.sqrt((double) p));
    if ((long) g * g != p) {
      throw new IllegalArgumentException(
          p + " tokens are not a square grid; pass inH and inW explicitly");
    }
    return pool(x, g, g, outH, outW, mode);
  }

  /**
   * Pools {@code x} ({@code [N, inH*inW, dim]} or {@code [inH*inW, dim]}) with DJL operators so
   * gradients flow (R-GAE, §7.8). AVG is the matmul {@code M @ x} with {@link #averagingMatrix};
   * MAX is separable (max over each row window, then each column window; NaN propagates); NONE
   * returns a copy. The result has the same rank as {@code x} and lives on {@code x}'s manager.
   * Values equal {@link #pool(float[], int, int, int, int, int, PoolingMode)} up to float summation
   * order (~1e-7).
   */
  public static NDArray pool(NDArray x, int inH, int inW, int outH, int outW, PoolingMode mode) {
    Objects.requireNonNull(x, "x");
    Objects.requireNonNull(mode, "mode");
    Shape s = x.getShape();
    int rank = s.dimension();
    if (rank != 2 && rank != 3) {
      throw new IllegalArgumentException("expected [N, P, dim] or [P, dim], got " + s);
    }
    if (inH <= 0 || inW <= 0 || outH <= 0 || outW <= 0) {
      throw new IllegalArgumentException(
          "grid sizes must be positive, got in=" + inH + "x" + inW + ", out=" + outH + "x" + outW);
    }
    long p = s.get(rank - 2);
    if (p != (long) inH * inW) {
      throw new IllegalArgumentException(
          "input has " + p + " tokens, expected " + inH + "*" + inW + " (shape " + s + ")");
    }
    switch (mode) {
      case NONE:
        requireIdentity(inH, inW, outH, outW);
        return x.duplicate();
      case AVG:
        return avgMatmul(x, inH, inW, outH, outW);
      case MAX:
        return maxSeparable(x, inH, inW, outH, outW);
      default:
        throw new IllegalStateException("unhandled mode " + mode);
    }
  }

  private static NDArray avgMatmul(NDArray x, int inH, int inW, int outH, int outW) {
    NDManager manager = x.getManager();
    float[] m = averagingMatrix(inH, inW, outH, outW);
    try (NDArray mf = manager.create(m, new Shape((long) outH * outW, (long) inH * inW));
        NDArray mt =
            Scalars.owned(mf, x.getDataType())) { // kept by autograd after mf's buffer is freed
      // [Q,P] @ [P,D] -> [Q,D]; [Q,P] @ [N,P,D] broadcasts to [N,Q,D] (torch.matmul).
      return mt.matMul(x);
    }
  }

  private static NDArray maxSeparable(NDArray x, int inH, int inW, int outH, int outW) {
    Shape s = x.getShape();
    boolean batched = s.dimension() == 3;
    long n = batched ? s.get(0) : 1;
    long dim = s.get(s.dimension() - 1);
    PoolWindows rows = PoolWindows.of(inH, outH);
    PoolWindows cols = PoolWindows.of(inW, outW);
    // max over a rectangle = max over its columns of (max over its rows)
    try (NDArray grid = x.reshape(n, inH, inW, dim)) {
      NDList rowMax = new NDList(outH);
      try {
        for (int oh = 0; oh < outH; oh++) {
          try (NDArray slab = grid.get(new NDIndex(":, {}:{}", rows.start(oh), rows.end(oh)))) {
            rowMax.add(slab.max(new int[] {1}, false)); // [N, inW, D]
          }
        }
        try (NDArray byRows = NDArrays.stack(rowMax, 1)) { // [N, outH, inW, D]
          NDList colMax = new NDList(outW);
          try {
            for (int ow = 0; ow < outW; ow++) {
              try (NDArray slab =
                  byRows.get(new NDIndex(":, :, {}:{}", cols.start(ow), cols.end(ow)))) {
                colMax.add(slab.max(new int[] {2}, false)); // [N, outH, D]
              }
            }
            try (NDArray pooled = NDArrays.stack(colMax, 2)) { // [N, outH, outW, D]
              return batched
                  ? pooled.reshape(n, (long) outH * outW, dim)
                  : pooled.reshape((long) outH * outW, dim);
            }
          } finally {
            colMax.close();
          }
        }
      } finally {
        rowMax.close();
      }
    }
  }
}
