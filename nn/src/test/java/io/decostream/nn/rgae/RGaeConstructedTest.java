package io.decostream.nn.rgae;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.projector.PoolingMode;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * (c) A constructed case whose answer can depend on one image region only. A one-layer Llama (the
 * pack's first layer, no attention biases) sees a prompt whose visual rows are all zero except
 * query {@code j*}: a zero row has {@code v = RMSNorm(0) W_v = 0}, so {@code ∂y/∂A[L-1, j] =
 * (∂y/∂o)·v_j = 0} and, with one layer, {@code R = I + Ā}, every other visual token gets exactly
 * zero relevance. Text-to-Patch through 2x2 average pooling must then put all its mass on the four
 * patches of window {@code j*} of that frame (spec §7.2, §7.5, §7.6).
 */
public class RGaeConstructedTest {

  @Test
  void relevanceLandsOnTheOnlyInformativeRegion() throws Exception {
    try (RGaeFixture fx = new RGaeFixture()) {
      ObjectMapper json = new ObjectMapper();
      ObjectNode tree = json.valueToTree(fx.config.textConfig());
      tree.put("num_hidden_layers", 1);
      LlamaConfig oneLayer = json.treeToValue(tree, LlamaConfig.class);
      try (LlamaModel llm = fx.newLlm(oneLayer);
          NDManager m = fx.manager.newSubManager()) {
        RGaeFixture.Prompt prompt = fx.splice(m, fx.visionFeatures(), PoolingMode.AVG);
        int[] vis = prompt.visualPositions(); // 2 frames x 4 queries
        int hot = 5; // frame 1, query 1 = rows 0-1, cols 2-3 of the 4x4 patch grid
        NDArray emb = prompt.embeddings().duplicate();
        Random rnd = new Random(3);
        for (int i = 0; i < vis.length; i++) {
          float[] row = new float[llm.hiddenSize()];
          if (i == hot) {
            for (int d = 0; d < row.length; d++) {
              row[d] = (float) (2 * rnd.nextGaussian());
            }
          }
          emb.set(new NDIndex("{}", vis[i]), m.create(row, new Shape(row.length)));
        }
        // the target is the model's own greedy token for this prompt
        int target;
        try (KvCache cache = llm.newCache(llm.contextLength())) {
          target = (int) llm.forwardLast(emb, cache).argMax().getLong();
        }
        Explanation ex = RGae.explainGreedy(llm, emb, vis, new int[] {target});
        float[] ttq = ex.steps().get(0).textToQuery();
        for (int i = 0; i < vis.length; i++) {
          if (i != hot) {
            assertEquals(0f, ttq[i], "zero visual row " + i + " must get no relevance");
          }
        }
        assertTrue(ttq[hot] > 1e-4, "the informative token must be relevant, got " + ttq[hot]);

        float[][] ttp = TextToPatch.perFrame(ttq, 2, QueryToPatch.adaptiveAvg(4, 4, 2, 2));
        double total = 0;
        double window = 0;
        for (int f = 0; f < 2; f++) {
          for (int p = 0; p < 16; p++) {
            total += ttp[f][p];
            int r = p / 4;
            int c = p % 4;
            if (f == 1 && r < 2 && c >= 2) {
              window += ttp[f][p];
              assertEquals(ttq[hot] / 4, ttp[f][p], 1e-7, "patch " + p);
            }
          }
        }
        assertEquals(
            1.0, window / total, 1e-6, "all Text-to-Patch mass lies in the informative window");
      }
    }
  }
}
