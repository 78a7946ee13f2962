package io.decostream.schemas;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Little-endian tensor codecs for {@link Tensor} (design.md: "Tensors: little-endian bytes + shape
 * + dtype"). FrameTokens carry F16 on the wire; Java 17 has no {@code Float.floatToFloat16}, so the
 * IEEE 754 binary16 conversion is implemented here: round to nearest, ties to even, with
 * subnormals, infinities and NaN. BF16 is truncation of the F32 bits with the same rounding.
 */
public final class Tensors {

  private Tensors() {}

  // ---------------------------------------------------------------- scalar conversions

  /** IEEE binary16 bits (in the low 16 bits) of the nearest half to {@code f}, ties to even. */
  public static short floatToHalf(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xFF;
    int mant = bits & 0x7FFFFF;
    if (exp == 0xFF) {
      if (mant == 0) {
        return (short) (sign | 0x7C00); // +-infinity
      }
      int payload = mant >>> 13;
      return (short) (sign | 0x7C00 | (payload == 0 ? 0x200 : payload)); // NaN stays NaN
    }
    int e = exp - 127 + 15; // biased half exponent
    if (e >= 0x1F) {
      return (short) (sign | 0x7C00); // |f| >= 65536: overflow to infinity
    }
    if (e <= 0) {
      // half subnormal: value = m * 2^-24 with m = full * 2^(e - 14)
      if (e < -10) {
        return (short) sign; // |f| < 2^-25: rounds to zero
      }
      int full = mant | 0x800000;
      int shift = 14 - e; // 14 .. 24
      int m = full >>> shift;
      int rem = full & ((1 << shift) - 1);
      int halfway = 1 << (shift - 1);
      if (rem > halfway || (rem == halfway && (m & 1) == 1)) {
        m++; // may carry into the smallest normal (0x0400): still the right encoding
      }
      return (short) (sign | m);
    }
    int h = (e << 10) | (mant >>> 13);
    int rem = mant & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1)) {
      h++; // a mantissa carry bumps the exponent; 0x7BFF + 1 = 0x7C00 is infinity, as IEEE wants
    }
    return (short) (sign | h);
  }

  /** The float value of IEEE binary16 bits (low 16 bits of {@code half}); exact. */
  public static float halfToFloat(short half) {
    int h = half & 0xFFFF;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1F;
    int mant = h & 0x3FF;
    if (exp == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
    }
    if (exp == 0) {
      float v = mant * 0x1p-24f; // zero or subnormal, exact
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }

  /** bfloat16 bits of {@code f}: the top 16 F32 bits, rounded to nearest even; NaN stays NaN. */
  public static short floatToBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if ((bits & 0x7F800000) == 0x7F800000 && (bits & 0x7FFFFF) != 0) {
      return (short) ((bits >>> 16) | 0x40); // quiet NaN, never rounds into infinity
    }
    int rounding = 0x7FFF + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }

  /** The float value of bfloat16 bits; exact. */
  public static float bf16ToFloat(short bf16) {
    return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
  }

  // ---------------------------------------------------------------- array codecs

  /** Little-endian F16 bytes of {@code data} (2 bytes per element). */
  public static byte[] toF16(float[] data) {
    ByteBuffer b = ByteBuffer.allocate(data.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : data) {
      b.putShort(floatToHalf(v));
    }
    return b.array();
  }

  /** Floats from little-endian F16 bytes. */
  public static float[] fromF16(byte[] bytes) {
    requireMultiple(bytes, 2, "F16");
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[bytes.length / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = halfToFloat(b.getShort());
    }
    return out;
  }

  /** Little-endian BF16 bytes of {@code data}. */
  public static byte[] toBF16(float[] data) {
    ByteBuffer b = ByteBuffer.allocate(data.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : data) {
      b.putShort(floatToBf16(v));
    }
    return b.array();
  }

  /** Floats from little-endian BF16 bytes. */
  public static float[] fromBF16(byte[] bytes) {
    requireMultiple(bytes, 2, "BF16");
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[bytes.length / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = bf16ToFloat(b.getShort());
    }
    return out;
  }

  /** Little-endian F32 bytes of {@code data}. */
  public static byte[] toF32(float[] data) {
    ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(data);
    return b.array();
  }

  /** Floats from little-endian F32 bytes. */
  public static float[] fromF32(byte[] bytes) {
    requireMultiple(bytes, 4, "F32");
    float[] out = new float[bytes.length / 4];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  // ---------------------------------------------------------------- Tensor records

  /** Bytes per element of {@code dtype}. */
  public static int sizeOf(DType dtype) {
    switch (Objects.requireNonNull(dtype, "dtype")) {
      case F16:
      case BF16:
        return 2;
      case F32:
        return 4;
      default:
        throw new IllegalArgumentException("unsupported dtype " + dtype);
    }
  }

  /** Number of elements of {@code shape} (1 for a scalar); rejects negative dims and overflow. */
  public static long elementCount(List<Integer> shape) {
    long n = 1;
    for (Integer d : shape) {
      if (d == null || d < 0) {
        throw new IllegalArgumentException(
            "tensor shape " + shape + " has a negative or null dimension");
      }
      n = Math.multiplyExact(n, d.longValue());
    }
    return n;
  }

  /** A Tensor holding {@code data} with {@code shape}, stored as {@code dtype}. */
  public static Tensor encode(float[] data, int[] shape, DType dtype) {
    Objects.requireNonNull(data, "data");
    Objects.requireNonNull(shape, "shape");
    List<Integer> dims = new ArrayList<>(shape.length);
    for (int d : shape) {
      dims.add(d);
    }
    long n = elementCount(dims);
    if (n != data.length) {
      throw new IllegalArgumentException(
          "tensor shape " + dims + " needs " + n + " elements, got " + data.length);
    }
    byte[] bytes;
    switch (Objects.requireNonNull(dtype, "dtype")) {
      case F16:
        bytes = toF16(data);
        break;
      case BF16:
        bytes = toBF16(data);
        break;
      case F32:
        bytes = toF32(data);
        break;
      default:
        throw new IllegalArgumentException("unsupported dtype " + dtype);
    }
    return Tensor.newBuilder()
        .setDtype(dtype)
        .setShape(dims)
        .setData(ByteBuffer.wrap(bytes))
        .build();
  }

  /**
   * The elements of {@code t} as floats, after checking data length = product(shape) *
   * sizeof(dtype).
   */
  public static float[] decode(Tensor t) {
    Objects.requireNonNull(t, "tensor");
    long n = elementCount(t.getShape());
    long expected = n * sizeOf(t.getDtype());
    byte[] bytes = bytesOf(t.getData());
    if (bytes.length != expected) {
      throw new IllegalArgumentException(
          "tensor "
              + t.getDtype()
              + t.getShape()
              + " should hold "
              + expected
              + " bytes, has "
              + bytes.length);
    }
    switch (t.getDtype()) {
      case F16:
        return fromF16(bytes);
      case BF16:
        return fromBF16(bytes);
      case F32:
        return fromF32(bytes);
      default:
        throw new IllegalArgumentException("unsupported dtype " + t.getDtype());
    }
  }

  /** The shape of {@code t} as an int array. */
  public static int[] shapeOf(Tensor t) {
    return t.getShape().stream().mapToInt(Integer::intValue).toArray();
  }

  /** The remaining bytes of {@code buf}, without moving its position. */
  public static byte[] bytesOf(ByteBuffer buf) {
    ByteBuffer dup = buf.duplicate();
    byte[] out = new byte[dup.remaining()];
    dup.get(out);
    return out;
  }

  private static void requireMultiple(byte[] bytes, int size, String dtype) {
    Objects.requireNonNull(bytes, "bytes");
    if (bytes.length % size != 0) {
      throw new IllegalArgumentException(
          dtype + " data length " + bytes.length + " is not a multiple of " + size);
    }
  }
}
