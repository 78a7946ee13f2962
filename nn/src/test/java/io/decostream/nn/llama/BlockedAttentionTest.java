package io.decostream.nn.llama;

import static io.decostream.nn.llama.LlamaModelTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.decostream.nn.config.LlamaConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 20 point 4: the blocked causal attention of passes without a tap or trace (serving with a
 * cache, training without a trace) equals the full [T, L] path that R-GAE's tap and the training
 * trace still take (tolerance: max |diff| <= 1e-4 * max(1, max |ref|), spec §8), on random tiny
 * models whose sequences span several query blocks, with and without a cache prefix, with GQA.
 */
public class BlockedAttentionTest {

  /** The full path: an identity tap makes the decoder take the materialised [nH, T, T] route. */
  private static final UnaryOperator<NDArray> FULL = a -> a;

  /** hidden, heads, kvHeads: head dims 16 (scale 4, exact) and 12 (scale sqrt(12), inexact). */
  private static LlamaConfig config(int hidden, int heads, int kvHeads) {
    return RandomLlama.config(hidden, 2, heads, kvHeads, 96, 61, 256);
  }

  /** By default a block takes 128 query rows; a block set by hand holds, and 0 restores it. */
  @Test
  void aBlockSetByHandHoldsAndZeroRestoresTheDefault() {
    try (NDManager m = NDManager.newBaseManager()) {
      LlamaModel model = RandomLlama.build(config(64, 4, 2), m, 0.2f, 7, null);
      assertEquals(LlamaModel.DEFAULT_ATTENTION_BLOCK, model.blockRows());
      assertEquals(128, LlamaModel.DEFAULT_ATTENTION_BLOCK);
      model.attentionBlock(16);
      assertEquals(16, model.blockRows());
      model.attentionBlock(0);
      assertEquals(128, model.blockRows());
      assertThrows(IllegalArgumentException.class, () -> model.attentionBlock(-1));
    }
  }

  @ParameterizedTest(name = "hidden {0}, heads {1}/{2}, block {3}, T {4}")
  @CsvSource({
    "64, 4, 2, 16, 70", // GQA, 5 blocks, the last partial
    "48, 4, 4, 16, 64", // MHA, hd 12, 4 full blocks
    "64, 4, 1, 32, 33", // MQA, a 1-row last block
    "64, 4, 2, 256, 70" // one block: the whole pass
  })
  void cachedForwardEqualsTheFullPath(int hidden, int heads, int kvHeads, int block, int t) {
    try (NDManager m = NDManager.newBaseManager()) {
      LlamaModel model = RandomLlama.build(config(hidden, heads, kvHeads), m, 0.2f, 7, null);
      model.attentionBlock(block);
      NDArray x = m.randomNormal(0f, 1f, new Shape(t, hidden), DataType.FLOAT32);
      float[] full = model.forwardTapped(x, FULL).toFloatArray();
      int v = model.vocabSize();
      // one pass with a fresh cache
      try (NDManager s = m.newSubManager();
          KvCache c = model.newCache(t)) {
        assertClose(full, model.forward(x, c).toFloatArray(), 1e-4, "one pass");
      }
      // a cache prefix of 23 rows (not a block multiple), then the rest in one pass, then the last
      // row again with forwardLast after a truncate
      int p = 23;
      try (NDManager s = m.newSubManager();
          KvCache c = model.newCache(t)) {
        float[] head = model.forward(x.get(s, new NDIndex("0:{}", p)), c).toFloatArray();
        assertClose(slice(full, 0, p, v), head, 1e-4, "prefix rows");
        float[] rest = model.forward(x.get(s, new NDIndex("{}:", p)), c).toFloatArray();
        assertClose(slice(full, p, t, v), rest, 1e-4, "rows after a cached prefix");
        assertEquals(t, c.length());
        c.truncate(p);
        float[] last = model.forwardLast(x.get(s, new NDIndex("{}:", p)), c).toFloatArray();
        assertClose(slice(full, t - 1, t, v), last, 1e-4, "forwardLast after a prefix");
      }
      model.close();
    }
  }

  @ParameterizedTest(name = "chunk {0}")
  @ValueSource(ints = {1, 7, 16, 64, 200})
  void chunkedPrefillEqualsOnePass(int chunk) {
    int t = 64;
    try (NDManager m = NDManager.newBaseManager()) {
      LlamaModel model = RandomLlama.build(config(64, 4, 2), m, 0.2f, 5, null);
      model.attentionBlock(16);
      NDArray x = m.randomNormal(0f, 1f, new Shape(t, 64), DataType.FLOAT32);
      float[] full = model.forwardTapped(x, FULL).toFloatArray();
      int v = model.vocabSize();
      try (NDManager s = m.newSubManager();
          KvCache c = model.newCache(t)) {
        // 10 rows already cached, then the rest through prefill, then the cache holds what a
        // one-pass forward would have written: redoing the last row reads it back
        model.forward(x.get(s, new NDIndex("0:10")), c);
        NDArray last = model.prefill(x.get(s, new NDIndex("10:")), c, chunk);
        assertEquals(new Shape(v), last.getShape());
        assertClose(slice(full, t - 1, t, v), last.toFloatArray(), 1e-4, "prefill's last row");
        assertEquals(t, c.length());
        c.truncate(t - 1);
        float[] again = model.forward(x.get(s, new NDIndex("{}:", t - 1)), c).toFloatArray();
        assertClose(slice(full, t - 1, t, v), again, 1e-4, "last row over the prefilled cache");
      }
      try (NDManager s = m.newSubManager();
          KvCache c = model.newCache(t)) {
        assertThrows(IllegalArgumentException.class, () -> model.prefill(x, c, 0));
      }
      model.close();
    }
  }

  @ParameterizedTest(name = "block {0}, T {1}")
  @CsvSource({"16, 50", "8, 21"})
  void batchedTrainingForwardAndGradientsEqualTheTracedPath(int block, int t) {
    int hidden = 64;
    int b = 3;
    try (NDManager m = NDManager.newBaseManager()) {
      Map<String, NDArray> w = new LinkedHashMap<>();
      LlamaModel model = RandomLlama.build(config(hidden, 4, 2), m, 0.2f, 11, w);
      model.attentionBlock(block);
      NDArray wq = w.get("layers.0.self_attn.q_proj.weight");
      NDArray wk = w.get("layers.1.self_attn.k_proj.weight");
      wq.setRequiresGradient(true);
      wk.setRequiresGradient(true);
      NDArray x = m.randomNormal(0f, 1f, new Shape(b, t, hidden), DataType.FLOAT32);
      NDArray probe = m.randomNormal(0f, 1f, new Shape(b, t, model.vocabSize()), DataType.FLOAT32);
      // the trace sends the pass down the full path; it records row 0 and changes nothing else
      NDArray select = m.zeros(new Shape(b, 1, 1, t)).concat(m.zeros(new Shape(b, 1, 1, t)), 2);
      float[][] ref = run(m, model, x, probe, DecoderTrace.attention(select), wq, wk);
      float[][] got = run(m, model, x, probe, null, wq, wk);
      assertClose(ref[0], got[0], 1e-4, "batched logits");
      assertClose(ref[1], got[1], 1e-4, "dL/dWq of layer 0");
      assertClose(ref[2], got[2], 1e-4, "dL/dWk of layer 1");
      model.close();
    }
  }

  /** Logits and the gradients of sum(logits * probe) with respect to the two weights. */
  private static float[][] run(
      NDManager m,
      LlamaModel model,
      NDArray x,
      NDArray probe,
      DecoderTrace trace,
      NDArray wq,
      NDArray wk) {
    int t = Math.toIntExact(x.getShape().get(1));
    try (NDManager s = m.newSubManager();
        GradientCollector gc = m.getEngine().newGradientCollector()) {
      gc.zeroGradients();
      NDArray logits = trace == null ? model.logits(x) : model.logits(x, 0, t, trace);
      gc.backward(logits.mul(probe).sum());
      return new float[][] {
        logits.toFloatArray(), wq.getGradient().toFloatArray(), wk.getGradient().toFloatArray()
      };
    }
  }

  private static float[] slice(float[] rows, int from, int to, int v) {
    return java.util.Arrays.copyOfRange(rows, from * v, to * v);
  }
}
