package io.decostream.train;

import ai.djl.ndarray.*;
import ai.djl.ndarray.types.Shape;
import io.decostream.nn.image.RgbImage;
import io.decostream.projector.*;
import io.decostream.shapes.*;
import java.nio.file.Path;
import java.util.*;

/**
 * Between-class spread of pooled cell features by colour vs by kind (cells holding one shape's
 * centre).
 */
public class VarProbe {
  public static void main(String[] a) throws Exception {
    try (TrainablePack p = TrainablePack.open(Path.of(a[0]))) {
      p.parameters().values().forEach(x -> x.setRequiresGradient(false));
      int g = p.config().visionConfig().gridSize();
      int dv = p.config().visionConfig().hiddenSize();
      int s = p.config().visionConfig().imageSize();
      int side = g / p.config().spatialPoolStride(); // pooled cells per side
      List<float[]> feats = new ArrayList<>();
      List<int[]> labels = new ArrayList<>();
      // the projector's output instead of the tower's with a first argument other than "tower"
      boolean projected = a.length > 1 && !a[1].equals("tower");
      int scenes = a.length > 2 ? Integer.parseInt(a[2]) : 300;
      for (int i = 0; i < scenes; i++) {
        Scene scene = SceneGenerator.generate(9000 + i, 16);
        byte[] rgb = ShapesRenderer.renderRgb(scene, 5, 336, 336);
        float[] px = p.processor().preprocess(new RgbImage(336, 336, rgb));
        try (NDManager m = p.manager().newSubManager()) {
          NDArray f =
              p.tower()
                  .forward(
                      m.create(px, new Shape(1, 3, s, s)),
                      p.config().visionHiddenStateIndex(),
                      true);
          float[] pooled =
              AdaptivePool2d.pool(
                  f.reshape(g * g, dv).toFloatArray(), g, g, dv, side, side, PoolingMode.AVG);
          VisionPretrainer.CellTargets ct = VisionPretrainer.cellTargets(scene, 5, side);
          for (int c = 0; c < side * side; c++) {
            if (ct.kind()[c] != 0) {
              float[] one = Arrays.copyOfRange(pooled, c * dv, (c + 1) * dv);
              if (projected) {
                one = p.projector().forward(m.create(one, new Shape(1, dv))).toFloatArray();
              }
              feats.add(one);
              labels.add(new int[] {ct.kind()[c], ct.colour()[c]});
            }
          }
        }
      }
      int dv2 = feats.get(0).length;
      final int dvv = dv2;
      double[] mean = new double[dv2];
      for (float[] f : feats) for (int d = 0; d < dvv; d++) mean[d] += f[d] / feats.size();
      double total = 0;
      for (float[] f : feats)
        for (int d = 0; d < dvv; d++) total += Math.pow(f[d] - mean[d], 2) / feats.size();
      for (int which = 0; which < 2; which++) {
        Map<Integer, double[]> cm = new HashMap<>();
        Map<Integer, Integer> cn = new HashMap<>();
        for (int i = 0; i < feats.size(); i++) {
          int l = labels.get(i)[which];
          double[] acc = cm.computeIfAbsent(l, x -> new double[dvv]);
          for (int d = 0; d < dvv; d++) acc[d] += feats.get(i)[d];
          cn.merge(l, 1, Integer::sum);
        }
        double between = 0;
        for (var e : cm.entrySet()) {
          int n = cn.get(e.getKey());
          for (int d = 0; d < dvv; d++)
            between += n * Math.pow(e.getValue()[d] / n - mean[d], 2) / feats.size();
        }
        System.out.printf(
            "%s: between-class variance %.3f of total %.3f (%.1f%%), %d classes, %d cells%n",
            which == 0 ? "kind" : "colour",
            between,
            total,
            100 * between / total,
            cm.size(),
            feats.size());
      }
    }
  }
}
