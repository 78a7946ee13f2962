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
   * As {@link #generate(List, int, String, int)} with {@code sampling} (issue 20 point 5). Greedy
   * is the four-argument call; backends that cannot sample refuse anything else.
   */
  default Generated generate(
      List<float[]> frames,
      int tokensPerFrame,
      String prompt,
      int maxNewTokens,
      Sampling sampling) {
    if (sampling.isGreedy()) {
      return generate(frames, tokensPerFrame, prompt, maxNewTokens);
    }
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot sample");
  }

  /**
   * A live window for one stream (issue 20 point 1), or null when this backend has none (the worker
   * then re-prefills the whole window for every answer).
   *
   * @param tokensPerFrame rows per frame
   * @param maxFrames the most frames it will hold
   * @param reservedTokens room for a prompt's text and generated tokens beyond the frames
   */
  default Live openLive(int tokensPerFrame, int maxFrames, int reservedTokens) {
    return null;
  }

  /**
   * Frames kept prefilled (issue 20 point 1): {@link #append} adds a frame's rows to the cache,
   * {@link #answer} prefills only the prompt text and decodes, giving what {@link #generate} gives
   * for the same frames and prompt.
   */
  interface Live extends AutoCloseable {
    /** Frames appended so far. */
    int frames();

    /** The most frames it holds. */
    int maxFrames();

    /** Prefills one frame ({@code [tokensPerFrame * Dv]}) after the others. */
    void append(float[] frame);

    /**
     * Whether {@link #answer} can answer exactly as the full path would (else use the full path).
     */
    boolean canAnswer(String prompt, int maxNewTokens);

    Generated answer(String prompt, int maxNewTokens, Sampling sampling);

    /** Memory it holds (KV cache). */
    long bytes();

    /**
     * Starts a generation over the first {@code frames} frames in a copy of the cache, to be
     * advanced by {@link AnswerBackend#step} together with other streams' (issue 22 point 3); its
     * result equals {@link #answer} over the same frames. Null when this backend cannot, or when
     * the full path must answer.
     */
    default Started start(String prompt, int maxNewTokens, Sampling sampling, int frames) {
      return null;
    }

    @Override
    void close();
  }

  /**
   * A generation in flight (issue 22 point 3): begun by {@link Live#start}, advanced by {@link
   * #step}, its result read once {@link #done}.
   */
  interface Started extends AutoCloseable {
    boolean done();

    /** The finished generation; only once {@link #done}. */
    Generated result();

    /** Frees its cache. */
    @Override
    void close();
  }

  /**
   * One token for every generation of {@code active} that is not done, together: each weight row is
   * read once for all of them (continuous batching, issue 22 point 3).
   */
  default void step(List<Started> active) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot batch");
  }

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
