package io.decostream.worker;

import java.util.List;

/** What the worker needs of a video LLM: context size and generation over spliced frame tokens. */
public interface AnswerBackend {
  int contextLength();

  /** Frames that fit the context at this many tokens per frame, keeping {@code reservedTextTokens} free. */
  int maxFrames(int tokensPerFrame, int reservedTextTokens);

  /** Generates an answer to {@code prompt} over {@code frames} (pooled vision features, [M*Dv] each). */
  Generated generate(List<float[]> frames, int tokensPerFrame, String prompt, int maxNewTokens);

  record Generated(String text, int promptTokens, int generatedTokens, double projectorMillis, double prefillMillis,
                   double decodeMillis) {}
}
