package io.decostream.nn.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.decostream.nn.safetensors.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Weights held as bfloat16 ({@link Precision#BF16}, issue 20 point 3): UINT8 arrays [.., 2] of each
 * value's little-endian bits, because DJL 0.36 aborts on BF16 arrays. This class makes them and
 * widens them for the DJL ops that multiply them (prefill, training-free forwards, R-GAE); the
 * decode kernels read the bits where they lie.
 */
public final class Bf16 {

  private static final int BLOCK = 1 << 16; // longs, four values each

  private Bf16() {}

  /** Whether {@code a} holds BF16 weights as their bytes. */
  public static boolean holds(NDArray a) {
    long[] s = a.getShape().getShape();
    return a.getDataType() == DataType.UINT8 && s.length >= 1 && s[s.length - 1] == 2;
  }

  /** The shape of the values {@code bytes} holds (its shape less the last axis). */
  public static long[] valueShape(NDArray bytes) {
    long[] s = bytes.getShape().getShape();
    return Arrays.copyOf(s, s.length - 1);
  }

  /** F32 values rounded to nearest-even BF16 (PyTorch's {@code .bfloat16()}), on {@code m}. */
  public static NDArray fromFloats(NDManager m, NDArray f32) {
    float[] v = f32.toFloatArray();
    long[] s = f32.getShape().getShape();
    long[] shape = Arrays.copyOf(s, s.length + 1);
    shape[s.length] = 2;
    NDArray out = m.create(new Shape(shape), DataType.UINT8); // libtorch's memory, 64-byte aligned
    ShortBuffer bits = out.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
    for (float f : v) {
      bits.put(HalfFloats.floatToBf16(f));
    }
    return out;
  }

  /**
   * The values as an F32 array on {@code scope} (exact: a bfloat16 is the top half of an F32). The
   * bits are read where libtorch keeps them, four values a long, and written into the new array's
   * memory, two floats a long.
   */
  public static NDArray widen(NDManager scope, NDArray bytes) {
    if (!holds(bytes)) {
      throw new IllegalArgumentException(
          "not BF16 weights: " + bytes.getDataType() + " " + bytes.getShape());
    }
    NDArray out = scope.create(new Shape(valueShape(bytes)), DataType.FLOAT32);
    ByteBuffer src = bytes.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer dst = out.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
    if (!dst.isDirect() || dst.isReadOnly()) {
      throw new IllegalStateException("the widened array's memory is not directly writable");
    }
    int longs = src.capacity() / 8;
    // blocks in parallel, as libtorch's own widening (F16's toType) runs on its threads
    IntStream.range(0, (longs + BLOCK - 1) / BLOCK)
        .parallel()
        .forEach(
            k -> {
              for (int i = k * BLOCK, end = Math.min(longs, i + BLOCK); i < end; i++) {
                long x = src.getLong(i * 8); // b0 | b1 << 16 | b2 << 32 | b3 << 48
                dst.putLong(i * 16, ((x & 0xFFFFL) << 16) | ((x & 0xFFFF0000L) << 32)); // f0, f1
                dst.putLong(i * 16 + 8, ((x >>> 16) & 0xFFFF0000L) | (x & 0xFFFF000000000000L));
              }
            });
    // an odd tail of one to three values
    for (int i = longs * 4; i < src.capacity() / 2; i++) {
      dst.putInt(i * 4, (src.getShort(i * 2) & 0xFFFF) << 16);
    }
    return out;
  }
}
