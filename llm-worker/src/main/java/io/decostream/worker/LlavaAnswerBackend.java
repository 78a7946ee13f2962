package io.decostream.worker;

import io.decostream.nn.llava.AnswerGrounding;
import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.LiveWindow;
import io.decostream.nn.llava.PendingGeneration;
import io.decostream.nn.llava.StreamModel;
import io.decostream.nn.llava.VideoPrompt;
import java.util.ArrayList;
import java.util.List;

/**
 * The language half of a LLaVA pack of any family ({@link StreamModel}, loaded by {@code
 * Families.forStage(dir, LANGUAGE, ...)}): the family's projector (and what it does after it:
 * OneVision's bilinear pooling and image_newline), its prompt template and splice, the decoder with
 * a KV cache; greedy or seeded temperature/top-p decoding; live windows ({@link LiveWindow}) where
 * the family's prompt allows them (llava_next_video), else none (the worker re-prefills).
 */
public final class LlavaAnswerBackend implements AnswerBackend {
  private final StreamModel model;

  public LlavaAnswerBackend(StreamModel model) {
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
    return generate(frames, tokensPerFrame, prompt, maxNewTokens, Sampling.GREEDY);
  }

  @Override
  public Generated generate(
      List<float[]> frames,
      int tokensPerFrame,
      String prompt,
      int maxNewTokens,
      Sampling sampling) {
    return generated(
        model.generate(
            new VideoPrompt(frames, tokensPerFrame, prompt), options(maxNewTokens, sampling)));
  }

  static GenerationOptions options(int maxNewTokens, Sampling s) {
    return new GenerationOptions(maxNewTokens, s.temperature(), s.topP(), s.seed());
  }

  @Override
  public Live openLive(int tokensPerFrame, int maxFrames, int reservedTokens) {
    LiveWindow w = model.openLiveWindow(tokensPerFrame, maxFrames, reservedTokens);
    if (w == null) {
      return null; // the family's prompt has no fixed prefix to keep prefilled
    }
    return new Live() {
      @Override
      public int frames() {
        return w.frames();
      }

      @Override
      public int maxFrames() {
        return w.maxFrames();
      }

      @Override
      public void append(float[] frame) {
        w.append(frame);
      }

      @Override
      public boolean canAnswer(String prompt, int maxNewTokens) {
        return w.canAnswer(prompt, maxNewTokens);
      }

      @Override
      public Generated answer(String prompt, int maxNewTokens, Sampling sampling) {
        return generated(w.answer(prompt, options(maxNewTokens, sampling)));
      }

      @Override
      public long bytes() {
        return w.cacheBytes();
      }

      @Override
      public Started start(String prompt, int maxNewTokens, Sampling sampling, int frames) {
        PendingGeneration p = w.begin(prompt, options(maxNewTokens, sampling), frames);
        return p == null ? null : new Pending(p);
      }

      @Override
      public void close() {
        w.close();
      }
    };
  }

  /** A live window's generation in flight ({@link LiveWindow#begin}). */
  private record Pending(PendingGeneration p) implements Started {
    @Override
    public boolean done() {
      return p.done();
    }

    @Override
    public Generated result() {
      return generated(p.result());
    }

    @Override
    public void close() {
      p.close();
    }
  }

  @Override
  public void step(List<Started> active) {
    List<PendingGeneration> ps = new ArrayList<>(active.size());
    for (Started s : active) {
      ps.add(((Pending) s).p());
    }
    PendingGeneration.step(ps);
  }

  private static Generated generated(GenerationResult r) {
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
