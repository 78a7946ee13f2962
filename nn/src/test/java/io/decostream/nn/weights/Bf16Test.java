package io.decostream.nn.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.decostream.nn.safetensors.DType;
import io.decostream.nn.safetensors.HalfFloats;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * BF16 weights held as their bytes (issue 20 point 3): loaded from every checkpoint dtype with
 * PyTorch's rounding, widened back exactly, bound once, and never handed to DJL as BF16.
 */
class Bf16Test {

  @TempDir Path tmp;

  /** Values that round differently at 8 and at 11 significant bits, and the edge cases. */
  private static float[] values(int n) {
    SplittableRandom r = new SplittableRandom(9);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] =
          switch (i % 5) {
            case 0 -> (float) r.nextGaussian();
            case 1 -> (float) r.nextGaussian() * 1e-3f;
            case 2 -> -0f;
            case 3 -> 1.00390625f; // 1 + 2^-8: a tie at BF16's precision, rounds to even (1.0)
            default -> (float) r.nextGaussian() * 300f;
          };
    }
    return v;
  }

  @ParameterizedTest
  @EnumSource(
      value = DType.class,
      names = {"F32", "F16", "BF16"})
  void aCheckpointOfAnyFloatTypeLoadsAsItsBf16Rounding(DType stored) {
    float[] v = values(15);
    Path f = tmp.resolve("w.safetensors");
    new SafeTensorsWriter().add("w", stored, new long[] {3, 5}, v).write(f);
    try (NDManager m = NDManager.newBaseManager();
        CheckpointWeights w = CheckpointWeights.open(f, m)) {
      NDArray held = w.bind("w", Precision.BF16, 3, 5);
      assertEquals(DataType.UINT8, held.getDataType());
      assertEquals(new Shape(3, 5, 2), held.getShape());
      assertTrue(Bf16.holds(held));
      assertArrayEquals(new long[] {3, 5}, Bf16.valueShape(held));
      assertSame(held, w.bind("w", Precision.BF16, 3, 5), "held once, its shape checked as [3, 5]");
      assertThrows(WeightException.class, () -> w.bind("w", Precision.F16, 3, 5));
      assertThrows(WeightException.class, () -> w.bind("w", Precision.BF16, 5, 3));
      float[] widened = Bf16.widen(m, held).toFloatArray();
      for (int i = 0; i < v.length; i++) {
        // what the file holds, as PyTorch's .bfloat16() rounds it
        float inFile =
            switch (stored) {
              case F16 -> HalfFloats.f16ToFloat(HalfFloats.floatToF16(v[i]));
              case BF16 -> HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v[i]));
              default -> v[i];
            };
        float expected = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(inFile));
        assertEquals(
            Float.floatToRawIntBits(expected), Float.floatToRawIntBits(widened[i]), "value " + i);
      }
      assertEquals(1f, widened[3], "the tie 1 + 2^-8 rounds to even");
    }
  }

  /** Every length, so the four-values-a-long loop and its tail of one to three both run. */
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5, 7, 8, 262_147})
  void widenGivesBackEveryValueExactly(int n) {
    float[] v = values(n);
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray held = Bf16.fromFloats(m, m.create(v));
      assertEquals(new Shape(n, 2), held.getShape());
      NDArray wide = Bf16.widen(m, held);
      assertEquals(DataType.FLOAT32, wide.getDataType());
      assertEquals(new Shape(n), wide.getShape());
      float[] got = wide.toFloatArray();
      for (int i = 0; i < n; i++) {
        float expected = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v[i]));
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(got[i]), "" + i);
      }
    }
  }

  @Test
  void heldBitsAreLittleEndianBf16() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray held = Bf16.fromFloats(m, m.create(new float[] {1.5f, -2f}));
      byte[] bytes = held.toByteArray();
      // 1.5f = 0x3FC00000 -> 0x3FC0; -2f = 0xC0000000 -> 0xC000; low byte first
      assertArrayEquals(new byte[] {(byte) 0xC0, 0x3F, 0x00, (byte) 0xC0}, bytes);
      assertEquals(ByteOrder.LITTLE_ENDIAN, ByteOrder.nativeOrder(), "the kernels assume it");
    }
  }

  @Test
  void onlyBf16BytesAreWidened() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray floats = m.create(new float[] {1, 2});
      assertFalse(Bf16.holds(floats));
      assertFalse(Bf16.holds(m.zeros(new Shape(2, 3), DataType.UINT8)), "last axis is not 2");
      assertThrows(IllegalArgumentException.class, () -> Bf16.widen(m, floats));
    }
  }
}
