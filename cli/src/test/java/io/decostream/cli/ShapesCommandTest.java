package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.shapes.Questions;
import io.decostream.shapes.Scene;
import io.decostream.shapes.ShapesJsonl;
import io.decostream.shapes.Window;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code deco shapes}: videos that decode, and JSONL whose answers are the ground truth of the
 * written scenes.
 */
class ShapesCommandTest {

  private static int run(StringWriter out, String... args) {
    CommandLine cl = new CommandLine(new ShapesCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(out));
    return cl.execute(args);
  }

  @Test
  void writesVideosAndConsistentJsonl(@TempDir Path dir) throws Exception {
    StringWriter log = new StringWriter();
    assertEquals(
        0,
        run(
            log,
            "--out",
            dir.toString(),
            "--videos",
            "2",
            "--seed",
            "4",
            "--seconds",
            "3",
            "--fps",
            "8",
            "--size",
            "336",
            "--windows",
            "2"));
    assertTrue(log.toString().contains("[2/2] shapes_00001.mp4"), log.toString());
    for (String v : new String[] {"shapes_00000.mp4", "shapes_00001.mp4"}) {
      try (FFmpegFrameGrabber g = new FFmpegFrameGrabber(dir.resolve(v).toString())) {
        avutil.av_log_set_level(avutil.AV_LOG_ERROR);
        g.start();
        int n = 0;
        while (g.grabImage() != null) {
          n++;
        }
        assertEquals(24, n, v);
        assertEquals(336, g.getImageWidth());
      }
    }
    Map<String, Scene> scenes = new HashMap<>();
    for (ShapesJsonl.SceneRecord r : ShapesJsonl.readScenes(dir.resolve(ShapesJsonl.SCENES_FILE))) {
      scenes.put(r.video(), r.scene());
    }
    assertEquals(2, scenes.size());
    assertNotEquals(scenes.get("shapes_00000.mp4"), scenes.get("shapes_00001.mp4"));
    List<ShapesJsonl.QaRecord> qa = ShapesJsonl.readQa(dir.resolve(ShapesJsonl.QA_FILE));
    assertTrue(
        qa.size() >= 2 * 2 * 3, "at least count, yes/no and one more per window: " + qa.size());
    for (ShapesJsonl.QaRecord r : qa) {
      Scene s = scenes.get(r.video());
      assertEquals(
          r.answer(),
          Questions.answer(s, Window.latest(r.windowEnd(), 16), r.question())
              .orElseThrow()
              .answer());
      assertTrue(r.windowEnd() >= 1 && r.windowEnd() <= 2, "3 s at 8 fps: sampled seconds 0..2");
    }
    assertEquals(4, ShapesJsonl.readCaptions(dir.resolve(ShapesJsonl.CAPTIONS_FILE)).size());

    // same command, same files (videos skipped for speed)
    Path again = dir.resolve("again");
    assertEquals(
        0,
        run(
            new StringWriter(),
            "--out",
            again.toString(),
            "--videos",
            "2",
            "--seed",
            "4",
            "--seconds",
            "3",
            "--windows",
            "2",
            "--no-video"));
    assertEquals(
        Files.readString(dir.resolve(ShapesJsonl.QA_FILE)),
        Files.readString(again.resolve(ShapesJsonl.QA_FILE)));
    assertTrue(Files.notExists(again.resolve("shapes_00000.mp4")));
  }

  @Test
  void badSizeIsAUsageError(@TempDir Path dir) {
    StringWriter log = new StringWriter();
    assertEquals(2, run(log, "--out", dir.toString(), "--size", "335"));
    assertTrue(log.toString().contains("width must be even"), log.toString());
    assertEquals(2, run(new StringWriter(), "--out", dir.toString(), "--size", "big"));
    assertEquals(2, run(new StringWriter(), "--out", dir.toString(), "--videos", "0"));
  }
}
