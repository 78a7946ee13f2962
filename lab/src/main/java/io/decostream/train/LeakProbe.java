package io.decostream.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.llava.LlavaNextVideo;
import io.decostream.nn.rgae.AttentionRecorder;
import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.MlpProjector;
import io.decostream.projector.PoolingMode;
import io.decostream.shapes.*;
import java.nio.file.Path;
import java.util.*;

/**
 * Where the grounding check's stray mass comes from. For colour questions on 16-frame windows
 * (rendered frames, no codec), the R-GAE Text-to-Query row of the answer's colour word is split by
 * the layer that adds the relevance and by the rows it comes from, text or visual (r = e + sum_l
 * (r_{l+1} A_l) prod_{k<l} (I + A_k)); per part: its mass on the latest frame and the share of it
 * inside the shape's grown box; then the whole map's share as the eval computes it. Usage: Leak
 * PACK [scenes]
 */
public class LeakProbe {
  @SuppressWarnings("unchecked")
  static <T> T field(Object o, String name) throws Exception {
    java.lang.reflect.Field f = o.getClass().getDeclaredField(name);
    f.setAccessible(true);
    return (T) f.get(o);
  }

  public static void main(String[] a) throws Exception {
    int scenes = a.length > 1 ? Integer.parseInt(a[1]) : 40;
    try (LlavaNextVideo model = LlavaNextVideo.load(Path.of(a[0]), LlavaNextVideo.Part.ALL)) {
      LlamaModel llm = field(model, "llm");
      MlpProjector proj = field(model, "projector");
      io.decostream.nn.tokenizer.PackTokenizer tok = field(model, "tokenizer");
      NDManager mgr = field(model, "manager");
      int grid = model.visionGridSize();
      int dv = model.visionHidden();
      int side = grid / 2;
      int mTok = side * side;
      int layers = llm.config().numHiddenLayers();
      double[] enterMass = new double[2 * layers];
      double[] enterIn = new double[2 * layers];
      int cases = 0;
      int good = 0;
      double shareSum = 0;
      ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(336, 336, 16, 16);
      for (int i = 0; i < scenes; i++) {
        long seed = ShapesWorld.videoSeed(3000003L, i);
        Scene scene = SceneGenerator.generate(seed, 16);
        ShapesDataset.Sample s =
            ShapesDataset.sample(scene, spec.lastSecond(), spec, new SplittableRandom(seed));
        List<RgbImage> imgs =
            s.frames().stream().map(f -> new RgbImage(f.width(), f.height(), f.rgb())).toList();
        List<QaPair> colour =
            Questions.askable(scene, s.window()).stream()
                .filter(q -> q.type() == QuestionType.COLOR)
                .toList();
        if (colour.isEmpty()) {
          continue;
        }
        List<float[]> feats = model.visionFeatures(imgs);
        int f = feats.size();
        float[] flat = new float[f * mTok * dv];
        for (int k = 0; k < f; k++) {
          float[] p =
              AdaptivePool2d.pool(feats.get(k), grid, grid, dv, side, side, PoolingMode.AVG);
          System.arraycopy(p, 0, flat, k * mTok * dv, p.length);
        }
        for (QaPair q : colour) {
          // the asked shape from the scene's ground truth, and the grounding check on the tower's
          // patch grid
          io.decostream.shapes.Shape shape = q.subject(scene).orElseThrow();
          GroundingCheck check =
              GroundingCheck.of(scene, q, spec.lastSecond(), grid, grid).orElseThrow();
          int[] ids = tok.encode(LlavaNextVideo.promptText(q.question()), true);
          int at = -1;
          for (int k = 0; k < ids.length; k++) {
            if (ids[k] == model.placeholderTokenId()) {
              at = k;
            }
          }
          int target = tok.encode(q.answer(), false)[0];
          try (NDManager m = mgr.newSubManager();
              AttentionRecorder rec = new AttentionRecorder(m)) {
            NDArray rows = proj.forward(m.create(flat, new Shape((long) f * mTok, dv)));
            NDArray seq =
                NDArrays.concat(
                    new NDList(
                        llm.embed(m, Arrays.copyOfRange(ids, 0, at)),
                        rows,
                        llm.embed(m, Arrays.copyOfRange(ids, at + 1, ids.length))),
                    0);
            int len = Math.toIntExact(seq.getShape().get(0));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
              NDArray logits = llm.forwardTapped(seq, rec);
              gc.backward(logits.get(new NDIndex("{}, {}", len - 1, target)));
            }
            List<float[]> abar = new ArrayList<>();
            for (NDArray x : rec.headAveraged(m)) {
              abar.add(x.toFloatArray());
            }
            // per token the share of its patches inside the grown box (the grounding check's own
            // measure)
            Box box = check.grownBox();
            float[] shares = check.tokenInsideShares(side);
            double[] tokIn = new double[mTok];
            for (int t = 0; t < mTok; t++) {
              tokIn[t] = shares[t];
            }
            int latest = at + (f - 1) * mTok;
            double total = 0;
            double inside = 0;
            double[] r = new double[len];
            r[len - 1] = 1;
            for (int l = layers - 1; l >= 0; l--) {
              double[] enter = rowTimes(r, abar.get(l), len);
              for (int src = 0; src < 2; src++) {
                // what this layer adds from text rows (src 0) or from visual rows (src 1), through
                // the lower layers
                double[] from = new double[len];
                for (int j = 0; j < len; j++) {
                  boolean visual = j >= at && j < at + f * mTok;
                  from[j] = visual == (src == 1) ? r[j] : 0;
                }
                double[] c = rowTimes(from, abar.get(l), len);
                for (int k = l - 1; k >= 0; k--) {
                  double[] more = rowTimes(c, abar.get(k), len);
                  for (int j = 0; j < len; j++) {
                    c[j] += more[j];
                  }
                }
                double mass = 0;
                double in = 0;
                for (int t = 0; t < mTok; t++) {
                  double v = Math.max(0, c[latest + t]);
                  mass += v;
                  in += v * tokIn[t];
                }
                enterMass[2 * l + src] += mass;
                enterIn[2 * l + src] += in;
              }
              if (System.getenv("LEAK_ROWS") != null) {
                // per text source row: relevance it adds at this layer to the latest frame outside
                // the box (no lower mixing)
                StringBuilder sb =
                    new StringBuilder("    layer " + l + " rows (from end: outside mass):");
                for (int j = at + f * mTok; j < len; j++) {
                  double out = 0;
                  for (int t = 0; t < mTok; t++) {
                    out += r[j] * abar.get(l)[j * len + latest + t] * (1 - tokIn[t]);
                  }
                  if (out > 0.002) {
                    sb.append(
                        String.format(
                            " %d:%s=%.3f", len - 1 - j, tok.piece(ids[j - f * mTok + 1]), out));
                  }
                }
                System.out.println(sb);
              }
              for (int j = 0; j < len; j++) {
                r[j] += enter[j];
              }
            }
            for (int t = 0; t < mTok; t++) {
              double v = Math.max(0, r[latest + t]);
              total += v;
              inside += v * tokIn[t];
            }
            double share = total > 0 ? inside / total : Double.NaN;
            if (System.getenv("LEAK_CASES") != null) {
              // per case: the share, the shape, how many shapes, whether another shares its colour,
              // and where the
              // outside mass lies (tokens by their outside mass, row-major)
              long sameColour =
                  scene.shapes().stream()
                      .filter(x -> x != shape && x.color() == shape.color())
                      .count();
              StringBuilder where = new StringBuilder();
              for (int t = 0; t < mTok; t++) {
                double v = Math.max(0, r[latest + t]) * (1 - tokIn[t]) / total;
                if (v > 0.02) {
                  where.append(
                      String.format(
                          " t%d(%d,%d,in %.2f)=%.2f", t, t / side, t % side, tokIn[t], v));
                }
              }
              System.out.printf(
                  "  case %s %s %s size %.0f box %s shapes %d same-colour %d share %.3f total %.3f:%s%n",
                  scene.seed(),
                  shape.color().word(),
                  shape.kind().word(),
                  shape.size(),
                  box,
                  scene.shapes().size(),
                  sameColour,
                  share,
                  total,
                  where);
            }
            cases++;
            shareSum += share;
            if (share >= 0.8) {
              good++;
            }
          }
        }
      }
      System.out.printf(
          "%d colour questions on 16-frame windows: mean share %.1f%%, %.1f%% of cases >= 80%%%n",
          cases, 100 * shareSum / cases, 100.0 * good / cases);
      for (int l = layers - 1; l >= 0; l--) {
        for (int src = 0; src < 2; src++) {
          int k = 2 * l + src;
          System.out.printf(
              "  added at layer %d from %s rows: latest-frame mass %.4f per case, %.1f%% of it inside%n",
              l,
              src == 0 ? "text" : "visual",
              enterMass[k] / cases,
              100 * enterIn[k] / Math.max(1e-12, enterMass[k]));
        }
      }
    }
  }

  /** r [len] times A [len, len] row-major. */
  static double[] rowTimes(double[] r, float[] a, int len) {
    double[] out = new double[len];
    for (int i = 0; i < len; i++) {
      if (r[i] == 0) {
        continue;
      }
      for (int j = 0; j < len; j++) {
        out[j] += r[i] * a[i * len + j];
      }
    }
    return out;
  }
}
