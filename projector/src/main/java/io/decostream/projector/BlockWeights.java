package io.decostream.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Shared plumbing of the trainable compressive baselines ({@link QFormer}, {@link CAbstractor}):
 * strict binding of a weight map against the expected names and shapes, deterministic initial
 * weights, and the few differentiable ops they share (every op here records gradients under DJL
 * autograd on the PyTorch engine).
 */
final class BlockWeights {

  private BlockWeights() {}

  /**
   * Binds {@code given} against {@code expected}: every expected name must be present with exactly
   * the expected shape and FLOAT32, and nothing else may be present.
   *
   * @return the arrays (not copied) in the expected order
   * @throws IllegalArgumentException naming every missing or unused tensor, or the first misshaped
   *     / mistyped one
   */
  static LinkedHashMap<String, NDArray> bind(
      String block, LinkedHashMap<String, Shape> expected, Map<String, NDArray> given) {
    Objects.requireNonNull(given, block + " weights");
    List<String> missing = new ArrayList<>();
    for (String name : expected.keySet()) {
      if (given.get(name) == null) {
        missing.add(name);
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          block
              + ": missing weight(s) "
              + missing
              + " ("
              + missing.size()
              + " of "
              + expected.size()
              + " expected)");
    }
    List<String> unused = new ArrayList<>();
    for (String name : given.keySet()) {
      if (!expected.containsKey(name)) {
        unused.add(name);
      }
    }
    if (!unused.isEmpty()) {
      Collections.sort(unused);
      throw new IllegalArgumentException(
          block + ": unused weight(s) " + unused + " (not part of this configuration)");
    }
    LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : expected.entrySet()) {
      NDArray a = given.get(e.getKey());
      if (!a.getShape().equals(e.getValue())) {
        throw new IllegalArgumentException(
            block
                + ": weight '"
                + e.getKey()
                + "' has shape "
                + a.getShape()
                + " but the configuration expects "
                + e.getValue());
      }
      if (a.getDataType() != DataType.FLOAT32) {
        throw new IllegalArgumentException(
            block + ": weight '" + e.getKey() + "' is " + a.getDataType() + ", expected float32");
      }
      out.put(e.getKey(), a);
    }
    return out;
  }

  /** {@code N(0, std^2)} samples from {@code rnd} (consumed in row-major order). */
  static NDArray gaussian(NDManager m, Shape s, double std, Random rnd) {
    float[] a = new float[Math.toIntExact(s.size())];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) (rnd.nextGaussian() * std);
    }
    return m.create(a, s);
  }

  /** nn.Linear: {@code x @ w^T + b}, {@code w [out, in]}. */
  static NDArray linear(NDArray x, NDArray w, NDArray b) {
    return Linear.linear(x, w, b).singletonOrThrow();
  }

  /** nn.LayerNorm over the last axis (torch's native layer_norm, spec §0). */
  static NDArray layerNorm(NDArray x, NDArray w, NDArray b, float eps) {
    Shape s = x.getShape();
    return LayerNorm.layerNorm(x, new Shape(s.get(s.dimension() - 1)), w, b, eps)
        .singletonOrThrow();
  }

  /** SiLU {@code x * sigmoid(x)} (nn.SiLU). */
  static NDArray silu(NDArray x) {
    try (NDArray s = Activation.sigmoid(x)) {
      return x.mul(s);
    }
  }

  static void requirePositive(String what, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(what + " must be positive, got " + value);
    }
  }
}
