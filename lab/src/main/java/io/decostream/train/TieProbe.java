package io.decostream.train;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.*;
import java.nio.file.Path;
import java.util.*;

public class TieProbe {
  public static void main(String[] a) throws Exception {
    try (TrainablePack p = TrainablePack.open(Path.of(a[0]))) {
      p.parameters().values().forEach(x -> x.setRequiresGradient(false));
      VideoQaForward fwd = new VideoQaForward(p);
      ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(336, 336, 16, 4);
      int n = 0, larger = 0, later = 0, right = 0, same = 0, neither = 0;
      int scenes = a.length > 1 ? Integer.parseInt(a[1]) : 150;
      for (int i = 0; i < scenes; i++) {
        long seed = ShapesWorld.videoSeed(2000003L, i);
        Scene scene = SceneGenerator.generate(seed, 16);
        if (scene.shapes().size() != 2) continue;
        ShapesDataset.Sample s =
            ShapesDataset.sample(scene, spec.lastSecond(), spec, new SplittableRandom(seed));
        List<RgbImage> imgs =
            s.frames().stream().map(f -> new RgbImage(f.width(), f.height(), f.rgb())).toList();
        for (QaPair q : Questions.askable(scene, s.window())) {
          if (q.type() != QuestionType.COLOR) continue;
          Shape s0 = scene.shapes().get(0), s1 = scene.shapes().get(1);
          if (s0.color() == s1.color()) {
            same++;
            continue;
          }
          try (NDManager m = fwd.manager().newSubManager()) {
            VideoQaForward.Result r =
                fwd.forward(
                    m,
                    new ArrayList<>(List.of(fwd.encoder().encode(imgs, q.question(), q.answer()))));
            String ans = fwd.decode(r.predicted()[0]).split(" ")[0];
            n++;
            Shape big = s0.size() >= s1.size() ? s0 : s1;
            if (ans.equals(big.color().word())) larger++;
            if (ans.equals(s1.color().word())) later++;
            if (ans.equals(q.answer())) right++;
            if (!ans.equals(s0.color().word()) && !ans.equals(s1.color().word())) neither++;
          }
        }
      }
      System.out.printf(
          "two shapes, different colours: %d questions; right %d, the larger shape's colour %d, the later-drawn shape's colour %d, neither %d; same-colour pairs skipped %d%n",
          n, right, larger, later, neither, same);
    }
  }
}
