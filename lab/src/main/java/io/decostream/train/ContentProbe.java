package io.decostream.train;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.*;
import java.nio.file.Path;
import java.util.*;

/**
 * Multi-shape windows: the content loss's cross-entropy at the naming word (does the word's state
 * hold the named object's colour, or with "answer" the motion or cell asked for?) per question
 * type. Args: PACK [FRAMES [answer [LAYER [SCENES]]]]; LAYER: read the word as it enters that layer
 * (--content-layer), default its last layer.
 */
public class ContentProbe {
  public static void main(String[] a) throws Exception {
    try (TrainablePack p = TrainablePack.open(Path.of(a[0]))) {
      p.parameters().values().forEach(x -> x.setRequiresGradient(false));
      VideoQaForward fwd = new VideoQaForward(p);
      // optional: the window's frame count (default 4), and "answer" for --content-answer's words
      int frames = a.length > 1 ? Integer.parseInt(a[1]) : 4;
      ShapesExamples words =
          new ShapesExamples(
              0, "describe the video.", Map.of(), 0, a.length > 2 && a[2].equals("answer"));
      int layer = a.length > 3 ? Integer.parseInt(a[3]) : -1;
      ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(336, 336, 16, frames);
      Map<String, double[]> stats = new TreeMap<>();
      int scenes = a.length > 4 ? Integer.parseInt(a[4]) : 120;
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
            List<ExampleEncoder.Encoded> one =
                new ArrayList<>(
                    List.of(
                        fwd.encoder()
                            .encode(
                                imgs,
                                q.question(),
                                q.answer(),
                                boxes,
                                words.contentWord(subject, q))));
            double ce =
                fwd.forward(m, one, new AuxLosses(0, AttendAt.WORD, 1.0, layer, 0, 0))
                    .contentLoss();
            if (Double.isNaN(ce)) continue;
            double[] st = stats.computeIfAbsent(q.type().label(), k -> new double[3]);
            st[0] += ce;
            st[1] += Math.exp(-ce) > 0.5 ? 1 : 0;
            st[2]++;
          }
        }
      }
      stats.forEach(
          (k, st) ->
              System.out.printf(
                  "%-9s n %3d  content cross-entropy at the naming word %.3f  (p > 0.5: %.3f)%n",
                  k, (int) st[2], st[0] / st[2], st[1] / st[2]));
    }
  }
}
