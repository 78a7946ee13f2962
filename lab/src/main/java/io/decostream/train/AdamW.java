package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * AdamW (Loshchilov & Hutter: decoupled weight decay) on named NDArray parameters, with global-norm
 * gradient clipping and a savable state (first and second moments and the step count) so training
 * can resume exactly. Updates run outside any GradientCollector, in place, as DJL's own optimizers
 * do.
 */
final class AdamW {

  private final Map<String, NDArray> params;
  private final Map<String, NDArray> m = new LinkedHashMap<>();
  private final Map<String, NDArray> v = new LinkedHashMap<>();
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final Predicate<String> decays;
  private long step;

  /**
   * @param decays which parameters get weight decay (by convention not biases, norms and embeddings
   *     of positions/classes)
   */
  AdamW(
      Map<String, NDArray> params,
      double beta1,
      double beta2,
      double eps,
      double weightDecay,
      Predicate<String> decays) {
    this.params = params;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.decays = decays;
    params.forEach(
        (name, p) -> {
          NDManager pm = p.getManager();
          m.put(name, pm.zeros(p.getShape()));
          v.put(name, pm.zeros(p.getShape()));
        });
  }

  /**
   * The usual rule: decay matrices, not 1-D tensors (biases, norm weights) nor embedding-like
   * vectors.
   */
  static boolean decaysByDefault(String name, NDArray p) {
    return p.getShape().dimension() >= 2
        && !name.contains("position_embedding")
        && !name.contains("class_embedding");
  }

  long step() {
    return step;
  }

  /** The gradient of {@code p}, or null when it took no part in the last backward pass. */
  static NDArray gradientOf(NDArray p) {
    try {
      NDArray g = p.getGradient();
      return g == null || g.getShape().size() != p.getShape().size() ? null : g;
    } catch (RuntimeException e) {
      return null;
    }
  }

  /**
   * Scales all gradients so their global L2 norm is at most {@code maxNorm}; returns the norm
   * before clipping. Every temporary (and every gradient handle) lives in a scope closed here:
   * nothing accumulates across steps.
   */
  double clipGlobalNorm(double maxNorm) {
    double sq = 0;
    for (NDArray p : params.values()) {
      try (NDManager scope = p.getManager().newSubManager()) {
        NDArray g = gradientOf(p);
        if (g != null) {
          g.attach(scope);
          sq += g.square().sum().getFloat();
        }
      }
    }
    double norm = Math.sqrt(sq);
    if (norm > maxNorm && norm > 0) {
      float scale = (float) (maxNorm / norm);
      for (NDArray p : params.values()) {
        try (NDManager scope = p.getManager().newSubManager()) {
          NDArray g = gradientOf(p);
          if (g != null) {
            g.attach(scope);
            g.muli(scale);
          }
        }
      }
    }
    return norm;
  }

  /**
   * Names of the parameters whose gradient holds a NaN or an infinity (diagnosing a skipped step).
   */
  java.util.List<String> nonFiniteGradients() {
    java.util.List<String> out = new java.util.ArrayList<>();
    for (Map.Entry<String, NDArray> e : params.entrySet()) {
      try (NDManager scope = e.getValue().getManager().newSubManager()) {
        NDArray g = gradientOf(e.getValue());
        if (g != null) {
          g.attach(scope);
          if (!Float.isFinite(g.abs().max().getFloat())) {
            out.add(e.getKey());
          }
        }
      }
    }
    return out;
  }

  /**
   * The trainers' guard: with a finite loss, clips the gradients and returns their norm before
   * clipping; with a non-finite loss or norm, adds the names of the tensors with non-finite
   * gradients to {@code nonFinite}, zeroes every gradient (the batch is skipped) and returns NaN.
   */
  double clipOrSkip(float loss, double maxNorm, java.util.List<String> nonFinite) {
    double norm = Float.isFinite(loss) ? clipGlobalNorm(maxNorm) : Double.NaN;
    if (!Double.isFinite(norm)) {
      nonFinite.addAll(nonFiniteGradients());
      zeroGradients();
      return Double.NaN;
    }
    return norm;
  }

  /** Zeroes every gradient (a skipped step). */
  void zeroGradients() {
    for (NDArray p : params.values()) {
      try (NDManager scope = p.getManager().newSubManager()) {
        NDArray g = gradientOf(p);
        if (g != null) {
          g.attach(scope);
          clear(g);
        }
      }
    }
  }

  /**
   * Sets a gradient to exactly 0. Multiplying by 0 would keep NaN/Inf entries (NaN * 0 = NaN), and
   * backward accumulates into the gradient, so one bad step would poison every later one.
   */
  static void clear(NDArray g) {
    g.set(new ai.djl.ndarray.index.NDIndex("..."), 0f);
  }

  /** One update with learning rate {@code lr}; then zeroes the gradients. */
  void update(double lr) {
    step++;
    double bc1 = 1 - Math.pow(beta1, step);
    double bc2 = 1 - Math.pow(beta2, step);
    for (Map.Entry<String, NDArray> e : params.entrySet()) {
      NDArray p = e.getValue();
      // every temporary of this parameter's update is attached to this scope and freed with it
      try (NDManager scope = p.getManager().newSubManager()) {
        NDArray g = gradientOf(p);
        if (g == null) {
          continue;
        }
        g.attach(scope);
        NDArray mi = m.get(e.getKey());
        NDArray vi = v.get(e.getKey());
        mi.muli((float) beta1).addi(g.mul((float) (1 - beta1)));
        vi.muli((float) beta2).addi(g.square().mul((float) (1 - beta2)));
        NDArray mhat = mi.div((float) bc1);
        mhat.attach(scope);
        NDArray denom = vi.div((float) bc2);
        denom.attach(scope);
        NDArray update = mhat.div(denom.sqrt().add((float) eps)).mul((float) lr);
        if (weightDecay > 0 && decays.test(e.getKey())) {
          p.muli((float) (1 - lr * weightDecay));
        }
        p.subi(update);
        clear(g);
      }
    }
  }

  /** Writes the moments and step count (resume). */
  void save(Path file) {
    SafeTensorsWriter w = new SafeTensorsWriter();
    for (String name : params.keySet()) {
      w.addF32("m." + name, m.get(name).getShape().getShape(), m.get(name).toFloatArray());
      w.addF32("v." + name, v.get(name).getShape().getShape(), v.get(name).toFloatArray());
    }
    w.metadata("step", Long.toString(step));
    w.write(file);
  }

  /** Restores what {@link #save} wrote. */
  void load(Path file) {
    try (SafeTensors st = SafeTensors.open(file)) {
      for (String name : params.keySet()) {
        m.get(name).set(st.readFloats("m." + name));
        v.get(name).set(st.readFloats("v." + name));
      }
      step = Long.parseLong(st.metadata().get("step"));
    }
  }
}
