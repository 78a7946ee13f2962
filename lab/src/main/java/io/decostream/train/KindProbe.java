package io.decostream.train;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.*;
import java.nio.file.Path;
import java.util.*;

public class KindProbe {
  public static void main(String[] a) throws Exception {
    try (TrainablePack p = TrainablePack.open(Path.of(a[0]))) {
      p.parameters().values().forEach(x -> x.setRequiresGradient(false));
      VideoQaForward fwd = new VideoQaForward(p);
      ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(336, 336, 16, 1);
      int scenes = a.length > 1 ? Integer.parseInt(a[1]) : 400; // scenes looked at, at most
      int shown = 0;
      for (int i = 0; i < scenes && shown < 14; i++) {
        long seed = ShapesWorld.videoSeed(2000003L, i);
        Scene scene = SceneGenerator.generate(seed, 16);
        if (scene.shapes().size() != 2
            || scene.shapes().get(0).kind() == scene.shapes().get(1).kind()) continue;
        ShapesDataset.Sample s =
            ShapesDataset.sample(scene, spec.lastSecond(), spec, new SplittableRandom(seed));
        List<RgbImage> imgs =
            s.frames().stream().map(f -> new RgbImage(f.width(), f.height(), f.rgb())).toList();
        StringBuilder sb = new StringBuilder(s.caption() + " ::");
        for (ShapeKind k : ShapeKind.values()) {
          try (NDManager m = fwd.manager().newSubManager()) {
            VideoQaForward.Result r =
                fwd.forward(
                    m,
                    new ArrayList<>(
                        List.of(
                            fwd.encoder()
                                .encode(imgs, "what color is the " + k.word() + "?", "red"))));
            sb.append(" ")
                .append(k.word())
                .append("->")
                .append(fwd.decode(r.predicted()[0]).split(" ")[0]);
          }
          for (ShapeColor c :
              new ShapeColor[] {scene.shapes().get(0).color(), scene.shapes().get(1).color()}) {
            try (NDManager m = fwd.manager().newSubManager()) {
              VideoQaForward.Result r =
                  fwd.forward(
                      m,
                      new ArrayList<>(
                          List.of(
                              fwd.encoder()
                                  .encode(
                                      imgs,
                                      "where is the " + c.word() + " " + k.word() + "?",
                                      "top"))));
              sb.append(" [")
                  .append(c.word())
                  .append(" ")
                  .append(k.word())
                  .append("@")
                  .append(fwd.decode(r.predicted()[0]))
                  .append("]");
            }
          }
        }
        System.out.println(sb);
        shown++;
      }
    }
  }
}
