package io.decostream.nn.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.decostream.nn.safetensors.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The decode kernels against exact references: the F16 and BF16 widening (issue 20 point 3) against
 * the exact conversions, the row-pair kernels against the one-row kernels bit for bit, attention's
 * softmax and A·V against sums in double.
 */
class DecodeKernelsTest {

  @Test
  void everyFiniteHalfWidensExactly() {
    for (int h = 0; h < 0x10000; h++) {
      if ((h & 0x7C00) == 0x7C00) {
        continue; // infinities and NaNs: the load refuses them
      }
      float expected = HalfFloats.f16ToFloat((short) h);
      assertEquals(
          Float.floatToRawIntBits(expected),
          Float.floatToRawIntBits(DecodeKernels.half(h)),
          "half 0x" + Integer.toHexString(h));
      assertEquals(
          Float.floatToRawIntBits(expected),
          Float.floatToRawIntBits(DecodeKernels.half((short) h)),
          "sign-extended half 0x" + Integer.toHexString(h));
    }
  }

  @Test
  void vectorRowsEqualTheScalarSumOfExactlyWidenedHalves() {
    SplittableRandom r = new SplittableRandom(3);
    for (int cols : new int[] {2, 14, 64, 70, 768}) {
      ByteBuffer w = ByteBuffer.allocateDirect(cols * 2 * 3).order(ByteOrder.LITTLE_ENDIAN);
      short[] halves = new short[cols * 3];
      for (int i = 0; i < halves.length; i++) {
        // every kind of half: normals, subnormals, signed zeros
        halves[i] =
            switch (i % 4) {
              case 0 -> HalfFloats.floatToF16((float) r.nextGaussian());
              case 1 -> (short) r.nextInt(0x400); // subnormal
              case 2 -> (short) (0x8000 | r.nextInt(0x400)); // negative subnormal or -0
              default -> HalfFloats.floatToF16((float) r.nextGaussian() * 1e4f);
            };
        w.putShort(i * 2, halves[i]);
      }
      float[] x = new float[cols];
      for (int i = 0; i < cols; i++) {
        x[i] = (float) r.nextGaussian();
      }
      float[] even = new float[cols / 2];
      float[] odd = new float[cols / 2];
      DecodeKernels.deinterleave(x, cols, even, odd);
      for (int row = 0; row < 3; row++) {
        double exact = 0;
        double scale = 0;
        for (int c = 0; c < cols; c++) {
          double p = (double) HalfFloats.f16ToFloat(halves[row * cols + c]) * x[c];
          exact += p;
          scale += Math.abs(p);
        }
        float got = DecodeKernels.dotF16(NativeView.of(w), row, cols, even, odd);
        assertEquals(exact, got, 1e-5 * Math.max(1, scale), "row " + row + " of " + cols);
      }
    }
  }

  @Test
  void everyBfloat16WidensExactly() {
    for (int b = 0; b < 0x10000; b++) {
      float expected = HalfFloats.bf16ToFloat((short) b);
      assertEquals(
          Float.floatToRawIntBits(expected),
          Float.floatToRawIntBits(DecodeKernels.bf16(b)),
          "bf16 0x" + Integer.toHexString(b));
      assertEquals(
          Float.floatToRawIntBits(expected),
          Float.floatToRawIntBits(DecodeKernels.bf16((short) b)),
          "sign-extended bf16 0x" + Integer.toHexString(b));
    }
  }

  @Test
  void bf16RowsEqualTheScalarSumOfTheirValues() {
    SplittableRandom r = new SplittableRandom(4);
    for (int cols : new int[] {2, 14, 64, 70, 768}) {
      ByteBuffer w = ByteBuffer.allocateDirect(cols * 2 * 3).order(ByteOrder.LITTLE_ENDIAN);
      short[] bits = new short[cols * 3];
      for (int i = 0; i < bits.length; i++) {
        // normals across the range, subnormals and signed zeros
        bits[i] =
            switch (i % 4) {
              case 0 -> HalfFloats.floatToBf16((float) r.nextGaussian());
              case 1 -> (short) r.nextInt(0x80); // subnormal or +0
              case 2 -> (short) (0x8000 | r.nextInt(0x80)); // negative subnormal or -0
              default -> HalfFloats.floatToBf16((float) r.nextGaussian() * 1e20f);
            };
        w.putShort(i * 2, bits[i]);
      }
      float[] x = new float[cols];
      for (int i = 0; i < cols; i++) {
        x[i] = (float) r.nextGaussian() * 1e-20f;
      }
      float[] even = new float[cols / 2];
      float[] odd = new float[cols / 2];
      DecodeKernels.deinterleave(x, cols, even, odd);
      for (int row = 0; row < 3; row++) {
        double exact = 0;
        double scale = 0;
        for (int c = 0; c < cols; c++) {
          double p = (double) HalfFloats.bf16ToFloat(bits[row * cols + c]) * x[c];
          exact += p;
          scale += Math.abs(p);
        }
        float got = DecodeKernels.dotBF16(NativeView.of(w), row, cols, even, odd);
        assertEquals(exact, got, 1e-5 * Math.max(1, scale), "row " + row + " of " + cols);
      }
    }
  }

  /**
   * The pair kernels give each row the one-row kernel's bits, at every tail length and for rows
   * anywhere in the matrix (decode pairs row s with row s + rows/2).
   */
  @Test
  void rowPairsGiveEachRowTheBitsOfTheOneRowKernels() {
    SplittableRandom r = new SplittableRandom(6);
    int rows = 7;
    for (int cols : new int[] {2, 14, 30, 64, 70, 130, 768}) {
      ByteBuffer f32 = ByteBuffer.allocateDirect(rows * cols * 4).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer f16 = ByteBuffer.allocateDirect(rows * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer bf16 = ByteBuffer.allocateDirect(rows * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < rows * cols; i++) {
        float v = (float) r.nextGaussian();
        f32.putFloat(i * 4, v);
        f16.putShort(i * 2, HalfFloats.floatToF16(v));
        bf16.putShort(i * 2, HalfFloats.floatToBf16(v));
      }
      float[] x = new float[cols];
      for (int i = 0; i < cols; i++) {
        x[i] = (float) r.nextGaussian();
      }
      float[] even = new float[cols / 2];
      float[] odd = new float[cols / 2];
      DecodeKernels.deinterleave(x, cols, even, odd);
      NativeView w32 = NativeView.of(f32);
      NativeView w16 = NativeView.of(f16);
      NativeView wb = NativeView.of(bf16);
      for (int[] p : new int[][] {{0, 3}, {2, 6}, {5, 1}, {4, 4}}) {
        String at = "rows " + p[0] + ", " + p[1] + " of width " + cols;
        long a = DecodeKernels.dotF32Pair(w32, p[0], p[1], cols, x);
        assertBits(DecodeKernels.dotF32(w32, p[0], cols, x), DecodeKernels.first(a), "fp32 " + at);
        assertBits(DecodeKernels.dotF32(w32, p[1], cols, x), DecodeKernels.second(a), "fp32 " + at);
        long h = DecodeKernels.dotF16Pair(w16, p[0], p[1], cols, even, odd);
        assertBits(
            DecodeKernels.dotF16(w16, p[0], cols, even, odd), DecodeKernels.first(h), "F16 " + at);
        assertBits(
            DecodeKernels.dotF16(w16, p[1], cols, even, odd), DecodeKernels.second(h), "F16 " + at);
        long b = DecodeKernels.dotBF16Pair(wb, p[0], p[1], cols, even, odd);
        assertBits(
            DecodeKernels.dotBF16(wb, p[0], cols, even, odd), DecodeKernels.first(b), "BF16 " + at);
        assertBits(
            DecodeKernels.dotBF16(wb, p[1], cols, even, odd),
            DecodeKernels.second(b),
            "BF16 " + at);
      }
    }
  }

  private static void assertBits(float expected, float actual, String what) {
    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual), what);
  }

  @Test
  void softmaxAndWeightedRowsMatchADoubleReferenceAtEveryTailLength() {
    SplittableRandom r = new SplittableRandom(5);
    // counts and row widths around the vector length (4 to 16 lanes) and its multiples
    for (int count : new int[] {1, 3, 15, 16, 17, 70, 513}) {
      for (int n : new int[] {1, 7, 16, 64, 70, 128}) {
        int from = 3; // rows start mid-array, as a head's scores do
        float[] s = new float[from + count + 2];
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < count; t++) {
          s[from + t] = (float) (r.nextGaussian() * 4);
          max = Math.max(max, s[from + t]);
        }
        double[] p = new double[count];
        double z = 0;
        for (int t = 0; t < count; t++) {
          p[t] = Math.exp((double) s[from + t] - max);
          z += p[t];
        }
        DecodeKernels.softmaxShifted(s, from, count, max);
        for (int t = 0; t < count; t++) {
          assertEquals(p[t] / z, s[from + t], 1e-6, "p[" + t + "] of " + count);
        }
        int vByte = 8; // a head's values start inside the cache's buffer
        ByteBuffer v =
            ByteBuffer.allocateDirect(vByte + count * n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count * n; i++) {
          v.putFloat(vByte + i * 4, (float) r.nextGaussian());
        }
        float[] out = new float[n + 5];
        out[1] = 42f; // the kernel writes [2, 2+n) only
        DecodeKernels.weightedRows(s, from, count, NativeView.of(v), vByte, n, out, 2);
        assertEquals(42f, out[1]);
        for (int c = 0; c < n; c++) {
          double e = 0;
          for (int t = 0; t < count; t++) {
            e += (double) s[from + t] * v.getFloat(vByte + (t * n + c) * 4);
          }
          assertEquals(e, out[2 + c], 1e-5, "column " + c + " of " + n + ", " + count + " rows");
        }
        assertEquals(0f, out[2 + n]);
      }
    }
  }
}
