package io.decostream.nn.llava;

/**
 * Decoding settings (spec §5).
 *
 * @param maxNewTokens upper bound on generated tokens (>= 1); EOS ends earlier
 * @param temperature 0 = greedy (argmax, ties to the lowest id); > 0 samples
 * @param topP nucleus mass in (0, 1]; 1 = no truncation (ignored when greedy)
 * @param seed seed of the sampler's {@code java.util.Random} (ignored when greedy)
 */
public record GenerationOptions(int maxNewTokens, double temperature, double topP, long seed) {

  /** Defaults: 128 new tokens, greedy. */
  public static final int DEFAULT_MAX_NEW_TOKENS = 128;

  public GenerationOptions {
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
    }
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException(
          "temperature must be a finite value >= 0, got " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
    }
  }

  /** Greedy decoding of up to {@value #DEFAULT_MAX_NEW_TOKENS} tokens. */
  public static GenerationOptions defaults() {
    return new GenerationOptions(DEFAULT_MAX_NEW_TOKENS, 0, 1, 0);
  }

  /** Greedy decoding of up to {@code maxNewTokens} tokens. */
  public static GenerationOptions greedy(int maxNewTokens) {
    return new GenerationOptions(maxNewTokens, 0, 1, 0);
  }

  public boolean isGreedy() {
    return temperature == 0;
  }
}
