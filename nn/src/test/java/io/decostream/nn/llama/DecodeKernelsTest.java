package io.decostream.nn.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.decostream.nn.safetensors.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The F16 widening of the decode kernels (issue 20 point 3) against the exact conversion. */
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
        float got = DecodeKernels.dotF16(w, row, cols, even, odd);
        assertEquals(exact, got, 1e-5 * Math.max(1, scale), "row " + row + " of " + cols);
      }
    }
  }
}
