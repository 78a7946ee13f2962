package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.tiny.TinyPack;
import io.decostream.shapes.QuestionType;
import io.decostream.shapes.Questions;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapesDataset;
import io.decostream.shapes.ShapesWorld;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BindingProbeTest {

  @Test
  void asksEveryColourQuestionOnceBucketedByShapeCountAndPositionsInOneColourScenes(
      @TempDir Path dir) {
    Path pack = dir.resolve("pack");
    TinyPack.write(pack, ProjectorComparisonTest.spec(), 3);
    int scenes = 12;
    BindingProbe.Result r = BindingProbe.run(pack, 1, scenes, 77);
    // the expected counts, from the same scenes
    int colour = 0;
    int oneColour = 0;
    ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(336, 336, 16, 1);
    for (int i = 0; i < scenes; i++) {
      long seed = ShapesWorld.videoSeed(77, i);
      Scene scene = SceneGenerator.generate(seed, 16);
      ShapesDataset.Sample s =
          ShapesDataset.sample(scene, spec.lastSecond(), spec, new SplittableRandom(seed));
      colour +=
          (int)
              Questions.askable(scene, s.window()).stream()
                  .filter(q -> q.type() == QuestionType.COLOR)
                  .count();
      Scene one = ShapesExamples.oneColour(scene);
      if (one != scene && one.shapes().size() == 2) {
        oneColour +=
            (int)
                Questions.askable(one, s.window()).stream()
                    .filter(q -> q.type() == QuestionType.POSITION)
                    .count();
      }
    }
    assertEquals(colour, r.colourByShapes().values().stream().mapToInt(c -> c[1]).sum());
    assertEquals(oneColour, r.oneColourPosition()[1]);
    assertTrue(
        oneColour > 0 && r.colourByShapes().size() >= 2, "the scenes exercise both measurements");
    assertTrue(
        r.colourByShapes().keySet().stream().allMatch(n -> n >= 1 && n <= 3),
        r.colourByShapes().keySet().toString());
    r.colourByShapes().values().forEach(c -> assertTrue(c[0] >= 0 && c[0] <= c[1]));
  }
}
