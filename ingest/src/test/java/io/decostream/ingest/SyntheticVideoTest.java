package io.decostream.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticVideoTest {

  @TempDir Path dir;

  @Test
  void writesDecodableH264WithReadableFrameStamps() throws Exception {
    SyntheticVideo.Spec spec = SyntheticVideo.Spec.defaults(2).withSize(160, 120);
    Path p = SyntheticVideo.write(dir.resolve("a.mp4"), spec);
    assertTrue(Files.size(p) > 1000);
    try (FFmpegFrameGrabber g = new FFmpegFrameGrabber(p.toString())) {
      g.start();
      String expected = SyntheticVideo.h264EncoderName().equals("libopenh264") ? "h264" : "mpeg4";
      assertEquals(expected, g.getVideoCodecName());
      assertEquals(160, g.getImageWidth());
      assertEquals(120, g.getImageHeight());
      assertEquals(10.0, g.getVideoFrameRate(), 0.01);
    }
    List<Decoded.Info> frames = Decoded.file(p);
    assertEquals(20, frames.size());
    for (int i = 0; i < frames.size(); i++) {
      assertEquals(i, frames.get(i).stamp(), "stamp of frame " + i);
      assertEquals(i * 100_000L, frames.get(i).timestamp(), 1000, "time of frame " + i);
    }
  }

  @Test
  void shapesMoveBetweenFrames() {
    SyntheticVideo.Spec spec = SyntheticVideo.Spec.defaults(1);
    var a = SyntheticVideo.drawFrame(spec, 0);
    var b = SyntheticVideo.drawFrame(spec, 5);
    int differing = 0;
    for (int y = 40; y < spec.height(); y += 4) {
      for (int x = 0; x < spec.width(); x += 4) {
        if (a.getRGB(x, y) != b.getRGB(x, y)) {
          differing++;
        }
      }
    }
    assertTrue(differing > 50, "only " + differing + " sampled pixels changed");
    // a different seed gives a different picture
    var c = SyntheticVideo.drawFrame(spec.withSeed(99), 0);
    boolean same = true;
    for (int y = 40; y < spec.height() && same; y += 2) {
      for (int x = 0; x < spec.width(); x += 2) {
        if (a.getRGB(x, y) != c.getRGB(x, y)) {
          same = false;
          break;
        }
      }
    }
    assertTrue(!same);
  }

  @Test
  void mpegTsInMemoryAndMpeg4() throws Exception {
    byte[] ts =
        SyntheticVideo.bytes(
            SyntheticVideo.Spec.defaults(1)
                .withSize(64, 48)
                .withContainer(SyntheticVideo.Container.MPEGTS)
                .withCodec(SyntheticVideo.Codec.MPEG4));
    List<Decoded.Info> frames = Decoded.chunk(ts);
    assertEquals(10, frames.size());
    assertEquals(9, frames.get(9).stamp());
  }

  @Test
  void corruptHelpers() {
    byte[] r = SyntheticVideo.randomBytes(7, 5000);
    assertEquals(5000, r.length);
    assertEquals(0, Chunker.countDecodableFrames(r, "mpegts"));
    assertEquals(100, SyntheticVideo.truncate(r, 100).length);
  }

  @Test
  void specValidation() {
    assertThrows(
        IllegalArgumentException.class, () -> SyntheticVideo.Spec.defaults(1).withSize(15, 16));
    assertThrows(
        IllegalArgumentException.class, () -> SyntheticVideo.Spec.defaults(1).withSize(161, 120));
    assertThrows(IllegalArgumentException.class, () -> SyntheticVideo.Spec.defaults(0));
    assertThrows(
        IllegalArgumentException.class, () -> SyntheticVideo.Spec.defaults(1).withFps(0.5));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            SyntheticVideo.Spec.defaults(1)
                .withCodec(SyntheticVideo.Codec.MJPEG)
                .withContainer(SyntheticVideo.Container.MPEGTS));
    assertThrows(
        IllegalArgumentException.class,
        () -> SyntheticVideo.bytes(SyntheticVideo.Spec.defaults(1)));
  }
}
