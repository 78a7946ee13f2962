package io.decostream.projector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Shared helpers of QFormerTest / CAbstractorTest: fixtures of make_baseline_goldens.py, gradients.
 */
final class BaselineFixtures {

  /** A fixture file: its weights (every tensor but input/expected), input and torch output. */
  record Fixture(
      Map<String, NDArray> weights, NDArray input, float[] expected, Shape expectedShape) {}

  static Fixture load(NDManager m, String file) {
    Map<String, Golden.Tensor> g = Golden.load("baselines/" + file);
    Map<String, NDArray> weights = new TreeMap<>();
    for (Map.Entry<String, Golden.Tensor> e : g.entrySet()) {
      if (!e.getKey().equals("input") && !e.getKey().equals("expected")) {
        weights.put(e.getKey(), create(m, e.getValue()));
      }
    }
    Golden.Tensor exp = g.get("expected");
    return new Fixture(weights, create(m, g.get("input")), exp.f32(), new Shape(exp.shape()));
  }

  static NDArray create(NDManager m, Golden.Tensor t) {
    return m.create(t.f32(), new Shape(t.shape()));
  }

  /** Copy of a weight map with one entry replaced (value null: removed). */
  static Map<String, NDArray> with(Map<String, NDArray> w, String name, NDArray value) {
    Map<String, NDArray> copy = new LinkedHashMap<>(w);
    if (value == null) {
      copy.remove(name);
    } else {
      copy.put(name, value);
    }
    return copy;
  }

  /**
   * Backward of {@code loss = sum(forward(v) * r)} (a fixed random projection: a plain sum of a
   * LayerNorm output would have zero gradient upstream) with every weight and the input marked as
   * requiring gradients. Returns the gradients (copied to float arrays) by name, plus "input".
   */
  static Map<String, float[]> gradients(
      NDManager m, Map<String, NDArray> weights, NDArray v, Function<NDArray, NDArray> forward) {
    weights.values().forEach(a -> a.setRequiresGradient(true));
    v.setRequiresGradient(true);
    Map<String, float[]> grads = new LinkedHashMap<>();
    // Only one GradientCollector may be open per process: these tests run single-threaded.
    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      NDArray out = forward.apply(v);
      gc.backward(loss(m, out));
    }
    for (Map.Entry<String, NDArray> e : weights.entrySet()) {
      grads.put(e.getKey(), e.getValue().getGradient().toFloatArray());
    }
    grads.put("input", v.getGradient().toFloatArray());
    return grads;
  }

  /** {@code sum(out * r)} with a fixed pseudo-random {@code r} (java.util.Random(7), N(0,1)). */
  static NDArray loss(NDManager m, NDArray out) {
    java.util.Random rnd = new java.util.Random(7);
    float[] r = new float[Math.toIntExact(out.getShape().size())];
    for (int i = 0; i < r.length; i++) {
      r[i] = (float) rnd.nextGaussian();
    }
    return out.mul(m.create(r, out.getShape())).sum();
  }

  static double maxAbs(float[] a) {
    double m = 0;
    for (float x : a) {
      m = Math.max(m, Math.abs(x));
    }
    return m;
  }

  static void assertAllFinite(String name, float[] a) {
    for (int i = 0; i < a.length; i++) {
      assertTrue(Float.isFinite(a[i]), name + "[" + i + "] = " + a[i]);
    }
  }

  /** Golden comparison with the spec §8 tolerance rule; returns the relative error. */
  static double assertMatches(NDArray actual, Fixture f, double tol) {
    assertEquals(f.expectedShape(), actual.getShape());
    double rel = Golden.relErr(actual.toFloatArray(), f.expected());
    assertTrue(rel <= tol, "rel err " + rel + " > " + tol);
    return rel;
  }

  private BaselineFixtures() {}
}
