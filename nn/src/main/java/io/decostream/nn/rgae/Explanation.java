package io.decostream.nn.rgae;

import java.util.List;
import java.util.Objects;

/**
 * Text-to-Query maps of several explained generation steps (spec §7.5): one raw row {@code R[L_t-1,
 * vis]} per step (identity start, no normalisation), plus averages over the answer and per word.
 *
 * @param steps one entry per generated token, in generation order
 */
public record Explanation(List<Step> steps) {

  /**
   * One explained step: the target token, its pre-softmax logit, the argmax of that row (equals the
   * target under greedy decoding) and the raw Text-to-Query row {@code R[L_t-1, vis]}.
   */
  public record Step(int targetId, float targetLogit, int argmaxId, float[] textToQuery) {}

  /** How each step's map is scaled before averaging (§7.5: UNVERIFIED in DeCo; default none). */
  public enum StepNormalisation {
    /** Raw rows (default): average of {@code R[L_t-1, vis]}. */
    NONE,
    /**
     * {@code (x - min) / (max - min)} per step, as [GAE-LX] perturbation.py does before use; a
     * constant row → 0.
     */
    MIN_MAX
  }

  public Explanation {
    Objects.requireNonNull(steps, "steps");
    if (steps.isEmpty()) {
      throw new IllegalArgumentException("an explanation needs at least one step");
    }
    int n = steps.get(0).textToQuery().length;
    for (Step s : steps) {
      if (s.textToQuery().length != n) {
        throw new IllegalArgumentException(
            "all steps must have " + n + " visual tokens, got " + s.textToQuery().length);
      }
    }
    steps = List.copyOf(steps);
  }

  public int size() {
    return steps.size();
  }

  /** Visual tokens per row (frames x tokens per frame). */
  public int visualTokens() {
    return steps.get(0).textToQuery().length;
  }

  /** The explained token ids. */
  public int[] tokenIds() {
    return steps.stream().mapToInt(Step::targetId).toArray();
  }

  /** The raw rows, [steps][visual tokens] (copies). */
  public float[][] textToQuery() {
    return steps.stream().map(s -> s.textToQuery().clone()).toArray(float[][]::new);
  }

  /** {@code (1/G) Σ_t TtQ_t} over all steps, raw rows (§7.5). */
  public float[] mean() {
    return mean(StepNormalisation.NONE);
  }

  /** Average over all steps after the given per-step normalisation. */
  public float[] mean(StepNormalisation norm) {
    int[] all = new int[steps.size()];
    for (int i = 0; i < all.length; i++) {
      all[i] = i;
    }
    return meanOf(all, norm);
  }

  /**
   * Per word (sub-word tokens merged): row {@code w} is the mean of the steps in {@code groups[w]}
   * (see {@link WordGroups}).
   */
  public float[][] perWord(int[][] groups, StepNormalisation norm) {
    Objects.requireNonNull(groups, "groups");
    float[][] out = new float[groups.length][];
    for (int w = 0; w < groups.length; w++) {
      out[w] = meanOf(groups[w], norm);
    }
    return out;
  }

  private float[] meanOf(int[] idx, StepNormalisation norm) {
    Objects.requireNonNull(norm, "norm");
    if (idx == null || idx.length == 0) {
      throw new IllegalArgumentException("cannot average an empty group of steps");
    }
    int n = visualTokens();
    double[] acc = new double[n];
    for (int i : idx) {
      if (i < 0 || i >= steps.size()) {
        throw new IllegalArgumentException(
            "step " + i + " does not exist (" + steps.size() + " steps)");
      }
      float[] row =
          norm == StepNormalisation.MIN_MAX
              ? minMax(steps.get(i).textToQuery())
              : steps.get(i).textToQuery();
      for (int j = 0; j < n; j++) {
        acc[j] += row[j];
      }
    }
    float[] out = new float[n];
    for (int j = 0; j < n; j++) {
      out[j] = (float) (acc[j] / idx.length);
    }
    return out;
  }

  /** {@code (x - min) / (max - min)}; all zeros when the row is constant. */
  static float[] minMax(float[] x) {
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    for (float v : x) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    float[] out = new float[x.length];
    if (max > min) {
      for (int i = 0; i < x.length; i++) {
        out[i] = (x[i] - min) / (max - min);
      }
    }
    return out;
  }
}
