package io.decostream.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TensorsTest {

  private static int half(float f) {
    return Tensors.floatToHalf(f) & 0xFFFF;
  }

  @Test
  void knownHalfBitPatterns() {
    assertEquals(0x3C00, half(1.0f));
    assertEquals(0xBC00, half(-1.0f));
    assertEquals(0x0000, half(0.0f));
    assertEquals(0x8000, half(-0.0f));
    assertEquals(0x7BFF, half(65504f)); // largest finite half
    assertEquals(0x0400, half(6.1035156e-5f)); // smallest normal 2^-14
    assertEquals(0x0001, half(5.9604645e-8f)); // smallest subnormal 2^-24
    assertEquals(0x03FF, half(6.097555e-5f)); // largest subnormal
    assertEquals(0x3555, half(1f / 3f));
    assertEquals(0x7C00, half(Float.POSITIVE_INFINITY));
    assertEquals(0xFC00, half(Float.NEGATIVE_INFINITY));
    assertEquals(0x7C00, half(1e6f)); // overflow
    assertEquals(0x7C00, half(65520f)); // halfway between 65504 and 2^16: ties to even -> infinity
    assertEquals(0x7BFF, half(65519.996f)); // just below the halfway point
    int nan = half(Float.NaN);
    assertEquals(0x7C00, nan & 0x7C00);
    assertTrue((nan & 0x3FF) != 0, "NaN must stay NaN");
    assertTrue(Float.isNaN(Tensors.halfToFloat((short) nan)));
  }

  @Test
  void roundsHalfwayCasesToEven() {
    float ulpAt1 = 0x1p-10f; // spacing of halves in [1, 2)
    // 1 + ulp/2 is halfway between 0x3C00 (even) and 0x3C01: ties to even -> 0x3C00
    assertEquals(0x3C00, half(1f + ulpAt1 / 2));
    // 1 + 3ulp/2 is halfway between 0x3C01 (odd) and 0x3C02 (even) -> 0x3C02
    assertEquals(0x3C02, half(1f + 3 * ulpAt1 / 2));
    // just above halfway rounds up
    assertEquals(0x3C01, half(Math.nextUp(1f + ulpAt1 / 2)));
    // subnormal ties: 2^-25 is halfway between 0 and 2^-24 -> 0; 3*2^-25 between 1 and 2 -> 2
    assertEquals(0x0000, half(0x1p-25f));
    assertEquals(0x0002, half(3 * 0x1p-25f));
    assertEquals(0x0001, half(Math.nextUp(0x1p-25f)));
    // rounding up across the subnormal/normal boundary
    assertEquals(0x0400, half(Math.nextDown(0x1p-14f)));
  }

  @Test
  void everyHalfRoundTripsExactly() {
    for (int h = 0; h < 0x10000; h++) {
      float f = Tensors.halfToFloat((short) h);
      if (Float.isNaN(f)) {
        assertTrue(Float.isNaN(Tensors.halfToFloat(Tensors.floatToHalf(f))));
        continue;
      }
      assertEquals(h, half(f), "half 0x" + Integer.toHexString(h));
    }
  }

  /**
   * Independent oracle: the nearest half by exhaustive comparison in double arithmetic, ties to
   * even.
   */
  @Test
  void matchesNearestHalfOracleOnRandomFloats() {
    float[] finite = new float[0x7C00];
    for (int h = 0; h < 0x7C00; h++) {
      finite[h] = Tensors.halfToFloat((short) h); // ascending positive halves
    }
    Random rnd = new Random(1234);
    for (int i = 0; i < 20000; i++) {
      float f = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(40) - 26));
      double a = Math.abs((double) f);
      if (a >= 65520) {
        continue;
      }
      int lo = 0;
      int hi = finite.length - 1;
      while (lo < hi) { // first index with finite[idx] >= a
        int mid = (lo + hi) >>> 1;
        if (finite[mid] >= a) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      int best = lo;
      if (lo > 0) {
        double up = finite[lo] - a;
        double down = a - finite[lo - 1];
        if (down < up || (down == up && ((lo - 1) & 1) == 0)) {
          best = lo - 1;
        }
      }
      int expected = best | (f < 0 || (f == 0 && 1 / f < 0) ? 0x8000 : 0);
      assertEquals(expected, half(f), "f=" + f);
    }
  }

  @Test
  void f16RoundTripErrorWithinHalfUlp() {
    Random rnd = new Random(7);
    float[] data = new float[5000];
    for (int i = 0; i < data.length; i++) {
      data[i] = (float) (rnd.nextGaussian() * 10);
    }
    byte[] bytes = Tensors.toF16(data);
    assertEquals(data.length * 2, bytes.length);
    float[] back = Tensors.fromF16(bytes);
    for (int i = 0; i < data.length; i++) {
      if (Math.abs(data[i]) >= 0x1p-14f) { // normal range: relative error <= 2^-11
        assertTrue(
            Math.abs(back[i] - data[i]) <= Math.abs(data[i]) * 0x1p-11f,
            data[i] + " -> " + back[i]);
      }
    }
    // little-endian layout: 1.0 = 0x3C00 -> bytes 00 3C
    assertArrayEquals(new byte[] {0x00, 0x3C}, Tensors.toF16(new float[] {1f}));
  }

  @Test
  void f32AndBf16Codecs() {
    float[] data = {1f, -2.5f, 3.1415927f, Float.MIN_VALUE, -0f};
    assertArrayEquals(data, Tensors.fromF32(Tensors.toF32(data)));
    assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3F}, Tensors.toF32(new float[] {1f}));
    assertEquals((short) 0x3F80, Tensors.floatToBf16(1f));
    assertEquals((short) 0x4049, Tensors.floatToBf16(3.1415927f)); // 0x40490FDB rounds down
    assertEquals(
        (short) 0x3F80, Tensors.floatToBf16(Float.intBitsToFloat(0x3F808000))); // tie -> even
    assertEquals(
        (short) 0x3F82, Tensors.floatToBf16(Float.intBitsToFloat(0x3F818000))); // tie -> even (up)
    assertTrue(Float.isNaN(Tensors.bf16ToFloat(Tensors.floatToBf16(Float.NaN))));
    assertEquals(-2.5f, Tensors.fromBF16(Tensors.toBF16(new float[] {-2.5f}))[0]);
  }

  @Test
  void tensorEncodeDecodeChecksShape() {
    float[] data = {1, 2, 3, 4, 5, 6};
    for (DType dt : DType.values()) {
      Tensor t = Tensors.encode(data, new int[] {2, 3}, dt);
      assertEquals(List.of(2, 3), t.getShape());
      assertEquals(6 * Tensors.sizeOf(dt), t.getData().remaining());
      assertArrayEquals(data, Tensors.decode(t), dt.toString());
      assertArrayEquals(new int[] {2, 3}, Tensors.shapeOf(t));
    }
    IllegalArgumentException wrongCount =
        assertThrows(
            IllegalArgumentException.class,
            () -> Tensors.encode(data, new int[] {4, 2}, DType.F16));
    assertTrue(
        wrongCount.getMessage().contains("needs 8 elements, got 6"), wrongCount.getMessage());
    Tensor bad =
        Tensor.newBuilder()
            .setDtype(DType.F32)
            .setShape(List.of(2, 3))
            .setData(ByteBuffer.wrap(new byte[12]))
            .build();
    IllegalArgumentException wrongBytes =
        assertThrows(IllegalArgumentException.class, () -> Tensors.decode(bad));
    assertTrue(
        wrongBytes.getMessage().contains("should hold 24 bytes, has 12"), wrongBytes.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> Tensors.encode(new float[0], new int[] {-1}, DType.F32));
    assertThrows(IllegalArgumentException.class, () -> Tensors.fromF16(new byte[3]));
  }
}
