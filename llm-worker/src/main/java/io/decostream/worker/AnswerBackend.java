package io.decostream.worker;

import java.util.List;

/**
 * What the worker needs of a video LLM: context size, generation over spliced frame tokens, and
 * R-GAE maps.
 */
public interface AnswerBackend {
  int contextLength();

  /**
   * Frames that fit the context at this many tokens per frame, keeping {@code reservedTextTokens}
   * free.
   */
  int maxFrames(int tokensPerFrame, int reservedTextTokens);

  /**
   * Generates an answer to {@code prompt} over {@code frames} (pooled vision features, [M*Dv]
   * each).
   */
  Generated generate(List<float[]> frames, int tokensPerFrame, String prompt, int maxNewTokens);

  /**
   * R-GAE Text-to-Query maps (spec models.md §7.5) of {@code tokenIds}, the tokens {@link
   * #generate} produced for the same frames and prompt: per token its raw row over the F·M visual
   * tokens. Backends that cannot explain throw {@link UnsupportedOperationException}.
   */
  default Explained explain(
      List<float[]> frames, int tokensPerFrame, String prompt, int[] tokenIds) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot explain answers");
  }

  /**
   * A generated text; {@code tokenIds} are the generated ids (EOS excluded), empty when unknown.
   */
  record Generated(
      String text,
      int[] tokenIds,
      int promptTokens,
      int generatedTokens,
      double projectorMillis,
      double prefillMillis,
      double decodeMillis) {
    public Generated(
        String text,
        int promptTokens,
        int generatedTokens,
        double projectorMillis,
        double prefillMillis,
        double decodeMillis) {
      this(
          text,
          new int[0],
          promptTokens,
          generatedTokens,
          projectorMillis,
          prefillMillis,
          decodeMillis);
    }
  }

  /**
   * Text-to-Query maps of a generated text.
   *
   * @param tokens the explained tokens, decoded one by one
   * @param textToQuery [K][F·M] raw rows
   * @param mean [F·M] mean over the tokens
   * @param words the text's words; {@code wordTokens[w]} the token indices merged into word w
   * @param perWord [W][F·M] mean over each word's tokens
   * @param millis time of the explanation passes
   */
  record Explained(
      List<String> tokens,
      float[][] textToQuery,
      float[] mean,
      List<String> words,
      int[][] wordTokens,
      float[][] perWord,
      double millis) {}
}
