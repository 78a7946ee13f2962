package io.decostream.train;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.*;
import java.nio.file.Path;
import java.util.*;

/**
 * Per question type on 2- and 3-shape windows: the lookup head's attention mass on the named
 * object, and accuracy.
 */
public class AttendProbe {
  public static void main(String[] a) throws Exception {
    try (TrainablePack p = TrainablePack.open(Path.of(a[0]))) {
      p.parameters().values().forEach(x -> x.setRequiresGradient(false));
      VideoQaForward fwd = new VideoQaForward(p);
      int frames = a.length > 1 ? Integer.parseInt(a[1]) : 4;
      AttendAt at = a.length > 2 ? AttendAt.valueOf(a[2].toUpperCase()) : AttendAt.ANSWER;
      ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(336, 336, 16, frames);
      Map<String, double[]> stats = new TreeMap<>(); // mass sum, right, n
      int scenes = a.length > 3 ? Integer.parseInt(a[3]) : 120;
      for (int i = 0; i < scenes; i++) {
        long seed = ShapesWorld.videoSeed(2000003L, i);
        Scene scene = SceneGenerator.generate(seed, 16);
        if (scene.shapes().size() < 2) continue;
        ShapesDataset.Sample s =
            ShapesDataset.sample(scene, spec.lastSecond(), spec, new SplittableRandom(seed));
        List<RgbImage> imgs =
            s.frames().stream().map(f -> new RgbImage(f.width(), f.height(), f.rgb())).toList();
        for (QaPair q : s.questions()) {
          Shape subject = q.subject(scene).orElse(null);
          if (subject == null) continue;
          List<Box> boxes =
              s.frames().stream().map(f -> subject.referenceBox(f.timeSeconds())).toList();
          try (NDManager m = fwd.manager().newSubManager()) {
            VideoQaForward.Result r =
                fwd.forward(
                    m,
                    new ArrayList<>(
                        List.of(fwd.encoder().encode(imgs, q.question(), q.answer(), boxes))),
                    1.0,
                    at);
            double[] st = stats.computeIfAbsent(q.type().label(), k -> new double[3]);
            st[0] += r.attendMass();
            st[1] += r.exact()[0] ? 1 : 0;
            st[2]++;
            if (q.type() == QuestionType.COLOR && i < 40) {
              System.out.printf(
                  "%s | %s -> %s (lookup head's mass %.2f)%n",
                  s.caption(),
                  q.question(),
                  fwd.decode(r.predicted()[0]).split(" ")[0],
                  r.attendMass());
            }
          }
        }
      }
      stats.forEach(
          (k, st) ->
              System.out.printf(
                  "%-9s n %3d  attended mass %.3f  exact %.3f%n",
                  k, (int) st[2], st[0] / st[2], st[1] / st[2]));
    }
  }
}
