package io.decostream.worker;

import io.decostream.nn.llava.AnswerGrounding;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import java.util.List;

/**
 * The language half of a llava_next_video pack: projector MLP + Llama with a KV cache, greedy
 * decoding.
 */
public final class LlavaAnswerBackend implements AnswerBackend {
  private final LlavaNextVideo model;

  public LlavaAnswerBackend(LlavaNextVideo model) {
    this.model = model;
  }

  @Override
  public int contextLength() {
    return model.contextLength();
  }

  @Override
  public int maxFrames(int tokensPerFrame, int reservedTextTokens) {
    return model.maxFrames(tokensPerFrame, reservedTextTokens);
  }

  @Override
  public Generated generate(
      List<float[]> frames, int tokensPerFrame, String prompt, int maxNewTokens) {
    GenerationResult r =
        model.generate(
            new VideoPrompt(frames, tokensPerFrame, prompt),
            GenerationOptions.greedy(maxNewTokens));
    return new Generated(
        r.text(),
        r.tokenIds(),
        r.promptTokens(),
        r.generatedTokens(),
        r.projectorMillis(),
        r.prefillMillis(),
        r.decodeMillis());
  }

  @Override
  public Explained explain(
      List<float[]> frames, int tokensPerFrame, String prompt, int[] tokenIds) {
    AnswerGrounding g = model.explain(new VideoPrompt(frames, tokensPerFrame, prompt), tokenIds);
    return new Explained(
        g.tokens(), g.textToQuery(), g.mean(), g.words(), g.wordTokens(), g.perWord(), g.millis());
  }
}
