package io.decostream.train;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.QuestionType;
import io.decostream.shapes.Questions;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapesDataset;
import io.decostream.shapes.ShapesWorld;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Does a pack find a shape by its kind? Two held-out measurements, in process:
 *
 * <ul>
 *   <li>colour answers by the number of shapes in the window: "what color is the {shape}?" can only
 *       be answered right above chance, with two or three shapes, by finding the shape named by
 *       kind;
 *   <li>position answers in two-shape windows recoloured to one colour ({@link
 *       ShapesExamples#oneColour}), where the colour named in "where is the {color} {shape}?" fits
 *       both shapes and only the kind tells them apart.
 * </ul>
 *
 * A model that finds shapes by colour alone scores 100% on one-shape windows and about chance on
 * the rest.
 */
public final class BindingProbe {

  /**
   * Results: {@code colourByShapes} maps shape count to {correct, asked}; {@code oneColourPosition}
   * is {correct, asked}.
   */
  public record Result(Map<Integer, int[]> colourByShapes, int[] oneColourPosition) {}

  private BindingProbe() {}

  public static Result run(Path pack, int frames, int scenes, long seed) {
    try (TrainablePack p = TrainablePack.open(pack)) {
      p.parameters().values().forEach(a -> a.setRequiresGradient(false));
      VideoQaForward fwd = new VideoQaForward(p);
      ShapesDataset.SampleSpec spec =
          new ShapesDataset.SampleSpec(
              ShapesWorld.REFERENCE_SIZE, ShapesWorld.REFERENCE_SIZE, 16, frames);
      Map<Integer, int[]> byShapes = new TreeMap<>();
      int[] oneColour = new int[2];
      for (int i = 0; i < scenes; i++) {
        long sceneSeed = ShapesWorld.videoSeed(seed, i);
        Scene scene = SceneGenerator.generate(sceneSeed, spec.clipSeconds());
        ShapesDataset.Sample s =
            ShapesDataset.sample(scene, spec.lastSecond(), spec, new SplittableRandom(sceneSeed));
        List<RgbImage> images = images(s);
        for (QaPair q : Questions.askable(scene, s.window())) {
          if (q.type() == QuestionType.COLOR) {
            int[] c = byShapes.computeIfAbsent(scene.shapes().size(), n -> new int[2]);
            c[0] += right(fwd, images, q) ? 1 : 0;
            c[1]++;
          }
        }
        Scene one = ShapesExamples.oneColour(scene);
        if (one != scene && one.shapes().size() == 2) {
          ShapesDataset.Sample so =
              ShapesDataset.sample(one, spec.lastSecond(), spec, new SplittableRandom(sceneSeed));
          List<RgbImage> oneImages = images(so);
          for (QaPair q : Questions.askable(one, so.window())) {
            if (q.type() == QuestionType.POSITION) {
              oneColour[0] += right(fwd, oneImages, q) ? 1 : 0;
              oneColour[1]++;
            }
          }
        }
      }
      return new Result(byShapes, oneColour);
    }
  }

  private static List<RgbImage> images(ShapesDataset.Sample s) {
    return s.frames().stream().map(f -> new RgbImage(f.width(), f.height(), f.rgb())).toList();
  }

  private static boolean right(VideoQaForward fwd, List<RgbImage> images, QaPair q) {
    try (NDManager m = fwd.manager().newSubManager()) {
      return fwd.forward(
              m, new ArrayList<>(List.of(fwd.encoder().encode(images, q.question(), q.answer()))))
          .exact()[0];
    }
  }
}
