package io.decostream.nn.image;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API loop of {@link PilBicubic}'s passes (loaded only when {@code jdk.incubator.vector}
 * is present): one output row of a pass, as many pixels at a time as the machine's int vector has
 * lanes, each the int32 sum of its taps times the fixed-point weights, then Pillow's clip8.
 */
final class ResampleKernels {
  private ResampleKernels() {}

  private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  // the bytes that widen to one int vector
  private static final VectorSpecies<Byte> B =
      VectorSpecies.of(byte.class, VectorShape.forBitSize(I.length() * 8));
  private static final int SHIFT = PilBicubic.PRECISION_BITS;

  /**
   * out[to + j] = clip8(2^21 + Σ_t in[from + t * len + j] * k[kb + t]) for j from 0 while a whole
   * vector fits; returns the first j not written (the caller finishes the row).
   */
  static int row(byte[] in, int from, int len, int n, int[] k, int kb, byte[] out, int to) {
    int lanes = I.length();
    IntVector half = IntVector.broadcast(I, 1 << (SHIFT - 1));
    int j = 0;
    for (; j <= len - lanes; j += lanes) {
      IntVector acc = half;
      for (int t = 0; t < n; t++) {
        IntVector v =
            (IntVector)
                ByteVector.fromArray(B, in, from + t * len + j)
                    .convertShape(VectorOperators.B2I, I, 0);
        acc = acc.add(v.and(0xFF).mul(k[kb + t]));
      }
      acc = acc.lanewise(VectorOperators.ASHR, SHIFT).max(0).min(255);
      // I2B keeps the low byte, as the scalar (byte) cast does
      ((ByteVector) acc.convertShape(VectorOperators.I2B, B, 0)).intoArray(out, to + j);
    }
    return j;
  }
}
