package io.decostream.nn.rgae;

import static io.decostream.nn.rgae.RGaeFixture.err;
import static io.decostream.nn.rgae.RGaeFixture.flatten;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.decostream.nn.llama.KvCache;
import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.PoolingMode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * R-GAE on the tiny LLaVA-NeXT-Video pack against the independent plain-PyTorch autograd reference
 * ({@code golden/rgae/make_rgae_golden.py}: retain_grad on every layer's attention, not the
 * zero-leaf trick). Spec §7.1 (taps), §7.2 (Ā), §7.5 (Text-to-Query per greedy step), §7.6
 * (Query-to-Patch, Text-to-Patch). Tolerance rule §8: max|a-b| <= tol * max(1, max|b|).
 */
public class RGaeGoldenTest {

  static final double TOL = 1e-4;
  static RGaeFixture fx;

  @BeforeAll
  static void load() throws Exception {
    fx = new RGaeFixture();
  }

  @AfterAll
  static void close() {
    fx.close();
  }

  static PoolingMode mode(String setup) {
    return switch (setup) {
      case "avg" -> PoolingMode.AVG;
      case "max" -> PoolingMode.MAX;
      default -> PoolingMode.NONE;
    };
  }

  /**
   * (a) Text-to-Query, Query-to-Patch and Text-to-Patch of K greedy steps, three projector setups.
   */
  @ParameterizedTest
  @ValueSource(strings = {"avg", "max", "linear"})
  void matchesPyTorchReference(String setup) {
    int k = Integer.parseInt(fx.ref.metadata().get("steps"));
    int g = fx.grid();
    try (NDManager m = fx.manager.newSubManager()) {
      List<float[]> feats = fx.visionFeatures();
      RGaeFixture.Prompt prompt = fx.splice(m, feats, mode(setup));
      // the spliced prompt is the reference's (checks the pipeline before explaining it)
      assertTrue(
          err(prompt.embeddings().toFloatArray(), fx.ref.readFloats(setup + "/prompt_embeddings"))
              <= 1e-5);
      assertArrayEquals(fx.ints(setup + "/visual_positions"), prompt.visualPositions());

      int[] greedy = fx.ints(setup + "/greedy_ids");
      assertEquals(k, greedy.length);
      Explanation ex =
          RGae.explainGreedy(fx.llm, prompt.embeddings(), prompt.visualPositions(), greedy);
      assertEquals(k, ex.size());
      // greedy: each explained token is the argmax of its row (same decoding as the reference)
      assertArrayEquals(greedy, ex.steps().stream().mapToInt(Explanation.Step::argmaxId).toArray());
      assertArrayEquals(greedy, ex.tokenIds());
      float[] logits = new float[k];
      for (int t = 0; t < k; t++) {
        logits[t] = ex.steps().get(t).targetLogit();
      }
      assertTrue(err(logits, fx.ref.readFloats(setup + "/target_logits")) <= 1e-5);

      float[] ttq = flatten(ex.textToQuery());
      float[] refTtq = fx.ref.readFloats(setup + "/text_to_query");
      double eTtq = err(ttq, refTtq);
      assertTrue(eTtq <= TOL, setup + " text_to_query error " + eTtq);
      assertTrue(max(refTtq) > 1e-3, "reference map is not trivially zero");

      // Query-to-Patch per frame (§7.6): identity / averaging windows / channel-argmax fractions of
      // the frame's features
      List<QueryToPatch> qtp = new ArrayList<>();
      for (float[] f : feats) {
        qtp.add(
            switch (setup) {
              case "avg" -> QueryToPatch.adaptiveAvg(g, g, g / 2, g / 2);
              case "max" -> QueryToPatch.adaptiveMax(f, g, g, fx.dv(), g / 2, g / 2);
              default -> QueryToPatch.identity(g * g);
            });
      }
      float[] qtpAll = flatten(qtp.stream().map(QueryToPatch::matrix).toArray(float[][]::new));
      double eQtp = err(qtpAll, fx.ref.readFloats(setup + "/query_to_patch"));
      assertTrue(eQtp <= 1e-6, setup + " query_to_patch error " + eQtp);

      List<float[]> ttp = new ArrayList<>();
      for (float[] row : ex.textToQuery()) {
        ttp.add(flatten(TextToPatch.perFrame(row, qtp)));
      }
      double eTtp =
          err(flatten(ttp.toArray(float[][]::new)), fx.ref.readFloats(setup + "/text_to_patch"));
      assertTrue(eTtp <= TOL, setup + " text_to_patch error " + eTtp);
      System.out.printf(
          "R-GAE %s: text_to_query %.3g, query_to_patch %.3g, text_to_patch %.3g (rel, §8)%n",
          setup, eTtq, eQtp, eTtp);
    }
  }

  /**
   * The ViT part (§7.7 PROPOSAL): one graph from the pixels through CLIP (tapped), pooling,
   * projector and the LLM; V = R_v[1:,1:] per frame and the chain TtQ·M·V against the reference
   * (retain_grad on the CLIP attention).
   */
  @Test
  void vitChainMatchesPyTorchReference() {
    int k = Integer.parseInt(fx.ref.metadata().get("steps"));
    int g = fx.grid();
    int n = g * g;
    int[] greedy = fx.ints("avg/greedy_ids");
    float[] refVit = fx.ref.readFloats("avg/vit");
    float[] refTtq = fx.ref.readFloats("avg/text_to_query");
    float[] refChain = fx.ref.readFloats("avg/text_to_patch_vit");
    try (NDManager m = fx.manager.newSubManager()) {
      RGaeFixture.Prompt prompt = fx.splice(m, fx.visionFeatures(), PoolingMode.AVG);
      NDArray pixels = m.create(fx.ref.readFloats("pixels"), new Shape(fx.frames(), 3, 28, 28));
      List<QueryToPatch> qtp =
          List.of(
              QueryToPatch.adaptiveAvg(g, g, g / 2, g / 2),
              QueryToPatch.adaptiveAvg(g, g, g / 2, g / 2));
      double eV = 0;
      double eTtq = 0;
      double eChain = 0;
      for (int t = 0; t < k; t++) {
        NDArray seq = prompt.embeddings();
        if (t > 0) {
          seq = seq.concat(fx.llm.embed(m, java.util.Arrays.copyOf(greedy, t)), 0);
        }
        RGae.VisionStep vs =
            RGae.explainStepWithVision(
                fx.llm,
                fx.tower,
                pixels,
                fx.config.visionHiddenStateIndex(),
                feats ->
                    fx.projector.forward(
                        AdaptivePool2d.pool(feats, g, g, g / 2, g / 2, PoolingMode.AVG)
                            .reshape(-1, fx.dv())),
                seq,
                prompt.visualPositions(),
                greedy[t]);
        assertEquals(greedy[t], vs.step().argmaxId());
        int per = prompt.visualPositions().length;
        eTtq =
            Math.max(
                eTtq,
                err(
                    vs.step().textToQuery(),
                    java.util.Arrays.copyOfRange(refTtq, t * per, (t + 1) * per)));
        eV =
            Math.max(
                eV,
                err(
                    flatten(vs.vit()),
                    java.util.Arrays.copyOfRange(refVit, t * 2 * n * n, (t + 1) * 2 * n * n)));
        eChain =
            Math.max(
                eChain,
                err(
                    flatten(vs.chain(qtp)),
                    java.util.Arrays.copyOfRange(refChain, t * 2 * n, (t + 1) * 2 * n)));
      }
      // the ViT part is not trivially the identity (V = I + Ā_v of the single CLIP layer that runs)
      double offIdentity = 0;
      for (int i = 0; i < refVit.length; i++) {
        int r = (i / n) % n;
        int c = i % n;
        offIdentity = Math.max(offIdentity, Math.abs(refVit[i] - (r == c ? 1f : 0f)));
      }
      assertTrue(offIdentity > 1e-2, "reference V is (nearly) the identity: " + offIdentity);
      assertTrue(eTtq <= TOL, "text_to_query (with ViT graph) error " + eTtq);
      assertTrue(eV <= TOL, "V error " + eV);
      assertTrue(eChain <= TOL, "TtQ·M·V error " + eChain);
      System.out.printf(
          "R-GAE ViT: text_to_query %.3g, V %.3g, chain %.3g (rel, §8)%n", eTtq, eV, eChain);
    }
  }

  /**
   * Ā of every layer (§7.2) from the zero-leaf gradients equals autograd's retain_grad gradients
   * (§8: 1e-5).
   */
  @Test
  void headAveragedRelevanceMatchesRetainGrad() {
    try (NDManager m = fx.manager.newSubManager()) {
      RGaeFixture.Prompt prompt = fx.splice(m, fx.visionFeatures(), PoolingMode.AVG);
      int target = fx.ints("avg/greedy_ids")[0];
      int len = (int) prompt.embeddings().getShape().get(0);
      try (AttentionRecorder rec = new AttentionRecorder(m)) {
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
          NDArray logits = fx.llm.forwardTapped(prompt.embeddings(), rec);
          gc.backward(logits.get(new NDIndex("{}, {}", len - 1, target)));
        }
        assertEquals(2, rec.layers());
        assertArrayEquals(new long[] {4, len, len}, rec.probabilities(0).getShape().getShape());
        List<NDArray> abars = rec.headAveraged(m);
        float[] all = flatten(abars.stream().map(NDArray::toFloatArray).toArray(float[][]::new));
        double e = err(all, fx.ref.readFloats("avg/abar_step0"));
        assertTrue(e <= 1e-5, "Ā error " + e);
        // the cheap last-row propagation equals the last row of the full R (§7.2)
        NDArray full = RGae.relevanceMatrix(abars);
        float[] lastOfFull = full.get(new NDIndex("{}", len - 1)).toFloatArray();
        assertTrue(err(RGae.lastRow(abars).toFloatArray(), lastOfFull) <= 1e-6);
        // causal: Ā is lower-triangular
        float[] a0 = abars.get(0).toFloatArray();
        for (int i = 0; i < len; i++) {
          for (int j = i + 1; j < len; j++) {
            assertEquals(0f, a0[i * len + j], "Ā[" + i + "," + j + "]");
          }
        }
      }
    }
  }

  /** (d) the tapped forward's logits equal the ordinary forward's, and it leaves caches alone. */
  @Test
  void tappedForwardEqualsUntappedForward() {
    try (NDManager m = fx.manager.newSubManager();
        KvCache cache = fx.llm.newCache(fx.llm.contextLength())) {
      RGaeFixture.Prompt prompt = fx.splice(m, fx.visionFeatures(), PoolingMode.MAX);
      float[] plain = fx.llm.forward(prompt.embeddings(), cache).toFloatArray();
      assertEquals(prompt.embeddings().getShape().get(0), cache.length());
      float[] identityTap = fx.llm.forwardTapped(prompt.embeddings(), a -> a).toFloatArray();
      float[] recorded;
      try (AttentionRecorder rec = new AttentionRecorder(m);
          GradientCollector gc = m.getEngine().newGradientCollector()) {
        recorded = fx.llm.forwardTapped(prompt.embeddings(), rec).toFloatArray();
      }
      assertTrue(
          err(identityTap, plain) <= 1e-6, "identity tap vs forward " + err(identityTap, plain));
      assertTrue(err(recorded, plain) <= 1e-6, "zero-leaf tap vs forward " + err(recorded, plain));
      assertEquals(
          prompt.embeddings().getShape().get(0),
          cache.length(),
          "the tapped path must not touch a cache");
      // a tap returning the wrong shape is reported
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () -> fx.llm.forwardTapped(prompt.embeddings(), a -> a.sum(new int[] {0})));
      assertTrue(e.getMessage().contains("attention tap"), e.getMessage());
    }
  }

  @Test
  void rejectsBadInputs() {
    try (NDManager m = fx.manager.newSubManager()) {
      RGaeFixture.Prompt prompt = fx.splice(m, fx.visionFeatures(), PoolingMode.AVG);
      int len = (int) prompt.embeddings().getShape().get(0);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  RGae.explainGreedy(fx.llm, prompt.embeddings(), new int[] {len}, new int[] {1}));
      assertTrue(e.getMessage().contains("visual position"), e.getMessage());
      e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  RGae.explainGreedy(
                      fx.llm, prompt.embeddings(), prompt.visualPositions(), new int[] {999}));
      assertTrue(e.getMessage().contains("vocabulary"), e.getMessage());
      e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  RGae.explainGreedy(
                      fx.llm, prompt.embeddings(), prompt.visualPositions(), new int[0]));
      assertTrue(e.getMessage().contains("no generated tokens"), e.getMessage());
      int[] tooMany = new int[fx.llm.contextLength()];
      e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  RGae.explainGreedy(
                      fx.llm, prompt.embeddings(), prompt.visualPositions(), tooMany));
      assertTrue(e.getMessage().contains("context length"), e.getMessage());
    }
  }

  static float max(float[] a) {
    float m = Float.NEGATIVE_INFINITY;
    for (float v : a) {
      m = Math.max(m, v);
    }
    return m;
  }
}
