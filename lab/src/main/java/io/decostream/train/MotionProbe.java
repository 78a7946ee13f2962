package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.*;
import java.nio.file.Path;
import java.util.*;

/**
 * Is the motion in the LLM's input at all? On multi-shape 16-frame windows, the named object's
 * visual rows (after the projector, what the LLM reads) are averaged over its tokens in the first
 * and in the latest frame; a softmax regression on [first, latest, latest - first] learns the
 * motion on 3/4 of the cases and is scored on the rest. Usage: MotionProbe PACK [windows]
 */
public class MotionProbe {
  public static void main(String[] a) throws Exception {
    int windows = a.length > 1 ? Integer.parseInt(a[1]) : 400;
    Examples ex = new Examples(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    try (TrainablePack p = TrainablePack.open(Path.of(a[0]))) {
      p.parameters().values().forEach(x -> x.setRequiresGradient(false));
      VideoQaForward fwd = new VideoQaForward(p);
      Connector connector = fwd.connector();
      Model model =
          new Model(
              p, fwd, connector, connector.tokensPerFrame(), p.config().visionConfig().imageSize());
      ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(336, 336, 16, 16);
      for (int i = 0; i < windows; i++) {
        long seed = ShapesWorld.videoSeed(4000003L, i);
        Scene scene = SceneGenerator.generate(seed, 16);
        if (scene.shapes().size() < 2) continue;
        ShapesDataset.Sample smp =
            ShapesDataset.sample(scene, spec.lastSecond(), spec, new SplittableRandom(seed));
        addWindow(model, scene, smp, ex);
      }
    }
    int n = ex.xs().size();
    int dim = ex.xs().get(0).length;
    // standardise on the training part, then full-batch gradient descent on softmax cross-entropy
    // with a little L2
    int train = n * 3 / 4;
    standardise(ex.xs(), train, dim);
    double[][] w = fit(ex, train, dim);
    score(ex, w, train);
  }

  /** The pack, its training forward and connector, tokens per frame and the ViT's input side. */
  private record Model(
      TrainablePack pack,
      VideoQaForward fwd,
      Connector connector,
      int tokensPerFrame,
      int imageSize) {}

  /** The probe's data: features, class indices, and the class labels (motion words) seen. */
  private record Examples(List<double[]> xs, List<Integer> ys, List<String> labels) {}

  /** The visual rows of every frame, [F, M, Dt] row-major, and Dt. */
  private record VisualRows(float[] data, int dim) {}

  /**
   * One example per motion question of the window whose subject is a named object with attended
   * tokens; the window's visual rows are computed once, on the first such question.
   */
  private static void addWindow(Model model, Scene scene, ShapesDataset.Sample smp, Examples ex) {
    List<RgbImage> imgs =
        smp.frames().stream().map(f -> new RgbImage(f.width(), f.height(), f.rgb())).toList();
    VisualRows rows = null;
    int f = imgs.size();
    for (QaPair q : smp.questions()) {
      if (q.type() != QuestionType.MOTION) continue;
      io.decostream.shapes.Shape subject = q.subject(scene).orElse(null);
      if (subject == null) continue;
      List<Box> boxes =
          smp.frames().stream().map(fr -> subject.referenceBox(fr.timeSeconds())).toList();
      ExampleEncoder.Encoded e =
          model.fwd().encoder().encode(imgs, q.question(), q.answer(), boxes, "");
      if (e.attend() == null) continue;
      if (rows == null) {
        rows = visualRows(model, e.pixels(), f);
      }
      double[] x = endpointFeatures(e.attend(), rows, f, model.tokensPerFrame());
      String label = q.answer().split(" ")[0];
      int y = ex.labels().indexOf(label);
      if (y < 0) {
        ex.labels().add(label);
        y = ex.labels().size() - 1;
      }
      ex.xs().add(x);
      ex.ys().add(y);
    }
  }

  /** What the LLM reads of the window: the ViT's features through the connector, [F, M, Dt]. */
  private static VisualRows visualRows(Model model, float[] pixels, int f) {
    int s = model.imageSize();
    try (NDManager m = model.fwd().manager().newSubManager()) {
      NDArray feats =
          model
              .pack()
              .tower()
              .forward(
                  m.create(pixels, new Shape(f, 3, s, s)),
                  model.pack().config().visionHiddenStateIndex(),
                  true);
      NDArray r = model.connector().forward(feats); // [F, M, Dt]
      return new VisualRows(r.toFloatArray(), Math.toIntExact(r.getShape().get(2)));
    }
  }

  /**
   * The probe's input: the object's rows averaged (weighted by its attend mask) in the first and in
   * the latest frame, then latest - first: [first, latest, latest - first].
   */
  private static double[] endpointFeatures(float[] attend, VisualRows rows, int f, int mTok) {
    int d = rows.dim();
    double[] x = new double[3 * d];
    for (int end = 0; end < 2; end++) {
      int frame = end == 0 ? 0 : f - 1;
      double w = 0;
      for (int t = 0; t < mTok; t++) {
        float in = attend[frame * mTok + t];
        if (in > 0) {
          w += in;
          for (int k = 0; k < d; k++) {
            x[end * d + k] += in * rows.data()[(frame * mTok + t) * d + k];
          }
        }
      }
      for (int k = 0; k < d; k++) {
        x[end * d + k] /= Math.max(w, 1e-9);
      }
    }
    for (int k = 0; k < d; k++) {
      x[2 * d + k] = x[d + k] - x[k];
    }
    return x;
  }

  /** Zero mean, unit variance per feature, with the statistics of the training part only. */
  private static void standardise(List<double[]> xs, int train, int dim) {
    double[] mu = new double[dim];
    double[] sd = new double[dim];
    for (int i = 0; i < train; i++) {
      for (int k = 0; k < dim; k++) {
        mu[k] += xs.get(i)[k] / train;
      }
    }
    for (int i = 0; i < train; i++) {
      for (int k = 0; k < dim; k++) {
        sd[k] += Math.pow(xs.get(i)[k] - mu[k], 2) / train;
      }
    }
    for (double[] x : xs) {
      for (int k = 0; k < dim; k++) {
        x[k] = (x[k] - mu[k]) / Math.sqrt(sd[k] + 1e-6);
      }
    }
  }

  /**
   * Softmax regression on the first {@code train} examples: 600 full-batch gradient steps (rate
   * 0.5, L2 1e-3 on the weights, not the bias); one row of weights and a bias per class.
   */
  private static double[][] fit(Examples ex, int train, int dim) {
    int c = ex.labels().size();
    double[][] w = new double[c][dim + 1];
    for (int it = 0; it < 600; it++) {
      double[][] g = new double[c][dim + 1];
      for (int i = 0; i < train; i++) {
        double[] pr = softmax(w, ex.xs().get(i));
        for (int j = 0; j < c; j++) {
          double err = pr[j] - (ex.ys().get(i) == j ? 1 : 0);
          for (int k = 0; k < dim; k++) {
            g[j][k] += err * ex.xs().get(i)[k] / train;
          }
          g[j][dim] += err / train;
        }
      }
      for (int j = 0; j < c; j++) {
        for (int k = 0; k <= dim; k++) {
          w[j][k] -= 0.5 * (g[j][k] + (k < dim ? 1e-3 * w[j][k] : 0));
        }
      }
    }
    return w;
  }

  /** Prints the probe's accuracy on the training part and on the held-out quarter. */
  private static void score(Examples ex, double[][] w, int train) {
    int n = ex.xs().size();
    int c = ex.labels().size();
    int trainRight = 0;
    int testRight = 0;
    for (int i = 0; i < n; i++) {
      double[] pr = softmax(w, ex.xs().get(i));
      int best = 0;
      for (int j = 1; j < c; j++) {
        if (pr[j] > pr[best]) best = j;
      }
      if (best == ex.ys().get(i)) {
        if (i < train) trainRight++;
        else testRight++;
      }
    }
    System.out.printf(
        "motion from the named object's first and latest visual rows (linear probe, %s): train %.1f%% "
            + "of %d, held out %.1f%% of %d%n",
        ex.labels(), 100.0 * trainRight / train, train, 100.0 * testRight / (n - train), n - train);
  }

  static double[] softmax(double[][] w, double[] x) {
    double[] z = new double[w.length];
    double max = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < w.length; j++) {
      double v = w[j][x.length];
      for (int k = 0; k < x.length; k++) v += w[j][k] * x[k];
      z[j] = v;
      max = Math.max(max, v);
    }
    double sum = 0;
    for (int j = 0; j < z.length; j++) {
      z[j] = Math.exp(z[j] - max);
      sum += z[j];
    }
    for (int j = 0; j < z.length; j++) z[j] /= sum;
    return z;
  }
}
