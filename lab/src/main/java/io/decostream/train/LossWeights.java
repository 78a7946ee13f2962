package io.decostream.train;

/** The check every auxiliary loss's options share: a weight, off at 0. */
final class LossWeights {

  private LossWeights() {}

  static double check(String loss, double weight) {
    if (!(weight >= 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException(
          "the " + loss + " loss's weight must be finite and >= 0, got " + weight);
    }
    return weight;
  }
}
