package io.decostream.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Objects;

/**
 * Exact PyTorch {@code F.interpolate(mode="bilinear", align_corners=False)} (no antialias, output
 * size given, no scale factor) over a ViT token grid — the LLaVA-OneVision video pooling step
 * (models.md §3.4 {@code apply_pooling}: 27x27 → ceil(27/2) = 14x14, after the projector), with the
 * source-index rule of §3.5.
 *
 * <p>Layout as in {@link AdaptivePool2d}: {@code x[p*dim + d]} with patch {@code p = row*inW + col}
 * and output token {@code j = oh*outW + ow}. Per axis (§3.5, torch {@code
 * compute_source_index_and_lambda}): {@code scale = (float) in / out} in fp32; if {@code in == out}
 * the axis is the identity; else {@code src = max(scale*(dst+0.5) - 0.5, 0)} evaluated in double
 * (torch's CPU {@code acc_type<float>}; measured: an fp32 {@code src} puts the lambdas up to 8e-7
 * off torch's), {@code i0 = min(floor(src), in-1)}, {@code i1 = i0 + (i0 < in-1 ? 1 : 0)}, {@code
 * l1 = clamp(src - i0, 0, 1)}, {@code l0 = 1 - l1}.
 *
 * <p>Summation order follows torch's contiguous NCHW kernel (HF calls {@code .contiguous()} before
 * interpolating): per row {@code t_r = x[r,i0]*w0 + x[r,i1]*w1}, then {@code t_h0*h0 + t_h1*h1}.
 */
public final class Bilinear2d {

  private Bilinear2d() {}

  /**
   * One axis of the interpolation: for every output index the two source indices and their weights
   * (§3.5).
   */
  public record Axis(int in, int out, int[] i0, int[] i1, float[] lambda0, float[] lambda1) {}

  /** The per-axis source indices and lambdas, computed in fp32 exactly as torch does. */
  public static Axis axis(int in, int out) {
    if (in <= 0 || out <= 0) {
      throw new IllegalArgumentException("sizes must be positive, got in=" + in + ", out=" + out);
    }
    int[] i0 = new int[out];
    int[] i1 = new int[out];
    float[] l0 = new float[out];
    float[] l1 = new float[out];
    // area_pixel_compute_scale: (float) input_size / output_size (no scale_factor given)
    float scale = (float) in / out;
    for (int d = 0; d < out; d++) {
      if (in == out) {
        i0[d] = d;
        i1[d] = d;
        l0[d] = 1f;
        l1[d] = 0f;
        continue;
      }
      // area_pixel_compute_source_index (align_corners=False, not cubic): torch's CPU kernel works
      // in
      // acc_type<float> = double here, with the fp32 scale; negatives clamp to 0
      double src = (double) scale * (d + 0.5) - 0.5;
      if (src < 0) {
        src = 0;
      }
      // guard_index_and_lambda: lambda = clamp(src - i0, 0, 1) in double, stored as float
      int idx = Math.min((int) Math.floor(src), in - 1);
      double lambda = Math.min(Math.max(src - idx, 0.0), 1.0);
      i0[d] = idx;
      i1[d] = idx + (idx < in - 1 ? 1 : 0);
      l1[d] = (float) lambda;
      l0[d] = (float) (1.0 - lambda);
    }
    return new Axis(in, out, i0, i1, l0, l1);
  }

  /** LLaVA-OneVision's pooled side length (§3.4): {@code ceil(in / 2)}, e.g. 27 → 14, 24 → 12. */
  public static int oneVisionSize(int in) {
    if (in <= 0) {
      throw new IllegalArgumentException("grid side must be positive, got " + in);
    }
    return (in + 1) / 2;
  }

  /**
   * Interpolates a token grid {@code x[inH*inW, dim]} to {@code [outH*outW, dim]}.
   *
   * @return a new array; {@code x} is not modified
   */
  public static float[] interpolate(float[] x, int inH, int inW, int dim, int outH, int outW) {
    checkGrid(x, inH, inW, dim, outH, outW);
    Axis ah = axis(inH, outH);
    Axis aw = axis(inW, outW);
    float[] out = new float[outH * outW * dim];
    for (int oh = 0; oh < outH; oh++) {
      int r0 = ah.i0[oh] * inW;
      int r1 = ah.i1[oh] * inW;
      float h0 = ah.lambda0[oh];
      float h1 = ah.lambda1[oh];
      for (int ow = 0; ow < outW; ow++) {
        int c0 = aw.i0[ow];
        int c1 = aw.i1[ow];
        float w0 = aw.lambda0[ow];
        float w1 = aw.lambda1[ow];
        int o = (oh * outW + ow) * dim;
        int p00 = (r0 + c0) * dim;
        int p01 = (r0 + c1) * dim;
        int p10 = (r1 + c0) * dim;
        int p11 = (r1 + c1) * dim;
        for (int d = 0; d < dim; d++) {
          // torch Interpolate<2>: inner (width) sums first, then the outer (height) weights
          float t0 = x[p00 + d] * w0;
          t0 += x[p01 + d] * w1;
          float t1 = x[p10 + d] * w0;
          t1 += x[p11 + d] * w1;
          float v = t0 * h0;
          v += t1 * h1;
          out[o + d] = v;
        }
      }
    }
    return out;
  }

  /**
   * The {@code [outH*outW, inH*inW]} interpolation matrix {@code M} (row-major): interpolation is
   * {@code y = M x}, and {@code M} is the Query-to-Patch map of the bilinear pooling for R-GAE
   * (§7.6): row {@code j} holds {@code l_h * l_w} for its (up to) four neighbours (weights of
   * coinciding neighbours are added). Rows sum to 1 up to float rounding.
   */
  public static float[] weightMatrix(int inH, int inW, int outH, int outW) {
    Axis ah = axis(inH, outH);
    Axis aw = axis(inW, outW);
    int p = inH * inW;
    float[] m = new float[outH * outW * p];
    for (int oh = 0; oh < outH; oh++) {
      int[] rows = {ah.i0[oh], ah.i1[oh]};
      float[] hl = {ah.lambda0[oh], ah.lambda1[oh]};
      for (int ow = 0; ow < outW; ow++) {
        int[] cols = {aw.i0[ow], aw.i1[ow]};
        float[] wl = {aw.lambda0[ow], aw.lambda1[ow]};
        int row = (oh * outW + ow) * p;
        for (int a = 0; a < 2; a++) {
          for (int b = 0; b < 2; b++) {
            m[row + rows[a] * inW + cols[b]] += hl[a] * wl[b];
          }
        }
      }
    }
    return m;
  }

  /**
   * Differentiable version for R-GAE (§7.8): {@code x} is {@code [N, inH*inW, dim]} or {@code
   * [inH*inW, dim]}; returns {@code M @ x} with {@link #weightMatrix} (same rank as {@code x}, on
   * {@code x}'s manager), so gradients flow to {@code x}. Values equal {@link #interpolate} up to
   * float summation order (~1e-7).
   */
  public static NDArray interpolate(NDArray x, int inH, int inW, int outH, int outW) {
    Objects.requireNonNull(x, "x");
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
    NDManager manager = x.getManager();
    float[] m = weightMatrix(inH, inW, outH, outW);
    try (NDArray mf = manager.create(m, new Shape((long) outH * outW, (long) inH * inW));
        NDArray mt =
            Scalars.owned(mf, x.getDataType())) { // kept by autograd after mf's buffer is freed
      // [Q,P] @ [P,D] -> [Q,D]; [Q,P] @ [N,P,D] broadcasts to [N,Q,D]
      return mt.matMul(x);
    }
  }

  /** OneVision's video pooling (§3.4) on a square grid: {@code g x g -> ceil(g/2) x ceil(g/2)}. */
  public static NDArray oneVisionPool(NDArray x, int g) {
    int o = oneVisionSize(g);
    return interpolate(x, g, g, o, o);
  }

  private static void checkGrid(float[] x, int inH, int inW, int dim, int outH, int outW) {
    Objects.requireNonNull(x, "x");
    if (inH <= 0 || inW <= 0 || dim <= 0 || outH <= 0 || outW <= 0) {
      throw new IllegalArgumentException(
          "grid sizes and dim must be positive, got in="
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
    if (x.length != inH * inW * dim) {
      throw new IllegalArgumentException(
          "x has " + x.length + " values, expected " + inH + "*" + inW + "*" + dim);
    }
  }
}
