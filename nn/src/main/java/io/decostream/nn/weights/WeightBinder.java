package io.decostream.nn.weights;

import ai.djl.ndarray.NDArray;

/**
 * Strict access to a checkpoint's tensors by their HF key path.
 *
 * <p>Blocks of a model family take a binder scoped to their own key path (e.g. {@code
 * language_model.model.layers.3.}) and ask for each weight by its local name with the shape they
 * expect. A missing or misshaped weight fails at once with its full name; after a model is built,
 * {@link #assertAllUsed()} fails naming every checkpoint tensor under the scope that no block asked
 * for. Weights are widened to F32 once and held once.
 */
public interface WeightBinder {

  /**
   * The tensor {@code prefix + name} as an F32 array of exactly {@code expectedShape}.
   *
   * @throws WeightException naming the tensor if it is missing or its shape differs
   */
  NDArray bind(String name, long... expectedShape);

  /**
   * As {@link #bind(String, long...)}, kept in memory at {@code storage} (issue 20 point 3): a
   * language model's matrices at {@link Precision#F16}. A tensor is held once, at the precision it
   * was first bound with; binding it again at another precision fails.
   */
  NDArray bind(String name, Precision storage, long... expectedShape);

  /** Whether the checkpoint has {@code prefix + name}. */
  boolean has(String name);

  /** A binder for the sub-tree {@code prefix + sub} (a trailing '.' is added when missing). */
  WeightBinder scoped(String sub);

  /** The full key path this binder prefixes to names (may be empty). */
  String prefix();

  /** Fails naming every tensor under {@link #prefix()} that was never bound. */
  void assertAllUsed();
}
