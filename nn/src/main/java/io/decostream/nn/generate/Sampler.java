package io.decostream.nn.generate;

import java.util.Arrays;
import java.util.Random;

/**
 * Picks the next token from a row of logits (spec §5).
 *
 * <ul>
 *   <li>Greedy ({@code temperature == 0}): {@code argmax}, ties to the lowest id (as {@code
 *       torch.argmax}).
 *   <li>Sampling: softmax of {@code logits / temperature} (in double), restricted to the nucleus
 *       (the smallest set of most probable tokens whose mass reaches {@code topP}, ties by lower
 *       id; always at least one token), then one draw from {@code java.util.Random(seed)}. The same
 *       seed and logits give the same tokens.
 * </ul>
 *
 * A sampler holds its random state: use one per generation, from one thread.
 */
public final class Sampler {

  private final double temperature;
  private final double topP;
  private final Random random;

  private Sampler(double temperature, double topP, long seed) {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException(
          "temperature must be a finite value >= 0, got " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
    }
    this.temperature = temperature;
    this.topP = topP;
    this.random = temperature == 0 ? null : new Random(seed);
  }

  /** Greedy decoding. */
  public static Sampler greedy() {
    return new Sampler(0, 1, 0);
  }

  /** Temperature + top-p sampling seeded with {@code seed}; {@code temperature == 0} is greedy. */
  public static Sampler of(double temperature, double topP, long seed) {
    return new Sampler(temperature, topP, seed);
  }

  public boolean isGreedy() {
    return random == null;
  }

  /** The next token id for {@code logits} (one row, length V). */
  public int next(float[] logits) {
    if (logits.length == 0) {
      throw new IllegalArgumentException("empty logits");
    }
    return random == null ? argmax(logits) : sample(logits);
  }

  /**
   * Index of the largest logit, lowest index on ties; fails on NaN (a broken model, not a token).
   */
  public static int argmax(float[] logits) {
    int best = 0;
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < logits.length; i++) {
      float v = logits[i];
      if (Float.isNaN(v)) {
        throw new IllegalStateException("logit " + i + " is NaN");
      }
      if (v > max || i == 0) {
        max = v;
        best = i;
      }
    }
    return best;
  }

  private int sample(float[] logits) {
    int n = logits.length;
    float max = logits[argmax(logits)];
    double[] p = new double[n];
    double z = 0;
    for (int i = 0; i < n; i++) {
      p[i] = Math.exp((logits[i] - (double) max) / temperature);
      z += p[i];
    }
    if (topP >= 1) {
      double r = random.nextDouble() * z;
      double c = 0;
      for (int i = 0; i < n; i++) {
        c += p[i];
        if (r < c) {
          return i;
        }
      }
      return lastPositive(p);
    }
    // nucleus: sort ids by probability, descending; ties keep the lower id first
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
    double target = topP * z;
    double mass = 0;
    int keep = 0;
    while (keep < n && (keep == 0 || mass < target)) {
      mass += p[order[keep]];
      keep++;
    }
    double r = random.nextDouble() * mass;
    double c = 0;
    for (int k = 0; k < keep; k++) {
      c += p[order[k]];
      if (r < c) {
        return order[k];
      }
    }
    return order[keep - 1];
  }

  private static int lastPositive(double[] p) {
    for (int i = p.length - 1; i >= 0; i--) {
      if (p[i] > 0) {
        return i;
      }
    }
    return 0;
  }

  @Override
  public String toString() {
    return random == null
        ? "Sampler[greedy]"
        : "Sampler[temperature=" + temperature + ", topP=" + topP + "]";
  }
}
