package io.decostream.nn.safetensors;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor's header entry (spec §6): dtype, shape and the absolute byte range of its data in
 * {@code file} (absolute = 8 + header length + data_offsets[0]).
 */
public record TensorInfo(
    String name, DType dtype, long[] shape, Path file, long dataStart, long byteLength) {

  public TensorInfo {
    shape = shape.clone();
    long expected = numel(shape) * dtype.bytes();
    if (expected != byteLength) {
      throw new SafeTensorsException(
          "tensor '"
              + name
              + "' in "
              + file
              + ": shape "
              + Arrays.toString(shape)
              + " of "
              + dtype
              + " needs "
              + expected
              + " bytes but data_offsets span "
              + byteLength);
    }
  }

  /** A defensive copy of the shape ([] for a scalar). */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** Number of elements (1 for a scalar, 0 for a zero-size tensor). */
  public long numel() {
    return numel(shape);
  }

  static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new SafeTensorsException("negative dimension in shape " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  @Override
  public String toString() {
    return name + " " + dtype + Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t
        && name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && file.equals(t.file)
        && dataStart == t.dataStart
        && byteLength == t.byteLength;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }
}
