package io.decostream.nn.safetensors;

/**
 * Exact 16-bit float conversions (spec §6). Java 17 has no {@code Float.float16ToFloat}, and DJL
 * 0.36 aborts the JVM on BF16 arrays, so checkpoints are widened to F32 here, in Java.
 *
 * <p>Narrowing (used by the writer for test fixtures and tiny packs) rounds to nearest-even and
 * writes canonical NaNs, the same as PyTorch's {@code .half()} / {@code .bfloat16()}.
 */
public final class HalfFloats {
  private HalfFloats() {}

  /** IEEE binary16 bits to float (exact): subnormals, infinities and NaN included. */
  public static float f16ToFloat(short h) {
    int bits = h & 0xFFFF;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1F;
    int mant = bits & 0x3FF;
    if (exp == 0) {
      // subnormal or zero: m * 2^-24, exact in float
      float v = mant * 0x1.0p-24f;
      return sign == 0 ? v : -v;
    }
    if (exp == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
    }
    return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }

  /** bfloat16 bits to float (exact): the upper half of an F32. */
  public static float bf16ToFloat(short b) {
    return Float.intBitsToFloat((b & 0xFFFF) << 16);
  }

  /**
   * Float to IEEE binary16 bits, round to nearest-even, overflow to infinity, canonical NaN 0x7E00.
   */
  public static short floatToF16(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xFF;
    int mant = bits & 0x7FFFFF;
    if (exp == 0xFF) {
      return (short) (mant == 0 ? sign | 0x7C00 : sign | 0x7E00);
    }
    int e = exp - 127 + 15;
    if (e >= 0x1F) {
      return (short) (sign | 0x7C00);
    }
    if (e <= 0) {
      if (e < -10) {
        return (short) sign; // below half the smallest subnormal: rounds to zero
      }
      int m = mant | 0x800000;
      int shift = 14 - e;
      int half = m >>> shift;
      int rem = m & ((1 << shift) - 1);
      int halfway = 1 << (shift - 1);
      if (rem > halfway || (rem == halfway && (half & 1) == 1)) {
        half++; // a carry into the exponent field gives the smallest normal, as it should
      }
      return (short) (sign | half);
    }
    int out = sign | (e << 10) | (mant >>> 13);
    int rem = mant & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (out & 1) == 1)) {
      out++; // may carry into the exponent, up to infinity: correct IEEE behaviour
    }
    return (short) out;
  }

  /**
   * Float to bfloat16 bits, round to nearest-even, canonical NaN 0x7FC0 (PyTorch's c10::BFloat16
   * rule).
   */
  public static short floatToBf16(float f) {
    if (Float.isNaN(f)) {
      return (short) 0x7FC0;
    }
    int bits = Float.floatToRawIntBits(f);
    int bias = 0x7FFF + ((bits >>> 16) & 1);
    return (short) ((bits + bias) >>> 16);
  }
}
