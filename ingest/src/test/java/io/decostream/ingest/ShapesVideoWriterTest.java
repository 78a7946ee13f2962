package io.decostream.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.shapes.Rgb;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapeState;
import io.decostream.shapes.VideoSpec;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.Frame;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShapesVideoWriterTest {

  /** Decoded frame: container timestamp (microseconds) and row-major RGB. */
  private record Decoded(long timestamp, int width, int height, byte[] rgb) {}

  private static List<Decoded> decode(FFmpegFrameGrabber g) throws Exception {
    avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    g.setPixelFormat(avutil.AV_PIX_FMT_RGB24);
    g.start();
    List<Decoded> out = new ArrayList<>();
    Frame f;
    while ((f = g.grabImage()) != null) {
      int w = f.imageWidth;
      int h = f.imageHeight;
      byte[] rgb = new byte[w * h * 3];
      ByteBuffer b = ((ByteBuffer) f.image[0]).duplicate();
      for (int y = 0; y < h; y++) {
        b.position(y * f.imageStride);
        b.get(rgb, y * w * 3, w * 3);
      }
      out.add(new Decoded(f.timestamp, w, h, rgb));
    }
    return out;
  }

  /** Mean colour of the 5x5 block around (x, y): robust to single-pixel coding noise. */
  private static Rgb meanAround(Decoded d, double x, double y) {
    long r = 0;
    long g = 0;
    long b = 0;
    int n = 0;
    for (int dy = -2; dy <= 2; dy++) {
      for (int dx = -2; dx <= 2; dx++) {
        int i = (((int) y + dy) * d.width() + (int) x + dx) * 3;
        r += d.rgb()[i] & 0xFF;
        g += d.rgb()[i + 1] & 0xFF;
        b += d.rgb()[i + 2] & 0xFF;
        n++;
      }
    }
    return new Rgb((int) (r / n), (int) (g / n), (int) (b / n));
  }

  private static void checkClip(List<Decoded> frames, Scene scene, VideoSpec spec) {
    assertEquals(spec.frameCount(), frames.size());
    int checked = 0;
    for (int i = 0; i < frames.size(); i += 4) {
      Decoded d = frames.get(i);
      assertEquals(spec.width(), d.width());
      assertEquals(spec.height(), d.height());
      double t = spec.frameTime(i);
      for (ShapeState st : scene.statesAt(t, spec.width(), spec.height())) {
        Rgb got = meanAround(d, st.centerX(), st.centerY());
        int dist = got.maxChannelDistance(st.shape().rgb());
        assertTrue(
            dist <= 12,
            "frame "
                + i
                + ": "
                + st.shape().name()
                + " drawn "
                + st.shape().rgb()
                + ", decoded "
                + got
                + " at the ground-truth centre");
        checked++;
      }
    }
    assertTrue(checked >= frames.size() / 4);
  }

  @Test
  void mp4DecodesToTheGroundTruth(@TempDir Path dir) throws Exception {
    VideoSpec spec = new VideoSpec(336, 336, 8, 3);
    // a seed with three shapes so every shape is checked in one clip
    Scene scene = null;
    for (long seed = 1; scene == null || scene.shapes().size() < 3; seed++) {
      scene = SceneGenerator.generate(seed, 3);
    }
    Path out = ShapesVideoWriter.write(dir.resolve("sub/clip.mp4"), scene, spec);
    try (FFmpegFrameGrabber g = new FFmpegFrameGrabber(out.toString())) {
      List<Decoded> frames = decode(g);
      checkClip(frames, scene, spec);
      assertEquals(2_000_000, frames.get(16).timestamp(), 1000); // frame 16 at 8 fps is t = 2 s
    }
  }

  @Test
  void mpegTsInMemoryAtAnotherSize() throws Exception {
    VideoSpec spec = new VideoSpec(448, 336, 10, 2);
    Scene scene = SceneGenerator.generate(7, 2);
    byte[] ts = ShapesVideoWriter.bytes(scene, spec);
    try (FFmpegFrameGrabber g = new FFmpegFrameGrabber(new ByteArrayInputStream(ts))) {
      g.setFormat("mpegts");
      checkClip(decode(g), scene, spec);
    }
  }

  @Test
  void refusesAClipLongerThanTheScene() {
    Scene scene = SceneGenerator.generate(1, 2);
    assertThrows(
        IllegalArgumentException.class,
        () -> ShapesVideoWriter.bytes(scene, new VideoSpec(336, 336, 8, 3)));
  }
}
