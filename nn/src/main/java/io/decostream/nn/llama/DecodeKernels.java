package io.decostream.nn.llama;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The matrix-vector products of a decode step (issue 20 points 2 and 3) with the Java Vector API,
 * reading the weights where libtorch keeps them (a {@link NativeView} of each tensor, no copy; each
 * call checks its range once, then loads by address). Decode reads every weight once per token, so
 * its speed is the memory's: these loops do nothing but stream rows through independent FMA chains,
 * four per fp32 row and two per 16-bit row (its even and odd halves).
 *
 * <p>Decode calls the quad kernels ({@code dot*Quad}): four rows a quarter of the matrix apart in
 * one pass, each x load serving all four. Measured in one process, the kernels interleaved pass by
 * pass over a 100 MB fp32 (50 MB 16-bit) matrix: on one thread, quads read 15.5 GB/s where pairs of
 * rows half the matrix apart read 12.4 (F16 14.4 against 12.0, BF16 15.6 against 12.6); on two
 * threads 30.9 against 26.9 (F16 29.9 against 23.6, BF16 32.4 against 28.3). One row at a time
 * reads less again, and adjacent rows least (their interleaved streams defeat the prefetcher). Each
 * row of a quad gets exactly the one-row kernel's bits. A 16-bit quad with four chains a row made
 * C2 stop inlining its loads (NodeCountInliningCutoff) and box them, hence two.
 *
 * <p>F16 and BF16 rows are read as 32-bit lanes, each holding two weights (little-endian: element
 * 2i in the low half, 2i+1 in the high half), widened with integer ops only (Java 17's Vector API
 * has no F16 conversion, and its short-to-int reshape is not compiled to vector code): three per
 * F16 half, one per BF16 half. The input vector is split once per product into its even and odd
 * elements ({@link #deinterleave}) to match. Accumulation is fp32 in every case.
 */
final class DecodeKernels {

  private static final VectorSpecies<Float> F = NativeView.F; // the views' load shapes
  private static final VectorSpecies<Integer> I = NativeView.I;
  private static final int L = F.length();
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  private DecodeKernels() {}

  /** Row r of an fp32 matrix [rows, cols] (view {@code w}) dotted with x[cols]. */
  static float dotF32(NativeView w, int r, int cols, float[] x) {
    int base = r * cols * 4;
    w.checkRange(base, cols * 4);
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    FloatVector a2 = FloatVector.zero(F);
    FloatVector a3 = FloatVector.zero(F);
    int c = 0;
    for (int end = cols - 4 * L; c <= end; c += 4 * L) {
      int o = base + c * 4;
      a0 = w.floats(o).fma(FloatVector.fromArray(F, x, c), a0);
      a1 = w.floats(o + 4 * L).fma(FloatVector.fromArray(F, x, c + L), a1);
      a2 = w.floats(o + 8 * L).fma(FloatVector.fromArray(F, x, c + 2 * L), a2);
      a3 = w.floats(o + 12 * L).fma(FloatVector.fromArray(F, x, c + 3 * L), a3);
    }
    for (int end = cols - L; c <= end; c += L) {
      a0 = w.floats(base + c * 4).fma(FloatVector.fromArray(F, x, c), a0);
    }
    return f32Tail(
        w, base, c, cols, a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD), x);
  }

  /**
   * Rows r, r + q, r + 2q and r + 3q of an fp32 matrix dotted with x, into {@code out} at those
   * indices, each bit for bit {@link #dotF32}'s (the same four chains per row, summed alike).
   */
  static void dotF32Quad(NativeView w, int r, int q, int cols, float[] x, float[] out) {
    int b0 = r * cols * 4;
    int b1 = (r + q) * cols * 4;
    int b2 = (r + 2 * q) * cols * 4;
    int b3 = (r + 3 * q) * cols * 4;
    w.checkRange(b0, cols * 4);
    w.checkRange(b3, cols * 4);
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    FloatVector a2 = FloatVector.zero(F);
    FloatVector a3 = FloatVector.zero(F);
    FloatVector c0 = FloatVector.zero(F);
    FloatVector c1 = FloatVector.zero(F);
    FloatVector c2 = FloatVector.zero(F);
    FloatVector c3 = FloatVector.zero(F);
    FloatVector d0 = FloatVector.zero(F);
    FloatVector d1 = FloatVector.zero(F);
    FloatVector d2 = FloatVector.zero(F);
    FloatVector d3 = FloatVector.zero(F);
    FloatVector e0 = FloatVector.zero(F);
    FloatVector e1 = FloatVector.zero(F);
    FloatVector e2 = FloatVector.zero(F);
    FloatVector e3 = FloatVector.zero(F);
    int c = 0;
    for (int end = cols - 4 * L; c <= end; c += 4 * L) {
      FloatVector x0 = FloatVector.fromArray(F, x, c);
      FloatVector x1 = FloatVector.fromArray(F, x, c + L);
      FloatVector x2 = FloatVector.fromArray(F, x, c + 2 * L);
      FloatVector x3 = FloatVector.fromArray(F, x, c + 3 * L);
      int o = c * 4;
      a0 = w.floats(b0 + o).fma(x0, a0);
      a1 = w.floats(b0 + o + 4 * L).fma(x1, a1);
      a2 = w.floats(b0 + o + 8 * L).fma(x2, a2);
      a3 = w.floats(b0 + o + 12 * L).fma(x3, a3);
      c0 = w.floats(b1 + o).fma(x0, c0);
      c1 = w.floats(b1 + o + 4 * L).fma(x1, c1);
      c2 = w.floats(b1 + o + 8 * L).fma(x2, c2);
      c3 = w.floats(b1 + o + 12 * L).fma(x3, c3);
      d0 = w.floats(b2 + o).fma(x0, d0);
      d1 = w.floats(b2 + o + 4 * L).fma(x1, d1);
      d2 = w.floats(b2 + o + 8 * L).fma(x2, d2);
      d3 = w.floats(b2 + o + 12 * L).fma(x3, d3);
      e0 = w.floats(b3 + o).fma(x0, e0);
      e1 = w.floats(b3 + o + 4 * L).fma(x1, e1);
      e2 = w.floats(b3 + o + 8 * L).fma(x2, e2);
      e3 = w.floats(b3 + o + 12 * L).fma(x3, e3);
    }
    for (int end = cols - L; c <= end; c += L) {
      FloatVector x0 = FloatVector.fromArray(F, x, c);
      a0 = w.floats(b0 + c * 4).fma(x0, a0);
      c0 = w.floats(b1 + c * 4).fma(x0, c0);
      d0 = w.floats(b2 + c * 4).fma(x0, d0);
      e0 = w.floats(b3 + c * 4).fma(x0, e0);
    }
    out[r] =
        f32Tail(w, b0, c, cols, a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD), x);
    out[r + q] =
        f32Tail(w, b1, c, cols, c0.add(c1).add(c2.add(c3)).reduceLanes(VectorOperators.ADD), x);
    out[r + 2 * q] =
        f32Tail(w, b2, c, cols, d0.add(d1).add(d2.add(d3)).reduceLanes(VectorOperators.ADD), x);
    out[r + 3 * q] =
        f32Tail(w, b3, c, cols, e0.add(e1).add(e2.add(e3)).reduceLanes(VectorOperators.ADD), x);
  }

  /**
   * Rows r, r + q, r + 2q and r + 3q of an fp32 matrix against four inputs at once (a prompt's
   * rows): {@code oi} receives xi's four products at those indices. Each weight load serves four
   * inputs, so the loop makes one load per FMA instead of 1.25 (x loads included); one FMA chain
   * per (row, input) keeps the 16 accumulators in registers. In L1 on one thread: 72-83 GFLOP/s
   * against 37-43 for {@link #dotF32Quad} an input at a time (768 x 768 and 2048 x 768, 20 inputs).
   * Its sums are not {@link #dotF32Quad}'s bits (one chain a row, not four): decoded tokens, which
   * must give the same bits alone or batched, never take it.
   */
  static void dotF32QuadX4(
      NativeView w,
      int r,
      int q,
      int cols,
      float[] x0,
      float[] x1,
      float[] x2,
      float[] x3,
      float[] o0,
      float[] o1,
      float[] o2,
      float[] o3) {
    int b0 = r * cols * 4;
    int b1 = (r + q) * cols * 4;
    int b2 = (r + 2 * q) * cols * 4;
    int b3 = (r + 3 * q) * cols * 4;
    w.checkRange(b0, cols * 4);
    w.checkRange(b3, cols * 4);
    FloatVector a00 = FloatVector.zero(F);
    FloatVector a01 = FloatVector.zero(F);
    FloatVector a02 = FloatVector.zero(F);
    FloatVector a03 = FloatVector.zero(F);
    FloatVector a10 = FloatVector.zero(F);
    FloatVector a11 = FloatVector.zero(F);
    FloatVector a12 = FloatVector.zero(F);
    FloatVector a13 = FloatVector.zero(F);
    FloatVector a20 = FloatVector.zero(F);
    FloatVector a21 = FloatVector.zero(F);
    FloatVector a22 = FloatVector.zero(F);
    FloatVector a23 = FloatVector.zero(F);
    FloatVector a30 = FloatVector.zero(F);
    FloatVector a31 = FloatVector.zero(F);
    FloatVector a32 = FloatVector.zero(F);
    FloatVector a33 = FloatVector.zero(F);
    int c = 0;
    for (int end = cols - L; c <= end; c += L) {
      FloatVector y0 = FloatVector.fromArray(F, x0, c);
      FloatVector y1 = FloatVector.fromArray(F, x1, c);
      FloatVector y2 = FloatVector.fromArray(F, x2, c);
      FloatVector y3 = FloatVector.fromArray(F, x3, c);
      int o = c * 4;
      FloatVector w0 = w.floats(b0 + o);
      a00 = w0.fma(y0, a00);
      a01 = w0.fma(y1, a01);
      a02 = w0.fma(y2, a02);
      a03 = w0.fma(y3, a03);
      FloatVector w1 = w.floats(b1 + o);
      a10 = w1.fma(y0, a10);
      a11 = w1.fma(y1, a11);
      a12 = w1.fma(y2, a12);
      a13 = w1.fma(y3, a13);
      FloatVector w2 = w.floats(b2 + o);
      a20 = w2.fma(y0, a20);
      a21 = w2.fma(y1, a21);
      a22 = w2.fma(y2, a22);
      a23 = w2.fma(y3, a23);
      FloatVector w3 = w.floats(b3 + o);
      a30 = w3.fma(y0, a30);
      a31 = w3.fma(y1, a31);
      a32 = w3.fma(y2, a32);
      a33 = w3.fma(y3, a33);
    }
    int r1 = r + q;
    int r2 = r + 2 * q;
    int r3 = r + 3 * q;
    o0[r] = f32Tail(w, b0, c, cols, a00.reduceLanes(VectorOperators.ADD), x0);
    o1[r] = f32Tail(w, b0, c, cols, a01.reduceLanes(VectorOperators.ADD), x1);
    o2[r] = f32Tail(w, b0, c, cols, a02.reduceLanes(VectorOperators.ADD), x2);
    o3[r] = f32Tail(w, b0, c, cols, a03.reduceLanes(VectorOperators.ADD), x3);
    o0[r1] = f32Tail(w, b1, c, cols, a10.reduceLanes(VectorOperators.ADD), x0);
    o1[r1] = f32Tail(w, b1, c, cols, a11.reduceLanes(VectorOperators.ADD), x1);
    o2[r1] = f32Tail(w, b1, c, cols, a12.reduceLanes(VectorOperators.ADD), x2);
    o3[r1] = f32Tail(w, b1, c, cols, a13.reduceLanes(VectorOperators.ADD), x3);
    o0[r2] = f32Tail(w, b2, c, cols, a20.reduceLanes(VectorOperators.ADD), x0);
    o1[r2] = f32Tail(w, b2, c, cols, a21.reduceLanes(VectorOperators.ADD), x1);
    o2[r2] = f32Tail(w, b2, c, cols, a22.reduceLanes(VectorOperators.ADD), x2);
    o3[r2] = f32Tail(w, b2, c, cols, a23.reduceLanes(VectorOperators.ADD), x3);
    o0[r3] = f32Tail(w, b3, c, cols, a30.reduceLanes(VectorOperators.ADD), x0);
    o1[r3] = f32Tail(w, b3, c, cols, a31.reduceLanes(VectorOperators.ADD), x1);
    o2[r3] = f32Tail(w, b3, c, cols, a32.reduceLanes(VectorOperators.ADD), x2);
    o3[r3] = f32Tail(w, b3, c, cols, a33.reduceLanes(VectorOperators.ADD), x3);
  }

  /** The lanes' sum {@code s} plus the columns from {@code c} on, one at a time. */
  private static float f32Tail(NativeView w, int base, int c, int cols, float s, float[] x) {
    for (; c < cols; c++) {
      s += w.getFloat(base + c * 4) * x[c];
    }
    return s;
  }

  /**
   * Row r of an F16 matrix [rows, cols] (cols even) dotted with x, given as its even elements
   * {@code xe} and odd elements {@code xo} (cols/2 each), both pre-scaled by {@link #X_SCALE}
   * ({@link #deinterleave}).
   *
   * <p>Decode is memory-bound (issue 20 point 3): the loop does no more per lane than widen and
   * FMA. A half's bits h become sign | magnitude &lt;&lt; 13 by an arithmetic shift right of 3 (the
   * sign's copies land on bits 28..30, which the mask clears); that float is the half's value times
   * 2^-112. Instead of rescaling every weight, x carries 2^64 and the sum 2^48: scaling by powers
   * of two is exact, so the result equals the unscaled sum bit for bit as long as no product is
   * subnormal. Two accumulators per row (even and odd halves); the quad kernel keeps eight chains
   * in flight.
   */
  static float dotF16(NativeView w, int r, int cols, float[] xe, float[] xo) {
    int pairs = cols / 2;
    int base = r * cols * 2;
    w.checkRange(base, cols * 2);
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    int c = 0;
    // written out in the loop, not in helper methods: a vector passed to a method that C2 does not
    // inline is boxed, which costs an allocation per lane group
    for (int end = pairs - L; c <= end; c += L) {
      IntVector v = w.ints(base + c * 4);
      a0 =
          v.lanewise(VectorOperators.LSHL, 16)
              .lanewise(VectorOperators.ASHR, 3)
              .and(SIGN_AND_MAGNITUDE)
              .reinterpretAsFloats()
              .fma(FloatVector.fromArray(F, xe, c), a0);
      a1 =
          v.lanewise(VectorOperators.ASHR, 3)
              .and(SIGN_AND_MAGNITUDE)
              .reinterpretAsFloats()
              .fma(FloatVector.fromArray(F, xo, c), a1);
    }
    return f16Tail(w, base, c, pairs, a0.add(a1).reduceLanes(VectorOperators.ADD), xe, xo);
  }

  /**
   * Rows r, r + q, r + 2q and r + 3q of an F16 matrix dotted with x, into {@code out} at those
   * indices, each bit for bit {@link #dotF16}'s.
   */
  static void dotF16Quad(
      NativeView w, int r, int q, int cols, float[] xe, float[] xo, float[] out) {
    int pairs = cols / 2;
    int b0 = r * cols * 2;
    int b1 = (r + q) * cols * 2;
    int b2 = (r + 2 * q) * cols * 2;
    int b3 = (r + 3 * q) * cols * 2;
    w.checkRange(b0, cols * 2);
    w.checkRange(b3, cols * 2);
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    FloatVector c0 = FloatVector.zero(F);
    FloatVector c1 = FloatVector.zero(F);
    FloatVector d0 = FloatVector.zero(F);
    FloatVector d1 = FloatVector.zero(F);
    FloatVector g0 = FloatVector.zero(F);
    FloatVector g1 = FloatVector.zero(F);
    int c = 0;
    for (int end = pairs - L; c <= end; c += L) {
      FloatVector e = FloatVector.fromArray(F, xe, c);
      FloatVector o = FloatVector.fromArray(F, xo, c);
      IntVector v0 = w.ints(b0 + c * 4);
      a0 =
          v0.lanewise(VectorOperators.LSHL, 16)
              .lanewise(VectorOperators.ASHR, 3)
              .and(SIGN_AND_MAGNITUDE)
              .reinterpretAsFloats()
              .fma(e, a0);
      a1 =
          v0.lanewise(VectorOperators.ASHR, 3)
              .and(SIGN_AND_MAGNITUDE)
              .reinterpretAsFloats()
              .fma(o, a1);
      IntVector v1 = w.ints(b1 + c * 4);
      c0 =
          v1.lanewise(VectorOperators.LSHL, 16)
              .lanewise(VectorOperators.ASHR, 3)
              .and(SIGN_AND_MAGNITUDE)
              .reinterpretAsFloats()
              .fma(e, c0);
      c1 =
          v1.lanewise(VectorOperators.ASHR, 3)
              .and(SIGN_AND_MAGNITUDE)
              .reinterpretAsFloats()
              .fma(o, c1);
      IntVector v2 = w.ints(b2 + c * 4);
      d0 =
          v2.lanewise(VectorOperators.LSHL, 16)
              .lanewise(VectorOperators.ASHR, 3)
              .and(SIGN_AND_MAGNITUDE)
              .reinterpretAsFloats()
              .fma(e, d0);
      d1 =
          v2.lanewise(VectorOperators.ASHR, 3)
              .and(SIGN_AND_MAGNITUDE)
              .reinterpretAsFloats()
              .fma(o, d1);
      IntVector v3 = w.ints(b3 + c * 4);
      g0 =
          v3.lanewise(VectorOperators.LSHL, 16)
              .lanewise(VectorOperators.ASHR, 3)
              .and(SIGN_AND_MAGNITUDE)
              .reinterpretAsFloats()
              .fma(e, g0);
      g1 =
          v3.lanewise(VectorOperators.ASHR, 3)
              .and(SIGN_AND_MAGNITUDE)
              .reinterpretAsFloats()
              .fma(o, g1);
    }
    out[r] = f16Tail(w, b0, c, pairs, a0.add(a1).reduceLanes(VectorOperators.ADD), xe, xo);
    out[r + q] = f16Tail(w, b1, c, pairs, c0.add(c1).reduceLanes(VectorOperators.ADD), xe, xo);
    out[r + 2 * q] = f16Tail(w, b2, c, pairs, d0.add(d1).reduceLanes(VectorOperators.ADD), xe, xo);
    out[r + 3 * q] = f16Tail(w, b3, c, pairs, g0.add(g1).reduceLanes(VectorOperators.ADD), xe, xo);
  }

  /** The lanes' sum {@code s} plus the pairs from {@code c} on, one at a time, unscaled. */
  private static float f16Tail(
      NativeView w, int base, int c, int pairs, float s, float[] xe, float[] xo) {
    for (; c < pairs; c++) {
      int lane = w.getInt(base + c * 4);
      s += halfScaled(lane) * xe[c] + halfScaled(lane >>> 16) * xo[c];
    }
    return s * SUM_SCALE;
  }

  /**
   * Row r of a BF16 matrix [rows, cols] (cols even) dotted with x, given as for {@link #dotF16}. A
   * bfloat16 is the top half of an F32, so each half becomes a float by one op: the low one by a
   * shift left of 16, the high one by masking off the low. The input carries {@link #X_SCALE}, so
   * the sum is scaled back by its inverse (exact, as above).
   */
  static float dotBF16(NativeView w, int r, int cols, float[] xe, float[] xo) {
    int pairs = cols / 2;
    int base = r * cols * 2;
    w.checkRange(base, cols * 2);
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    int c = 0;
    // written out in the loop, not in helper methods: a vector passed to a method that C2 does not
    // inline is boxed, which costs an allocation per lane group
    for (int end = pairs - L; c <= end; c += L) {
      IntVector v = w.ints(base + c * 4);
      a0 =
          v.lanewise(VectorOperators.LSHL, 16)
              .reinterpretAsFloats()
              .fma(FloatVector.fromArray(F, xe, c), a0);
      a1 = v.and(HIGH_HALF).reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, c), a1);
    }
    return bf16Tail(w, base, c, pairs, a0.add(a1).reduceLanes(VectorOperators.ADD), xe, xo);
  }

  /**
   * Rows r, r + q, r + 2q and r + 3q of a BF16 matrix dotted with x, into {@code out} at those
   * indices, each bit for bit {@link #dotBF16}'s.
   */
  static void dotBF16Quad(
      NativeView w, int r, int q, int cols, float[] xe, float[] xo, float[] out) {
    int pairs = cols / 2;
    int b0 = r * cols * 2;
    int b1 = (r + q) * cols * 2;
    int b2 = (r + 2 * q) * cols * 2;
    int b3 = (r + 3 * q) * cols * 2;
    w.checkRange(b0, cols * 2);
    w.checkRange(b3, cols * 2);
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    FloatVector c0 = FloatVector.zero(F);
    FloatVector c1 = FloatVector.zero(F);
    FloatVector d0 = FloatVector.zero(F);
    FloatVector d1 = FloatVector.zero(F);
    FloatVector g0 = FloatVector.zero(F);
    FloatVector g1 = FloatVector.zero(F);
    int c = 0;
    for (int end = pairs - L; c <= end; c += L) {
      FloatVector e = FloatVector.fromArray(F, xe, c);
      FloatVector o = FloatVector.fromArray(F, xo, c);
      IntVector v0 = w.ints(b0 + c * 4);
      a0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, a0);
      a1 = v0.and(HIGH_HALF).reinterpretAsFloats().fma(o, a1);
      IntVector v1 = w.ints(b1 + c * 4);
      c0 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, c0);
      c1 = v1.and(HIGH_HALF).reinterpretAsFloats().fma(o, c1);
      IntVector v2 = w.ints(b2 + c * 4);
      d0 = v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, d0);
      d1 = v2.and(HIGH_HALF).reinterpretAsFloats().fma(o, d1);
      IntVector v3 = w.ints(b3 + c * 4);
      g0 = v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(e, g0);
      g1 = v3.and(HIGH_HALF).reinterpretAsFloats().fma(o, g1);
    }
    out[r] = bf16Tail(w, b0, c, pairs, a0.add(a1).reduceLanes(VectorOperators.ADD), xe, xo);
    out[r + q] = bf16Tail(w, b1, c, pairs, c0.add(c1).reduceLanes(VectorOperators.ADD), xe, xo);
    out[r + 2 * q] = bf16Tail(w, b2, c, pairs, d0.add(d1).reduceLanes(VectorOperators.ADD), xe, xo);
    out[r + 3 * q] = bf16Tail(w, b3, c, pairs, g0.add(g1).reduceLanes(VectorOperators.ADD), xe, xo);
  }

  /**
   * As {@link #dotF32QuadX4} for a BF16 matrix, two inputs at a time (each given as its even and
   * odd elements, pre-scaled as for {@link #dotBF16}): each weight is widened once for both, and
   * one chain per (row, input) takes the even then the odd halves. A prompt of 144 rows after 1152
   * keys took 292 against 330 ms. Four inputs at a time ran 1.6x slower than one, and two at a time
   * in the F16 form (five widening ops a weight vector against BF16's two) 1.9x slower, most likely
   * from C2 spilling vector registers (not confirmed). Not {@link #dotBF16Quad}'s bits: only a
   * prompt's rows take it.
   */
  static void dotBF16QuadX2(
      NativeView w,
      int r,
      int q,
      int cols,
      float[] e0,
      float[] d0,
      float[] e1,
      float[] d1,
      float[] o0,
      float[] o1) {
    int pairs = cols / 2;
    int b0 = r * cols * 2;
    int b1 = (r + q) * cols * 2;
    int b2 = (r + 2 * q) * cols * 2;
    int b3 = (r + 3 * q) * cols * 2;
    w.checkRange(b0, cols * 2);
    w.checkRange(b3, cols * 2);
    FloatVector a00 = FloatVector.zero(F);
    FloatVector a01 = FloatVector.zero(F);
    FloatVector a10 = FloatVector.zero(F);
    FloatVector a11 = FloatVector.zero(F);
    FloatVector a20 = FloatVector.zero(F);
    FloatVector a21 = FloatVector.zero(F);
    FloatVector a30 = FloatVector.zero(F);
    FloatVector a31 = FloatVector.zero(F);
    int c = 0;
    for (int end = pairs - L; c <= end; c += L) {
      FloatVector xe0 = FloatVector.fromArray(F, e0, c);
      FloatVector xo0 = FloatVector.fromArray(F, d0, c);
      FloatVector xe1 = FloatVector.fromArray(F, e1, c);
      FloatVector xo1 = FloatVector.fromArray(F, d1, c);
      IntVector v0 = w.ints(b0 + c * 4);
      FloatVector we0 = v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo0 = v0.and(HIGH_HALF).reinterpretAsFloats();
      a00 = wo0.fma(xo0, we0.fma(xe0, a00));
      a01 = wo0.fma(xo1, we0.fma(xe1, a01));
      IntVector v1 = w.ints(b1 + c * 4);
      FloatVector we1 = v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo1 = v1.and(HIGH_HALF).reinterpretAsFloats();
      a10 = wo1.fma(xo0, we1.fma(xe0, a10));
      a11 = wo1.fma(xo1, we1.fma(xe1, a11));
      IntVector v2 = w.ints(b2 + c * 4);
      FloatVector we2 = v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo2 = v2.and(HIGH_HALF).reinterpretAsFloats();
      a20 = wo2.fma(xo0, we2.fma(xe0, a20));
      a21 = wo2.fma(xo1, we2.fma(xe1, a21));
      IntVector v3 = w.ints(b3 + c * 4);
      FloatVector we3 = v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo3 = v3.and(HIGH_HALF).reinterpretAsFloats();
      a30 = wo3.fma(xo0, we3.fma(xe0, a30));
      a31 = wo3.fma(xo1, we3.fma(xe1, a31));
    }
    int r1 = r + q;
    int r2 = r + 2 * q;
    int r3 = r + 3 * q;
    o0[r] = bf16Tail(w, b0, c, pairs, a00.reduceLanes(VectorOperators.ADD), e0, d0);
    o1[r] = bf16Tail(w, b0, c, pairs, a01.reduceLanes(VectorOperators.ADD), e1, d1);
    o0[r1] = bf16Tail(w, b1, c, pairs, a10.reduceLanes(VectorOperators.ADD), e0, d0);
    o1[r1] = bf16Tail(w, b1, c, pairs, a11.reduceLanes(VectorOperators.ADD), e1, d1);
    o0[r2] = bf16Tail(w, b2, c, pairs, a20.reduceLanes(VectorOperators.ADD), e0, d0);
    o1[r2] = bf16Tail(w, b2, c, pairs, a21.reduceLanes(VectorOperators.ADD), e1, d1);
    o0[r3] = bf16Tail(w, b3, c, pairs, a30.reduceLanes(VectorOperators.ADD), e0, d0);
    o1[r3] = bf16Tail(w, b3, c, pairs, a31.reduceLanes(VectorOperators.ADD), e1, d1);
  }

  /**
   * The lanes' sum {@code s} plus the pairs from {@code c} on, one at a time, unscaled (it takes
   * the sum, not the vector: a vector passed to a method C2 does not inline is boxed).
   */
  private static float bf16Tail(
      NativeView w, int base, int c, int pairs, float s, float[] xe, float[] xo) {
    for (; c < pairs; c++) {
      int lane = w.getInt(base + c * 4);
      s +=
          Float.intBitsToFloat(lane << 16) * xe[c] + Float.intBitsToFloat(lane & HIGH_HALF) * xo[c];
    }
    return s * UNSCALE_X;
  }

  /** The high bfloat16 of a lane, in place (the low one is shifted up). */
  private static final int HIGH_HALF = 0xFFFF0000;

  private static final float UNSCALE_X = 0x1.0p-64f;

  /** The bfloat16 in the low 16 bits of {@code b} as F32 (exact). */
  static float bf16(int b) {
    return Float.intBitsToFloat(b << 16);
  }

  /** 2^112: rebases an F16 exponent (bias 15) to F32's (bias 127), subnormals included. */
  private static final float REBASE = 0x1.0p112f;

  /** The rebase split between the input (2^64, applied once per vector) and the sum (2^48). */
  static final float X_SCALE = 0x1.0p64f;

  private static final float SUM_SCALE = 0x1.0p48f;

  /**
   * The F16 in the low 16 bits of {@code h} as F32: sign and magnitude bits moved to F32's
   * positions and scaled by 2^112 (exact for normals, subnormals and signed zeros alike). F16
   * infinities and NaNs never occur: the load refuses values beyond F16's range.
   */
  static float half(int h) {
    return halfScaled(h) * REBASE;
  }

  /** {@link #half} times 2^-112: the bits moved, not yet rebased. */
  private static float halfScaled(int h) {
    return Float.intBitsToFloat(((h << 16) >> 3) & SIGN_AND_MAGNITUDE);
  }

  /** The sign bit and the 15 magnitude bits of a half, moved to an F32's positions. */
  private static final int SIGN_AND_MAGNITUDE = 0x8FFFE000;

  /**
   * Splits x[n] (n even) into its even and odd elements times {@link #X_SCALE}, the input layout of
   * {@link #dotF16}.
   */
  static void deinterleave(float[] x, int n, float[] even, float[] odd) {
    for (int i = 0, j = 0; i < n; i += 2, j++) {
      even[j] = x[i] * X_SCALE;
      odd[j] = x[i + 1] * X_SCALE;
    }
  }

  /** Lanes of a float vector: the rows one {@link #attendLanes} call takes. */
  static final int LANES = L;

  private static final FloatVector LANE_INDEX = laneIndex();

  private static FloatVector laneIndex() {
    float[] a = new float[L];
    for (int j = 0; j < L; j++) {
      a[j] = j;
    }
    return FloatVector.fromArray(F, a, 0);
  }

  /**
   * Causal attention of one head for up to {@link #LANES} consecutive query rows at once, one row
   * per lane (a prompt's rows, spec §4.3 for T > 1): lane j is the query at position {@code first +
   * j} and reads keys 0..first+j. Lanes hold rows so that every key and value is read once for all
   * rows and no dot product needs a horizontal sum.
   *
   * <p>{@code qt} at {@code qAt}: the queries transposed, [hd, L] (lanes past {@code rows} zero).
   * {@code k} and {@code v}: the cache's views, position t's row at byte {@code kvByte + t*hd*4}.
   * {@code scores} at {@code sAt}: scratch of [first + rows + 1, L]. {@code out} at {@code oAt}
   * receives [hd, L]: Σ_t softmax_t(q·k_t / scale) v_t per lane (fp32 softmax, spec §0).
   */
  static void attendLanes(
      float[] qt,
      int qAt,
      int hd,
      int rows,
      int first,
      NativeView k,
      NativeView v,
      int kvByte,
      float scale,
      float[] scores,
      int sAt,
      float[] out,
      int oAt) {
    int count = first + rows; // keys 0..first+rows-1
    k.checkRange(kvByte, count * hd * 4);
    v.checkRange(kvByte, count * hd * 4);
    // three loops in three methods: one method holding all three ran 12x slower (900 against 74
    // ns a key for 16 rows of 64 dims), C2 leaving its vectors boxed
    laneScores(qt, qAt, hd, count, k, kvByte, scale, scores, sAt);
    laneSoftmax(scores, sAt, count, first);
    laneValues(scores, sAt, count, hd, v, kvByte, out, oAt);
  }

  /** q·k_t / scale for keys 0..count-1, rows in lanes: [count, L] at {@code sAt}. */
  private static void laneScores(
      float[] qt,
      int qAt,
      int hd,
      int count,
      NativeView k,
      int kvByte,
      float scale,
      float[] scores,
      int sAt) {
    int t = 0;
    for (; t + 1 < count; t += 2) { // two keys a pass: eight FMA chains, each q load used twice
      int at = kvByte + t * hd * 4;
      int at2 = at + hd * 4;
      FloatVector a0 = FloatVector.zero(F);
      FloatVector a1 = FloatVector.zero(F);
      FloatVector a2 = FloatVector.zero(F);
      FloatVector a3 = FloatVector.zero(F);
      FloatVector b0 = FloatVector.zero(F);
      FloatVector b1 = FloatVector.zero(F);
      FloatVector b2 = FloatVector.zero(F);
      FloatVector b3 = FloatVector.zero(F);
      int d = 0;
      for (; d + 4 <= hd; d += 4) {
        FloatVector q0 = FloatVector.fromArray(F, qt, qAt + d * L);
        FloatVector q1 = FloatVector.fromArray(F, qt, qAt + (d + 1) * L);
        FloatVector q2 = FloatVector.fromArray(F, qt, qAt + (d + 2) * L);
        FloatVector q3 = FloatVector.fromArray(F, qt, qAt + (d + 3) * L);
        a0 = q0.fma(FloatVector.broadcast(F, k.floatAt(at + d * 4)), a0);
        a1 = q1.fma(FloatVector.broadcast(F, k.floatAt(at + d * 4 + 4)), a1);
        a2 = q2.fma(FloatVector.broadcast(F, k.floatAt(at + d * 4 + 8)), a2);
        a3 = q3.fma(FloatVector.broadcast(F, k.floatAt(at + d * 4 + 12)), a3);
        b0 = q0.fma(FloatVector.broadcast(F, k.floatAt(at2 + d * 4)), b0);
        b1 = q1.fma(FloatVector.broadcast(F, k.floatAt(at2 + d * 4 + 4)), b1);
        b2 = q2.fma(FloatVector.broadcast(F, k.floatAt(at2 + d * 4 + 8)), b2);
        b3 = q3.fma(FloatVector.broadcast(F, k.floatAt(at2 + d * 4 + 12)), b3);
      }
      for (; d < hd; d++) {
        FloatVector q0 = FloatVector.fromArray(F, qt, qAt + d * L);
        a0 = q0.fma(FloatVector.broadcast(F, k.floatAt(at + d * 4)), a0);
        b0 = q0.fma(FloatVector.broadcast(F, k.floatAt(at2 + d * 4)), b0);
      }
      a0.add(a1).add(a2.add(a3)).div(scale).intoArray(scores, sAt + t * L);
      b0.add(b1).add(b2.add(b3)).div(scale).intoArray(scores, sAt + (t + 1) * L);
    }
    for (; t < count; t++) {
      int at = kvByte + t * hd * 4;
      FloatVector a0 = FloatVector.zero(F);
      for (int d = 0; d < hd; d++) {
        a0 =
            FloatVector.fromArray(F, qt, qAt + d * L)
                .fma(FloatVector.broadcast(F, k.floatAt(at + d * 4)), a0);
      }
      a0.div(scale).intoArray(scores, sAt + t * L);
    }
  }

  /**
   * The causal mask (key t > first comes after the rows of lanes j < t - first), then softmax's
   * numerators in place; their sums go to row {@code count} of the scores.
   */
  private static void laneSoftmax(float[] scores, int sAt, int count, int first) {
    for (int t = first + 1; t < count; t++) {
      FloatVector.fromArray(F, scores, sAt + t * L)
          .blend(
              Float.NEGATIVE_INFINITY, LANE_INDEX.compare(VectorOperators.LT, (float) (t - first)))
          .intoArray(scores, sAt + t * L);
    }
    FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
    for (int t = 0; t < count; t++) {
      max = max.max(FloatVector.fromArray(F, scores, sAt + t * L));
    }
    FloatVector sum = FloatVector.zero(F);
    for (int t = 0; t < count; t++) {
      FloatVector e =
          FloatVector.fromArray(F, scores, sAt + t * L).sub(max).lanewise(VectorOperators.EXP);
      e.intoArray(scores, sAt + t * L);
      sum = sum.add(e);
    }
    sum.intoArray(scores, sAt + count * L);
  }

  /** Σ_t p_t v_t / Σ_t p_t per lane, [hd, L] at {@code oAt}. */
  private static void laneValues(
      float[] scores, int sAt, int count, int hd, NativeView v, int kvByte, float[] out, int oAt) {
    FloatVector sum = FloatVector.fromArray(F, scores, sAt + count * L);
    int d = 0;
    for (; d + 4 <= hd; d += 4) { // four output columns a pass over the keys
      FloatVector o0 = FloatVector.zero(F);
      FloatVector o1 = FloatVector.zero(F);
      FloatVector o2 = FloatVector.zero(F);
      FloatVector o3 = FloatVector.zero(F);
      for (int t = 0; t < count; t++) {
        FloatVector p = FloatVector.fromArray(F, scores, sAt + t * L);
        int at = kvByte + (t * hd + d) * 4;
        o0 = p.fma(FloatVector.broadcast(F, v.floatAt(at)), o0);
        o1 = p.fma(FloatVector.broadcast(F, v.floatAt(at + 4)), o1);
        o2 = p.fma(FloatVector.broadcast(F, v.floatAt(at + 8)), o2);
        o3 = p.fma(FloatVector.broadcast(F, v.floatAt(at + 12)), o3);
      }
      o0.div(sum).intoArray(out, oAt + d * L);
      o1.div(sum).intoArray(out, oAt + (d + 1) * L);
      o2.div(sum).intoArray(out, oAt + (d + 2) * L);
      o3.div(sum).intoArray(out, oAt + (d + 3) * L);
    }
    for (; d < hd; d++) {
      FloatVector o0 = FloatVector.zero(F);
      for (int t = 0; t < count; t++) {
        o0 =
            FloatVector.fromArray(F, scores, sAt + t * L)
                .fma(FloatVector.broadcast(F, v.floatAt(kvByte + (t * hd + d) * 4)), o0);
      }
      o0.div(sum).intoArray(out, oAt + d * L);
    }
  }

  /** q[from..from+n) · k[kFrom..kFrom+n) where k is an fp32 byte view (a KV cache row). */
  static float dotF32At(float[] q, int from, NativeView k, int kByte, int n) {
    k.checkRange(kByte, n * 4);
    FloatVector a0 = FloatVector.zero(F);
    int c = 0;
    for (int end = n - L; c <= end; c += L) {
      a0 = k.floats(kByte + c * 4).fma(FloatVector.fromArray(F, q, from + c), a0);
    }
    float s = a0.reduceLanes(VectorOperators.ADD);
    for (; c < n; c++) {
      s += k.getFloat(kByte + c * 4) * q[from + c];
    }
    return s;
  }

  /**
   * The MLP's gate (spec §4.2): {@code g[i] = silu(g[i]) * u[i]} for i < n, silu(g) = g / (1 +
   * exp(-g)). The exponentials are the Vector API's, as {@link #softmaxShifted}'s (Math.exp cost 14
   * ns an element here, a decode step's 24,576 of them about 2% of its time); a tail past the last
   * whole vector takes Math.exp.
   */
  static void siluTimes(float[] g, float[] u, int n) {
    FloatVector one = FloatVector.broadcast(F, 1f);
    int i = 0;
    for (int end = n - L; i <= end; i += L) {
      FloatVector x = FloatVector.fromArray(F, g, i);
      FloatVector sigmoid = one.div(one.add(x.neg().lanewise(VectorOperators.EXP)));
      x.mul(sigmoid).mul(FloatVector.fromArray(F, u, i)).intoArray(g, i);
    }
    for (; i < n; i++) {
      g[i] = g[i] * (1f / (1f + (float) Math.exp(-g[i]))) * u[i];
    }
  }

  /**
   * Softmax's numerators and their normalisation in place (spec §0, fp32): s[from..from+count)
   * becomes exp(s - max) / Σ exp(s - max). The exponentials are the Vector API's (within an ulp of
   * {@code Math.exp}, about 35x faster per element here: {@code DecodeBench 5 0 1 exp}); the
   * division is the same IEEE one per element as a scalar loop's.
   */
  static void softmaxShifted(float[] s, int from, int count, float max) {
    FloatVector m = FloatVector.broadcast(F, max);
    FloatVector acc = FloatVector.zero(F);
    int t = 0;
    for (int end = count - L; t <= end; t += L) {
      FloatVector e = FloatVector.fromArray(F, s, from + t).sub(m).lanewise(VectorOperators.EXP);
      e.intoArray(s, from + t);
      acc = acc.add(e);
    }
    float sum = acc.reduceLanes(VectorOperators.ADD);
    for (; t < count; t++) {
      float e = (float) Math.exp(s[from + t] - max);
      s[from + t] = e;
      sum += e;
    }
    FloatVector d = FloatVector.broadcast(F, sum);
    t = 0;
    for (int end = count - L; t <= end; t += L) {
      FloatVector.fromArray(F, s, from + t).div(d).intoArray(s, from + t);
    }
    for (; t < count; t++) {
      s[from + t] /= sum;
    }
  }

  /**
   * out[from..from+n) = Σ_t p[pFrom+t] · row t of v, the rows n floats apart from byte {@code
   * vByte} of an fp32 byte view (one KV head's cached values): attention's A·V for one query row.
   * The sum for four vectors of the row at a time stays in registers across all positions, so no
   * position waits on the store of the one before (an axpy per position into {@code out} did).
   */
  static void weightedRows(
      float[] p, int pFrom, int count, NativeView v, int vByte, int n, float[] out, int from) {
    int rowBytes = n * 4;
    if (count > 0) {
      v.checkRange(vByte, (count - 1) * rowBytes + n * 4);
    }
    int c = 0;
    for (; c + 4 * L <= n; c += 4 * L) {
      FloatVector o0 = FloatVector.zero(F);
      FloatVector o1 = FloatVector.zero(F);
      FloatVector o2 = FloatVector.zero(F);
      FloatVector o3 = FloatVector.zero(F);
      int at = vByte + c * 4;
      for (int t = 0; t < count; t++, at += rowBytes) {
        FloatVector w = FloatVector.broadcast(F, p[pFrom + t]);
        o0 = v.floats(at).fma(w, o0);
        o1 = v.floats(at + 4 * L).fma(w, o1);
        o2 = v.floats(at + 8 * L).fma(w, o2);
        o3 = v.floats(at + 12 * L).fma(w, o3);
      }
      o0.intoArray(out, from + c);
      o1.intoArray(out, from + c + L);
      o2.intoArray(out, from + c + 2 * L);
      o3.intoArray(out, from + c + 3 * L);
    }
    for (; c + L <= n; c += L) {
      FloatVector o0 = FloatVector.zero(F);
      int at = vByte + c * 4;
      for (int t = 0; t < count; t++, at += rowBytes) {
        o0 = v.floats(at).fma(FloatVector.broadcast(F, p[pFrom + t]), o0);
      }
      o0.intoArray(out, from + c);
    }
    for (; c < n; c++) {
      float o = 0;
      for (int t = 0, at = vByte + c * 4; t < count; t++, at += rowBytes) {
        o += p[pFrom + t] * v.floatAt(at);
      }
      out[from + c] = o;
    }
  }

  /** Native-order little-endian check: the views below assume it (x86 and aarch64 are). */
  static boolean littleEndian() {
    return ByteOrder.nativeOrder() == LE;
  }
}
