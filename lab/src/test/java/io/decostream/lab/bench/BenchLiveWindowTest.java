package io.decostream.lab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.weights.Precision;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The benchmark's live window answers as the full re-prefill does, and leaves the window as it was;
 * the 16-bit load says "not yet" instead of inventing a figure.
 */
public class BenchLiveWindowTest {

  @TempDir Path tmp;

  @Test
  void liveWindowFirstTokenEqualsFullReprefillAndRestoresTheWindow() {
    ModelBench.Sizes s = ModelBench.Sizes.quick();
    Path file = tmp.resolve("text.safetensors");
    ModelBench.writeText(s, file, 3);
    int tpf = 16;
    int frames = 3;
    try (NDManager root = NDManager.newBaseManager();
        BenchModels.LoadedLlama loaded =
            BenchModels.loadLlama(file, s.text(), Precision.F32, root)) {
      LlamaModel model = loaded.model();
      NDArray window =
          root.randomNormal(
              0f, 0.5f, new Shape(frames * tpf, model.hiddenSize()), DataType.FLOAT32);
      NDArray question = model.embed(root, new int[] {5, 17, 42, 7, 99});
      int total = frames * tpf + 5;
      NDArray full;
      try (KvCache cache = model.newCache(total)) {
        full = model.forwardLast(window.concat(question), cache);
      }
      float[] logits = full.toFloatArray();
      int best = (int) full.argMax().getLong();
      float second = Float.NEGATIVE_INFINITY;
      for (int i = 0; i < logits.length; i++) {
        if (i != best) {
          second = Math.max(second, logits[i]);
        }
      }
      Assumptions.assumeTrue(
          logits[best] - second > 1e-4, "random logits too close to compare argmax");
      try (LiveWindow w = LiveWindow.open(model, total)) {
        for (int f = 0; f < frames; f++) {
          w.appendFrame(window.get(f * tpf + ":" + (f + 1) * tpf));
        }
        assertEquals(frames * tpf, w.length());
        assertEquals(best, w.firstToken(question));
        assertEquals(frames * tpf, w.length(), "the question is rolled back off the window");
        assertEquals(best, w.firstToken(question), "a second question sees the same window");
        assertTrue(w.describe().contains("KV cache"), w.describe());
      }
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Precision.class,
      names = {"F16", "BF16"})
  void sixteenBitLoadHoldsHalfTheBytes(Precision p) throws Exception {
    ModelBench.Sizes s = ModelBench.Sizes.quick();
    Path file = tmp.resolve("text16.safetensors");
    ModelBench.writeText(s, file, 11);
    try (NDManager root = NDManager.newBaseManager();
        BenchModels.LoadedLlama half = BenchModels.loadLlama(file, s.text(), p, root)) {
      assertEquals(p, half.model().precision());
      assertEquals(2, half.precision().bytes());
      assertEquals(
          2L * half.model().vocabSize() * half.model().hiddenSize(),
          half.weights()
                  .bind(
                      "model.embed_tokens.weight",
                      p,
                      half.model().vocabSize(),
                      half.model().hiddenSize())
                  .getShape()
                  .size()
              * p.dataType().getNumOfBytes(),
          "the embeddings held at two bytes a weight");
    }
  }
}
