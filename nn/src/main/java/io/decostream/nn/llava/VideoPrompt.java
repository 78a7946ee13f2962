package io.decostream.nn.llava;

import java.util.List;
import java.util.Objects;

/**
 * One video question for {@code LlavaNextVideo#generate} (package {@code
 * io.decostream.nn.llava.nextvideo}).
 *
 * @param frames pooled vision features per frame, in time order, each {@code [tokensPerFrame * Dv]}
 *     row-major (token-major: token j's Dv values are contiguous); these are the rows fed to the
 *     projector (spec §3.3)
 * @param tokensPerFrame visual tokens per frame (144 for LLaVA-NeXT-Video's 2x2 pool of a 24x24
 *     grid)
 * @param question the user's question (plain text; must not contain the {@code <video>}
 *     placeholder)
 */
public record VideoPrompt(List<float[]> frames, int tokensPerFrame, String question) {

  public VideoPrompt {
    Objects.requireNonNull(frames, "frames");
    Objects.requireNonNull(question, "question");
    if (frames.isEmpty()) {
      throw new IllegalArgumentException("a video prompt needs at least one frame");
    }
    if (tokensPerFrame < 1) {
      throw new IllegalArgumentException("tokensPerFrame must be >= 1, got " + tokensPerFrame);
    }
    for (int i = 0; i < frames.size(); i++) {
      if (frames.get(i) == null) {
        throw new IllegalArgumentException("frame " + i + " is null");
      }
    }
    frames = List.copyOf(frames);
  }

  /** Visual rows spliced into the prompt: frames x tokensPerFrame. */
  public int visualTokens() {
    return Math.multiplyExact(frames.size(), tokensPerFrame);
  }
}
