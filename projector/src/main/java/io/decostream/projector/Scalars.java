package io.decostream.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Multiplying or dividing by a constant inside a graph that will be differentiated.
 *
 * <p>DJL's {@code x.mul(Number)} and {@code x.div(Number)} wrap the number in a 0-d tensor over a
 * Java direct buffer ({@code torch::from_blob}, which does not own the memory) and close it as soon
 * as the op returns. Autograd keeps that scalar for the backward pass ({@code grad / s}, {@code
 * grad * s}). Once the buffer is unreachable the GC may free it and hand the memory to another
 * allocation, and backward then reads whatever lies there. This was the nondeterministic NaN, and
 * the 1e19 gradients, of the training runs: the attention-score scale {@code / sqrt(d)} poisoned
 * the q and k gradients of one layer. {@code ScalarsTest} reproduces it with DJL's own {@code
 * div(Number)}. Here the scalar is made by libtorch ({@code torch::full} owns its storage), so the
 * graph's reference keeps it alive after the Java handle is closed.
 */
public final class Scalars {

  private Scalars() {}

  /** {@code x * v}, safe to differentiate. */
  public static NDArray mul(NDArray x, float v) {
    try (NDArray s = scalar(x, v)) {
      return x.mul(s);
    }
  }

  /** {@code x / v}, safe to differentiate. */
  public static NDArray div(NDArray x, float v) {
    try (NDArray s = scalar(x, v)) {
      return x.div(s);
    }
  }

  /**
   * {@code a} as {@code type} in memory libtorch owns, for an array made from Java data ({@code
   * manager.create}) that an op of a differentiated graph uses: autograd keeps the copy after
   * {@code a} is closed. DJL's {@code toType} to the same type returns {@code a} itself, hence the
   * explicit copy.
   */
  public static NDArray owned(NDArray a, DataType type) {
    return a.getDataType() == type ? a.duplicate() : a.toType(type, false);
  }

  /** A 0-d tensor of {@code x}'s type, allocated and owned by libtorch. */
  private static NDArray scalar(NDArray x, float v) {
    return x.getManager().full(new Shape(), v, x.getDataType());
  }
}
