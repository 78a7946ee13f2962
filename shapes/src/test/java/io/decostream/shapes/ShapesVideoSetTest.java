package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShapesVideoSetTest {

  @Test
  void planIsDeterministicWithTheLastSecondAlwaysAsked() {
    VideoSpec spec = VideoSpec.defaults();
    assertEquals(128, spec.frameCount());
    assertEquals(15, spec.lastSampledSecond());
    assertEquals(14, new VideoSpec(336, 336, 8, 15).lastSampledSecond()); // last frame at 14.875 s
    assertEquals(
        15, new VideoSpec(336, 336, 8, 15.5).lastSampledSecond()); // last frame at 15.375 s
    for (int i = 0; i < 20; i++) {
      ShapesVideoSet.Entry e = ShapesVideoSet.entry(3, i, spec, 3);
      assertEquals(e, ShapesVideoSet.entry(3, i, spec, 3));
      assertEquals(String.format("shapes_%05d.mp4", i), e.fileName());
      assertEquals(3, e.windows().size());
      assertEquals(15, e.windows().get(2).window().endSeconds());
      for (ShapesVideoSet.WindowQa w : e.windows()) {
        assertTrue(w.window().endSeconds() >= 1);
        assertEquals(Captions.caption(e.scene(), w.window().endSeconds()), w.caption());
        for (QaPair qa : w.questions()) {
          assertEquals(qa, Questions.answer(e.scene(), w.window(), qa.question()).orElseThrow());
        }
      }
    }
  }

  @Test
  void jsonlRoundTrip(@TempDir Path dir) throws Exception {
    VideoSpec spec = VideoSpec.defaults();
    List<ShapesVideoSet.Entry> entries =
        List.of(ShapesVideoSet.entry(1, 0, spec, 2), ShapesVideoSet.entry(1, 1, spec, 2));
    int questions;
    try (ShapesJsonl.Writer w = new ShapesJsonl.Writer(dir)) {
      entries.forEach(w::write);
      questions = w.questions();
    }
    List<ShapesJsonl.QaRecord> qa = ShapesJsonl.readQa(dir.resolve(ShapesJsonl.QA_FILE));
    assertEquals(questions, qa.size());
    assertEquals(
        entries.stream()
            .mapToInt(e -> e.windows().stream().mapToInt(x -> x.questions().size()).sum())
            .sum(),
        qa.size());
    ShapesJsonl.QaRecord first = qa.get(0);
    QaPair expected = entries.get(0).windows().get(0).questions().get(0);
    assertEquals(
        new ShapesJsonl.QaRecord(
            "shapes_00000.mp4",
            entries.get(0).windows().get(0).window().endSeconds(),
            expected.question(),
            expected.answer(),
            expected.type().label()),
        first);
    String line = Files.readAllLines(dir.resolve(ShapesJsonl.QA_FILE)).get(0);
    assertTrue(line.startsWith("{\"video\":\"shapes_00000.mp4\",\"window_end\":"), line);
    assertEquals(4, ShapesJsonl.readCaptions(dir.resolve(ShapesJsonl.CAPTIONS_FILE)).size());
    List<ShapesJsonl.SceneRecord> scenes =
        ShapesJsonl.readScenes(dir.resolve(ShapesJsonl.SCENES_FILE));
    assertEquals(entries.get(1).scene(), scenes.get(1).scene());
    assertEquals("shapes_00001.mp4", scenes.get(1).video());
  }
}
