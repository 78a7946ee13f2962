package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;

/**
 * Deterministic weight initialisation from a Java random state (so a seed means the same weights
 * everywhere).
 */
final class Init {

  private Init() {}

  /** N(0, std) of the given shape. */
  static NDArray normal(NDManager m, SplittableRandom rng, double std, long... shape) {
    Shape s = new Shape(shape);
    float[] v = new float[Math.toIntExact(s.size())];
    java.util.Random gauss = new java.util.Random(rng.nextLong());
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (gauss.nextGaussian() * std);
    }
    return m.create(v, s);
  }
}
