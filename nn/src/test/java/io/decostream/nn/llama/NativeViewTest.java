package io.decostream.nn.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The decode kernels' loads by address (issue 20 point 2): on in the test runner as in {@code
 * ./deco}, reading the bytes they name once C2 has compiled them (interpreted code reads through
 * the fallback, so the check runs the kernels until they are compiled), and refusing a range
 * outside the view instead of reading past it.
 */
class NativeViewTest {

  private static ByteBuffer randomFloats(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    ByteBuffer b = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      b.putFloat(i * 4, (float) r.nextGaussian());
    }
    return b;
  }

  @Test
  void loadsGoByAddressWhereTheJvmIsStartedAsDecoStartsIt() {
    assertTrue(
        NativeView.BY_ADDRESS,
        "the test runner passes --add-exports java.base/jdk.internal.vm.vector=ALL-UNNAMED, as"
            + " ./deco does");
  }

  /**
   * Loaded weights lie in memory libtorch allocated, 64-byte aligned, for every precision: arrays
   * made from Java direct buffers were 16-byte aligned, so most 64-byte loads straddled two lines.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(io.decostream.nn.weights.Precision.class)
  void loadedWeightsAreAlignedForVectorLoads(
      io.decostream.nn.weights.Precision p,
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
      throws Exception {
    java.nio.file.Path f = tmp.resolve("w.safetensors");
    io.decostream.nn.safetensors.SafeTensorsWriter w =
        new io.decostream.nn.safetensors.SafeTensorsWriter();
    for (int i = 0; i < 8; i++) { // sizes that leave odd remainders after each allocation
      w.addF32("w" + i, new long[] {3 + i, 5}, new float[(3 + i) * 5]);
    }
    w.write(f);
    try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager();
        io.decostream.nn.weights.CheckpointWeights cw =
            io.decostream.nn.weights.CheckpointWeights.open(f, m)) {
      for (int i = 0; i < 8; i++) {
        NativeView v = NativeView.of(cw.bind("w" + i, p, 3 + i, 5));
        assertEquals(0, v.address % 64, p + " weight w" + i + " at " + v.address);
      }
    }
  }

  @Test
  void compiledKernelsReadExactlyTheRowsTheyName() {
    int rows = 7;
    int cols = 768 + 16 + 3; // vector groups, a single vector and a scalar tail
    ByteBuffer w = randomFloats(rows * cols, 1);
    NativeView view = NativeView.of(w);
    float[] x = new float[cols];
    SplittableRandom r = new SplittableRandom(2);
    for (int i = 0; i < cols; i++) {
      x[i] = (float) r.nextGaussian();
    }
    float[] first = new float[rows];
    float[] attFirst = new float[rows];
    for (int row = 0; row < rows; row++) {
      double exact = 0;
      double scale = 0;
      for (int c = 0; c < cols; c++) {
        double p = (double) w.getFloat((row * cols + c) * 4) * x[c];
        exact += p;
        scale += Math.abs(p);
      }
      first[row] = DecodeKernels.dotF32(view, row, cols, x);
      assertEquals(exact, first[row], 1e-6 * scale, "row " + row);
      attFirst[row] = DecodeKernels.dotF32At(x, 3, view, row * cols * 4 + 8, 64);
    }
    // tens of thousands of calls: the kernels are compiled by C2 (loads by address) well before
    // the end, and every call must give the interpreted first call's bits
    for (int k = 0; k < 40_000; k++) {
      int row = k % rows;
      float got = DecodeKernels.dotF32(view, row, cols, x);
      if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(first[row])) {
        assertEquals(first[row], got, "call " + k + ", row " + row);
      }
      float att = DecodeKernels.dotF32At(x, 3, view, row * cols * 4 + 8, 64);
      if (Float.floatToRawIntBits(att) != Float.floatToRawIntBits(attFirst[row])) {
        assertEquals(attFirst[row], att, "call " + k + ", key row " + row);
      }
    }
  }

  @Test
  void aRangeOutsideTheViewIsRefusedNotRead() {
    int rows = 3;
    int cols = 64;
    NativeView view = NativeView.of(randomFloats(rows * cols, 3));
    float[] x = new float[cols];
    assertThrows(IndexOutOfBoundsException.class, () -> DecodeKernels.dotF32(view, rows, cols, x));
    assertThrows(
        IndexOutOfBoundsException.class,
        () -> DecodeKernels.dotF16(view, 2 * rows, cols, new float[32], new float[32]));
    assertThrows(
        IndexOutOfBoundsException.class,
        () -> DecodeKernels.dotF32At(x, 0, view, (rows * cols - 16) * 4, 64));
    assertThrows(
        IndexOutOfBoundsException.class,
        () ->
            DecodeKernels.weightedRows(
                new float[rows + 1], 0, rows + 1, view, 0, cols, new float[cols], 0));
  }

  @Test
  void onlyDirectBuffersHaveAView() {
    assertThrows(IllegalArgumentException.class, () -> NativeView.of(ByteBuffer.allocate(64)));
  }
}
