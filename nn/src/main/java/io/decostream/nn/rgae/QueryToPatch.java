package io.decostream.nn.rgae;

import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.Bilinear2d;
import io.decostream.projector.PoolingMode;
import io.decostream.projector.TokenCompressor;
import java.util.Objects;

/**
 * A Query-to-Patch matrix {@code M} [Q, P] of one frame (spec §7.6): how much of query (projector
 * output token) {@code j} comes from patch {@code p} (row-major grid, {@code p = row * width +
 * col}). Text-to-Patch of a frame is {@code TtQ_frame [1×Q] · M [Q×P]} ({@link #apply}).
 *
 * <ul>
 *   <li>{@link #identity}: linear / MLP projectors without pooling.
 *   <li>{@link #adaptiveAvg}: {@code M[j,p] = 1/|W_j|} over the PyTorch adaptive window (§3.5),
 *       exact for grids that do not divide (24→20, 27→12: overlapping windows, a patch may feed
 *       several queries).
 *   <li>{@link #adaptiveMax} (PROPOSAL): fraction of channels whose argmax in window j is patch p,
 *       from the frame's actual features (reduces to the argmax patch when all channels agree).
 *   <li>{@link #bilinear} (PROPOSAL): the {@code λy·λx} interpolation weights (OneVision,
 *       align_corners=False).
 * </ul>
 *
 * Rows sum to 1 up to float rounding. Instances are immutable.
 */
public final class QueryToPatch {

  private final int queries;
  private final int patches;
  private final float[] m;

  private QueryToPatch(int queries, int patches, float[] m) {
    this.queries = queries;
    this.patches = patches;
    this.m = m;
  }

  /** Wraps a row-major [queries, patches] matrix (copied). */
  public static QueryToPatch of(int queries, int patches, float[] matrix) {
    Objects.requireNonNull(matrix, "matrix");
    if (queries < 1 || patches < 1 || (long) queries * patches != matrix.length) {
      throw new IllegalArgumentException(
          "matrix of " + matrix.length + " values is not [" + queries + ", " + patches + "]");
    }
    return new QueryToPatch(queries, patches, matrix.clone());
  }

  /** {@code I_n}: no pooling (§7.6 "Linear / mlp2x_gelu"). */
  public static QueryToPatch identity(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("identity size must be >= 1, got " + n);
    }
    float[] m = new float[n * n];
    for (int i = 0; i < n; i++) {
      m[i * n + i] = 1f;
    }
    return new QueryToPatch(n, n, m);
  }

  /**
   * Adaptive (and plain k×k) average pooling {@code inH×inW → outH×outW} (§7.6, windows of §3.5).
   */
  public static QueryToPatch adaptiveAvg(int inH, int inW, int outH, int outW) {
    checkGrids(inH, inW, outH, outW);
    return new QueryToPatch(
        outH * outW, inH * inW, AdaptivePool2d.averagingMatrix(inH, inW, outH, outW));
  }

  /**
   * Adaptive max pooling (§7.6 PROPOSAL): {@code M[j,p]} = fraction of the {@code dim} channels
   * whose maximum in window j is patch p (first maximum, as torch).
   *
   * @param features the frame's pooled-over features [inH*inW, dim], row-major tokens, channels
   *     contiguous
   */
  public static QueryToPatch adaptiveMax(
      float[] features, int inH, int inW, int dim, int outH, int outW) {
    Objects.requireNonNull(features, "features");
    checkGrids(inH, inW, outH, outW);
    return new QueryToPatch(
        outH * outW,
        inH * inW,
        AdaptivePool2d.maxSelectionMatrix(features, inH, inW, dim, outH, outW));
  }

  /**
   * Bilinear interpolation {@code inH×inW → outH×outW}, align_corners=False (§3.5, §7.6 PROPOSAL).
   */
  public static QueryToPatch bilinear(int inH, int inW, int outH, int outW) {
    checkGrids(inH, inW, outH, outW);
    return new QueryToPatch(outH * outW, inH * inW, Bilinear2d.weightMatrix(inH, inW, outH, outW));
  }

  /**
   * The matrix of a {@link TokenCompressor} (identity for NONE, average windows for AVG,
   * channel-argmax fractions for MAX; the features are needed only for MAX and may be null
   * otherwise).
   */
  public static QueryToPatch of(
      TokenCompressor compressor, float[] features, int inH, int inW, int dim) {
    Objects.requireNonNull(compressor, "compressor");
    if (compressor.mode() == PoolingMode.MAX) {
      Objects.requireNonNull(features, "features (needed for max pooling)");
    }
    return new QueryToPatch(
        compressor.tokens(inH, inW), inH * inW, compressor.queryToPatch(features, inH, inW, dim));
  }

  public int queries() {
    return queries;
  }

  public int patches() {
    return patches;
  }

  /** The row-major [queries, patches] matrix (a copy). */
  public float[] matrix() {
    return m.clone();
  }

  /** Entry {@code M[j, p]}. */
  public float get(int j, int p) {
    return m[j * patches + p];
  }

  /** {@code tokenRelevance [Q] · M [Q×P]} → [P] (Text-to-Patch of one frame, §7.6). */
  public float[] apply(float[] tokenRelevance) {
    Objects.requireNonNull(tokenRelevance, "tokenRelevance");
    if (tokenRelevance.length != queries) {
      throw new IllegalArgumentException(
          "relevance has "
              + tokenRelevance.length
              + " values, the matrix has "
              + queries
              + " queries");
    }
    double[] acc = new double[patches];
    for (int j = 0; j < queries; j++) {
      float r = tokenRelevance[j];
      if (r == 0f) {
        continue;
      }
      int row = j * patches;
      for (int p = 0; p < patches; p++) {
        acc[p] += (double) r * m[row + p];
      }
    }
    float[] out = new float[patches];
    for (int p = 0; p < patches; p++) {
      out[p] = (float) acc[p];
    }
    return out;
  }

  /**
   * {@code this · next}: chains a further patch map, e.g. the ViT part {@code V} [P, P'] (§7.7:
   * {@code TtQ · M · V}).
   */
  public QueryToPatch andThen(QueryToPatch next) {
    Objects.requireNonNull(next, "next");
    if (next.queries != patches) {
      throw new IllegalArgumentException(
          "cannot chain ["
              + queries
              + ", "
              + patches
              + "] with ["
              + next.queries
              + ", "
              + next.patches
              + "]");
    }
    float[] out = new float[queries * next.patches];
    for (int j = 0; j < queries; j++) {
      float[] row = new float[patches];
      System.arraycopy(m, j * patches, row, 0, patches);
      System.arraycopy(next.apply(row), 0, out, j * next.patches, next.patches);
    }
    return new QueryToPatch(queries, next.patches, out);
  }

  private static void checkGrids(int inH, int inW, int outH, int outW) {
    if (inH < 1 || inW < 1 || outH < 1 || outW < 1) {
      throw new IllegalArgumentException(
          "grids must be positive, got " + inH + "x" + inW + " -> " + outH + "x" + outW);
    }
  }

  @Override
  public String toString() {
    return "QueryToPatch[" + queries + "x" + patches + "]";
  }
}
