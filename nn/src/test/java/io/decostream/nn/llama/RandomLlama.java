package io.decostream.nn.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.weights.Precision;
import io.decostream.nn.weights.WeightBinder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Llama with random weights held in memory (no checkpoint file): norm weights N(1, 0.1), every
 * matrix N(0, std). Used by the blocked-attention equality tests and the prefill timing harness.
 */
final class RandomLlama {

  private RandomLlama() {}

  /** A llama-type config with tied embeddings. */
  static LlamaConfig config(
      int hidden, int layers, int heads, int kvHeads, int inter, int vocab, int context) {
    return new LlamaConfig(
        "llama", vocab, hidden, inter, layers, heads, kvHeads, null, "silu", context, 1e-6, 10000.0,
        null, false, true, 1, 2, null);
  }

  /**
   * The model on weights created on {@code m} (closing {@code m} frees them), recorded by full name
   * in {@code bound} when it is not null.
   */
  static LlamaModel build(
      LlamaConfig config, NDManager m, float std, long seed, Map<String, NDArray> bound) {
    return build(config, m, std, seed, bound, Precision.F32);
  }

  /**
   * As above, the weight matrices kept at {@code precision} ({@code bound} records the F32 ones).
   */
  static LlamaModel build(
      LlamaConfig config,
      NDManager m,
      float std,
      long seed,
      Map<String, NDArray> bound,
      Precision precision) {
    m.getEngine().setRandomSeed((int) seed);
    Map<String, NDArray> names = bound == null ? new LinkedHashMap<>() : bound;
    return new LlamaModel(config, new Binder(m, "", std, names), null, null, precision);
  }

  /** Binds any name to a fresh random array of the asked shape. */
  private record Binder(NDManager m, String prefix, float std, Map<String, NDArray> bound)
      implements WeightBinder {
    @Override
    public NDArray bind(String name, long... shape) {
      Shape s = new Shape(shape);
      NDArray w =
          shape.length == 1 // RMSNorm weights: near one, not exactly, so that they matter
              ? m.randomNormal(1f, 0.1f, s, DataType.FLOAT32)
              : m.randomNormal(0f, std, s, DataType.FLOAT32);
      bound.put(prefix + name, w);
      return w;
    }

    @Override
    public NDArray bind(String name, Precision storage, long... shape) {
      NDArray w = bind(name, shape);
      return switch (storage) {
        case F32 -> w;
        case F16 -> w.toType(storage.dataType(), false);
        case BF16 -> io.decostream.nn.weights.Bf16.fromFloats(m, w);
      };
    }

    @Override
    public boolean has(String name) {
      return true;
    }

    @Override
    public WeightBinder scoped(String sub) {
      return new Binder(m, prefix + (sub.endsWith(".") ? sub : sub + "."), std, bound);
    }

    @Override
    public void assertAllUsed() {}
  }
}
