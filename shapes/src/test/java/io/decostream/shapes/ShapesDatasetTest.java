package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ShapesDatasetTest {

  private static final ShapesDataset.SampleSpec SMALL =
      new ShapesDataset.SampleSpec(112, 112, 16, 16);

  @Test
  void sampleIsDeterministicAndConsistent() {
    ShapesDataset.Sample a = ShapesDataset.sample(99, SMALL);
    ShapesDataset.Sample b = ShapesDataset.sample(99, SMALL);
    assertEquals(a.scene(), b.scene());
    assertEquals(a.window(), b.window());
    assertEquals(a.questions(), b.questions());
    assertEquals(a.caption(), b.caption());
    assertEquals(a.frames().size(), b.frames().size());
    for (int i = 0; i < a.frames().size(); i++) {
      assertArrayEquals(a.frames().get(i).rgb(), b.frames().get(i).rgb());
    }
    assertEquals(SceneGenerator.generate(99, 16), a.scene());
  }

  @Test
  void windowsHoldTheLastFramesAtOneFps() {
    for (long seed = 0; seed < 40; seed++) {
      ShapesDataset.Sample s = ShapesDataset.sample(seed, SMALL);
      double end = s.window().endSeconds();
      assertTrue(end >= 0 && end <= 15 && end == Math.rint(end));
      List<ShapesDataset.Frame> frames = s.frames();
      assertEquals((int) Math.min(16, end + 1), frames.size());
      for (int i = 0; i < frames.size(); i++) {
        assertEquals(end - (frames.size() - 1 - i), frames.get(i).timeSeconds(), 1e-9);
      }
      ShapesDataset.Frame last = frames.get(frames.size() - 1);
      assertArrayEquals(ShapesRenderer.renderRgb(s.scene(), end, 112, 112), last.rgb());
      for (QaPair qa : s.questions()) {
        assertEquals(qa, Questions.answer(s.scene(), s.window(), qa.question()).orElseThrow());
      }
      assertEquals(Captions.caption(s.scene(), end), s.caption());
    }
  }

  @Test
  void explicitWindowAndStream() {
    Scene scene = Fixtures.threeShapes();
    ShapesDataset.Sample s =
        ShapesDataset.sample(
            scene, 10, new ShapesDataset.SampleSpec(112, 112, 16, 4), new SplittableRandom(1));
    assertEquals(new Window(7, 10), s.window());
    assertEquals(4, s.frames().size());
    assertTrue(
        s.questions().stream()
            .anyMatch(
                q ->
                    q.question().equals("how many shapes are there?")
                        && q.answer().equals("three")));
    assertThrows(
        IllegalArgumentException.class,
        () -> ShapesDataset.sample(scene, 16, SMALL, new SplittableRandom(1)));
    List<ShapesDataset.Sample> three = ShapesDataset.samples(5, 2, 3, SMALL).toList();
    assertEquals(3, three.size());
    assertEquals(SceneGenerator.generate(ShapesWorld.videoSeed(5, 3), 16), three.get(1).scene());
  }
}
