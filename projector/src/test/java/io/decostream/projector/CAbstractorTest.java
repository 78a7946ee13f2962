package io.decostream.projector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.decostream.projector.BaselineFixtures.Fixture;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Honeybee C-Abstractor (spec §3.6) against the plain-torch reference of make_baseline_goldens.py
 * (timm RegStage/Bottleneck/SE/LayerNorm2d, F.adaptive_avg_pool2d; §8 tolerance rule, 1e-5), strict
 * weight binding, initialisation and gradient flow.
 */
class CAbstractorTest {

  /** cabstractor.safetensors: Dv 12 ≠ hidden 16 (downsample shortcut, SE squeeze 3 then 4). */
  static final CAbstractorConfig MAIN = new CAbstractorConfig(12, 6, 16, 2, 3, 24);

  /** cabstractor_overlap.safetensors: 5x5 → 3x3 (overlapping windows), identity shortcut. */
  static final CAbstractorConfig OVERLAP = new CAbstractorConfig(16, 5, 16, 1, 3, 8);

  @Test
  void matchesTorchReference() {
    try (NDManager m = NDManager.newBaseManager()) {
      Fixture f = BaselineFixtures.load(m, "cabstractor.safetensors");
      CAbstractor ca = new CAbstractor(MAIN, f.weights());
      assertEquals(9, ca.outputTokens());
      assertEquals(24, ca.outputWidth());
      NDArray y = ca.forward(f.input());
      assertEquals(new Shape(2, 9, 24), y.getShape());
      BaselineFixtures.assertMatches(y, f, 1e-5);
      assertSame(m, y.getManager());
      assertSame(m, f.input().getManager());
    }
  }

  @Test
  void matchesTorchReferenceWithOverlappingPoolWindows() {
    try (NDManager m = NDManager.newBaseManager()) {
      Fixture f = BaselineFixtures.load(m, "cabstractor_overlap.safetensors");
      NDArray y = new CAbstractor(OVERLAP, f.weights()).forward(f.input());
      BaselineFixtures.assertMatches(y, f, 1e-5);
    }
  }

  @Test
  void seSqueezeUsesTheBlockInputWidth() {
    // timm Bottleneck: se_channels = round(in_chs * se_ratio), applied to the out channels
    Map<String, Shape> s = CAbstractor.weightShapes(MAIN);
    assertEquals(new Shape(3, 16, 1, 1), s.get("net.0.b1.se.fc1.weight")); // round(12 * .25)
    assertEquals(new Shape(16, 3, 1, 1), s.get("net.0.b1.se.fc2.weight"));
    assertEquals(new Shape(4, 16, 1, 1), s.get("net.0.b2.se.fc1.weight")); // round(16 * .25)
    assertEquals(new Shape(4, 16, 1, 1), s.get("net.2.b1.se.fc1.weight"));
    assertEquals(new Shape(16, 12, 1, 1), s.get("net.0.b1.downsample.conv.weight"));
    assertFalse(s.containsKey("net.0.b2.downsample.conv.weight"));
    assertFalse(s.containsKey("net.2.b1.downsample.conv.weight"));
    assertEquals(new Shape(16, 1, 3, 3), s.get("net.2.b2.conv2.conv.weight")); // depthwise
    // Python round is half-to-even: round(10 * .25) = round(2.5) = 2, round(14 * .25) = 4
    assertEquals(2, new CAbstractorConfig(10, 4, 14, 1, 2, 8).seChannels(10));
    assertEquals(4, new CAbstractorConfig(10, 4, 14, 1, 2, 8).seChannels(14));
    // depth 0: pool + readout only
    assertEquals(
        List.of(
            "pos_emb", "readout.0.weight", "readout.0.bias", "readout.2.weight", "readout.2.bias"),
        new ArrayList<>(
            CAbstractor.weightShapes(new CAbstractorConfig(8, 4, 8, 0, 2, 6)).keySet()));
  }

  @Test
  void depthZeroIsPoolThenReadout() {
    try (NDManager m = NDManager.newBaseManager()) {
      CAbstractorConfig c = new CAbstractorConfig(8, 4, 8, 0, 2, 6);
      Map<String, NDArray> w = CAbstractor.initWeights(m, c, 5);
      NDArray v = m.randomNormal(new Shape(2, 16, 8));
      NDArray y = new CAbstractor(c, w).forward(v);
      // independent path: pure-Java exact adaptive pool, then the readout MLP
      NDArray x = v.add(w.get("pos_emb"));
      float[] flat = x.toFloatArray();
      float[] pooled = new float[2 * 4 * 8];
      for (int bi = 0; bi < 2; bi++) {
        float[] one = java.util.Arrays.copyOfRange(flat, bi * 128, bi * 128 + 128);
        System.arraycopy(
            AdaptivePool2d.pool(one, 4, 4, 8, 2, 2, PoolingMode.AVG), 0, pooled, bi * 32, 32);
      }
      NDArray p = m.create(pooled, new Shape(2, 4, 8));
      NDArray h =
          BlockWeights.silu(
              BlockWeights.linear(p, w.get("readout.0.weight"), w.get("readout.0.bias")));
      NDArray ref = BlockWeights.linear(h, w.get("readout.2.weight"), w.get("readout.2.bias"));
      assertTrue(Golden.absErr(y.toFloatArray(), ref.toFloatArray()) < 1e-6);
    }
  }

  @Test
  void rejectsMissingUnusedAndMisshapedWeights() {
    try (NDManager m = NDManager.newBaseManager()) {
      Map<String, NDArray> w = CAbstractor.initWeights(m, MAIN, 1);
      String name = "net.0.b1.downsample.bn.bias";
      IllegalArgumentException missing =
          assertThrows(
              IllegalArgumentException.class,
              () -> new CAbstractor(MAIN, BaselineFixtures.with(w, name, null)));
      assertTrue(
          missing.getMessage().contains("missing") && missing.getMessage().contains(name),
          missing.getMessage());

      // the "out" reading of the SE squeeze (round(16*.25)=4) must be rejected for block net.0.b1
      String se = "net.0.b1.se.fc1.weight";
      IllegalArgumentException shape =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  new CAbstractor(
                      MAIN, BaselineFixtures.with(w, se, m.zeros(new Shape(4, 16, 1, 1)))));
      assertTrue(
          shape.getMessage().contains(se) && shape.getMessage().contains("(3, 16, 1, 1)"),
          shape.getMessage());

      String extra = "net.2.b1.downsample.conv.weight";
      IllegalArgumentException unused =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  new CAbstractor(
                      MAIN, BaselineFixtures.with(w, extra, m.zeros(new Shape(16, 16, 1, 1)))));
      assertTrue(
          unused.getMessage().contains("unused") && unused.getMessage().contains(extra),
          unused.getMessage());

      CAbstractor ca = new CAbstractor(MAIN, w);
      IllegalArgumentException in =
          assertThrows(
              IllegalArgumentException.class, () -> ca.forward(m.zeros(new Shape(1, 35, 12))));
      assertTrue(in.getMessage().contains("g*g=36"), in.getMessage());
    }
  }

  @Test
  void configValidation() {
    assertThrows(IllegalArgumentException.class, () -> new CAbstractorConfig(12, 6, 16, 0, 3, 24));
    assertThrows(IllegalArgumentException.class, () -> new CAbstractorConfig(12, 6, 16, 2, 7, 24));
    assertThrows(IllegalArgumentException.class, () -> new CAbstractorConfig(12, 6, 16, -1, 3, 24));
    assertThrows(
        IllegalArgumentException.class, () -> new CAbstractorConfig(12, 6, 16, 2, 3, 24, 0.0));
    assertThrows(
        IllegalArgumentException.class, () -> new CAbstractorConfig(1, 6, 16, 2, 3, 24, 0.25));
    assertEquals(36, MAIN.inputTokens());
    assertEquals(9, MAIN.outputTokens());
  }

  @Test
  void initWeightsFollowShapesAndSeed() {
    try (NDManager m = NDManager.newBaseManager()) {
      Map<String, Shape> shapes = CAbstractor.weightShapes(MAIN);
      Map<String, NDArray> a = CAbstractor.initWeights(m, MAIN, 42);
      Map<String, NDArray> b = CAbstractor.initWeights(m, MAIN, 42);
      Map<String, NDArray> c = CAbstractor.initWeights(m, MAIN, 43);
      assertEquals(new ArrayList<>(shapes.keySet()), new ArrayList<>(a.keySet()));
      for (Map.Entry<String, Shape> e : shapes.entrySet()) {
        String n = e.getKey();
        assertEquals(e.getValue(), a.get(n).getShape(), n);
        assertArrayEquals(a.get(n).toFloatArray(), b.get(n).toFloatArray(), 0f, n);
        float[] v = a.get(n).toFloatArray();
        if (n.endsWith(".bn.weight")) {
          for (float x : v) assertEquals(1f, x, n);
        } else if (n.endsWith(".bias")) {
          for (float x : v) assertEquals(0f, x, n);
        } else {
          assertFalse(a.get(n).contentEquals(c.get(n)), n + " does not depend on the seed");
          double sq = 0;
          for (float x : v) sq += x * x;
          double std = Math.sqrt(sq / v.length);
          double want =
              e.getValue().dimension() == 4
                  ? Math.sqrt(
                      2.0
                          / (e.getValue().get(0)
                              * e.getValue().get(2)
                              * e.getValue().get(3)
                              / (n.endsWith("conv2.conv.weight") ? e.getValue().get(0) : 1)))
                  : 0.02;
          assertTrue(std > 0.5 * want && std < 1.6 * want, n + " std " + std + " want ~" + want);
        }
      }
      NDArray y = new CAbstractor(MAIN, a).forward(m.randomNormal(new Shape(1, 36, 12)));
      assertEquals(new Shape(1, 9, 24), y.getShape());
      float[] yv = y.toFloatArray();
      BaselineFixtures.assertAllFinite("init output", yv);
    }
  }

  @Test
  void gradientsReachEveryWeight() {
    try (NDManager m = NDManager.newBaseManager()) {
      Fixture f = BaselineFixtures.load(m, "cabstractor.safetensors");
      CAbstractor ca = new CAbstractor(MAIN, f.weights());
      Map<String, float[]> g = BaselineFixtures.gradients(m, f.weights(), f.input(), ca::forward);
      assertEquals(CAbstractor.weightShapes(MAIN).size() + 1, g.size());
      for (Map.Entry<String, float[]> e : g.entrySet()) {
        BaselineFixtures.assertAllFinite(e.getKey(), e.getValue());
        double mx = BaselineFixtures.maxAbs(e.getValue());
        assertTrue(mx > 1e-6, e.getKey() + " has no gradient (max |g| = " + mx + ")");
      }
      // autograd vs a central finite difference along a random direction of pos_emb (the
      // path through both RegStages and the pooling matrix)
      NDArray pe = f.weights().get("pos_emb");
      float[] grad = g.get("pos_emb");
      java.util.Random rnd = new java.util.Random(3);
      float[] dir = new float[grad.length];
      double analytic = 0;
      for (int i = 0; i < dir.length; i++) {
        dir[i] = (float) rnd.nextGaussian();
        analytic += dir[i] * grad[i];
      }
      float[] base = pe.toFloatArray();
      double eps = 1e-2;
      float[] shifted = new float[base.length];
      for (int i = 0; i < base.length; i++) shifted[i] = (float) (base[i] + eps * dir[i]);
      pe.set(shifted);
      double plus = BaselineFixtures.loss(m, ca.forward(f.input())).getFloat();
      for (int i = 0; i < base.length; i++) shifted[i] = (float) (base[i] - eps * dir[i]);
      pe.set(shifted);
      double minus = BaselineFixtures.loss(m, ca.forward(f.input())).getFloat();
      pe.set(base);
      double numeric = (plus - minus) / (2 * eps);
      assertEquals(
          analytic,
          numeric,
          0.02 * Math.max(1, Math.abs(analytic)),
          "directional derivative: autograd " + analytic + " vs finite difference " + numeric);
    }
  }

  @Test
  void forwardReleasesItsIntermediates() {
    try (NDManager m = NDManager.newBaseManager();
        NDManager weights = m.newSubManager();
        NDManager inputs = m.newSubManager()) {
      CAbstractor block = new CAbstractor(MAIN, CAbstractor.initWeights(weights, MAIN, 9));
      int nWeights = CAbstractor.weightShapes(MAIN).size();
      assertEquals(nWeights, weights.getManagedArrays().size());
      NDArray v = inputs.randomNormal(new Shape(2, 36, 12));
      for (int step = 0; step < 3; step++) {
        NDArray y = block.forward(v);
        assertEquals(new Shape(2, 9, 24), y.getShape());
        assertSame(inputs, y.getManager());
        y.close();
      }
      // nothing computed in forward stays behind on either manager
      assertEquals(nWeights, weights.getManagedArrays().size());
      assertEquals(List.of(v), inputs.getManagedArrays());
    }
  }
}
