package io.decostream.worker;

/**
 * How the worker picks answer tokens (issue 20 point 5): temperature 0 is greedy (argmax, the
 * default); above 0 it samples softmax(logits / temperature) restricted to the top-p nucleus with a
 * {@code java.util.Random(seed)}, so the same seed, frames and question give the same answer.
 *
 * @param temperature >= 0, finite; 0 = greedy
 * @param topP nucleus mass in (0, 1]; 1 = no truncation
 * @param seed the sampler's seed (ignored when greedy)
 */
public record Sampling(double temperature, double topP, long seed) {

  /** Greedy decoding: what the worker did before sampling existed, and still its default. */
  public static final Sampling GREEDY = new Sampling(0, 1, 0);

  public Sampling {
    String problem = problem(temperature, topP);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
  }

  public boolean isGreedy() {
    return temperature == 0;
  }

  /**
   * Why these values cannot drive a sampler, or null when they can. Shared by the worker's defaults
   * (refused at construction) and questions (dead-lettered by {@link QuestionRouter}).
   */
  static String problem(double temperature, double topP) {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      return "temperature must be a finite value >= 0 (0 = greedy), got " + temperature;
    }
    if (!(topP > 0 && topP <= 1)) {
      return "topP must be in (0, 1], got " + topP;
    }
    return null;
  }

  /**
   * What a question asks for: each of its fields when set, else this default's. A question that
   * sets only a seed keeps the default temperature (greedy by default, where a seed changes
   * nothing).
   */
  Sampling override(Double temperature, Double topP, Long seed) {
    return new Sampling(
        temperature != null ? temperature : this.temperature,
        topP != null ? topP : this.topP,
        seed != null ? seed : this.seed);
  }
}
