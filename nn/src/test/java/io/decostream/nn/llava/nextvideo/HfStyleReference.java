package io.decostream.nn.llava.nextvideo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.decostream.nn.generate.Sampler;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.LlavaKeys;
import io.decostream.nn.weights.WeightBinder;
import io.decostream.projector.MlpProjector;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * An independent, deliberately naive re-statement of the HF LLaVA-NeXT-Video generation path (spec
 * §3.3, §4.4): the processor expands the prompt STRING to F*M {@code <video>} strings before
 * tokenizing, the model embeds all ids (placeholders included) and overwrites each placeholder row
 * in order ({@code masked_scatter}) with the projector output; greedy decoding recomputes the whole
 * sequence every step (no KV cache, no Generator).
 */
final class HfStyleReference {
  private HfStyleReference() {}

  static int[] greedy(
      Path pack, List<float[]> frames, int tokensPerFrame, String question, int steps) {
    LlavaNextVideoConfig cfg = LlavaNextVideoConfig.read(pack);
    try (NDManager m = NDManager.newBaseManager();
        CheckpointWeights w = CheckpointWeights.open(pack, m);
        PackTokenizer tok = PackTokenizer.load(pack)) {
      LlavaKeys keys = LlavaKeys.detect(w);
      int dv = cfg.visionConfig().hiddenSize();
      int dt = cfg.textConfig().hiddenSize();
      WeightBinder p = w.scoped(keys.projectorPrefix());
      MlpProjector proj =
          new MlpProjector(
              p.bind("linear_1.weight", dt, dv),
              p.bind("linear_1.bias", dt),
              p.bind("linear_2.weight", dt, dt),
              p.bind("linear_2.bias", dt));
      try (LlamaModel llm =
          new LlamaModel(
              cfg.textConfig(), w.scoped(keys.languageModelPrefix()), w, keys.lmHeadName())) {
        String expanded =
            LlavaNextVideo.SYSTEM_PROMPT
                + " USER: "
                + "<video>".repeat(frames.size() * tokensPerFrame)
                + "\n"
                + question
                + " ASSISTANT:";
        int[] ids = tok.encode(expanded, true);
        int video = cfg.videoTokenIndex();
        Set<Integer> eos = Set.copyOf(cfg.textConfig().eosTokenIds());
        int[] seq = ids;
        int[] out = new int[0];
        for (int s = 0; s < steps; s++) {
          try (NDManager step = m.newSubManager()) {
            NDArray emb = llm.embed(step, seq);
            float[] flat = new float[frames.size() * tokensPerFrame * dv];
            for (int f = 0; f < frames.size(); f++) {
              System.arraycopy(
                  frames.get(f), 0, flat, f * tokensPerFrame * dv, tokensPerFrame * dv);
            }
            NDArray rows =
                proj.forward(
                    step.create(flat, new Shape((long) frames.size() * tokensPerFrame, dv)));
            int k = 0;
            for (int i = 0; i < seq.length; i++) {
              if (seq[i] == video) {
                emb.set(new NDIndex("{}", i), rows.get(k++));
              }
            }
            if (k != frames.size() * tokensPerFrame) {
              throw new AssertionError("placeholder count " + k);
            }
            float[] logits;
            try (KvCache fresh = llm.newCache(seq.length)) {
              NDArray all = llm.forward(emb, fresh);
              logits = all.get(seq.length - 1).toFloatArray();
            }
            int next = Sampler.argmax(logits);
            if (eos.contains(next)) {
              break;
            }
            out = Arrays.copyOf(out, out.length + 1);
            out[out.length - 1] = next;
            seq = Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = next;
          }
        }
        return out;
      }
    }
  }
}
