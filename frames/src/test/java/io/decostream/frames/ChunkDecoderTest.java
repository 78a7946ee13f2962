package io.decostream.frames;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.VideoChunk;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.Frame;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkDecoderTest {

  @TempDir static Path dir;

  static List<VideoChunk> chunks;

  @BeforeAll
  static void cut() throws Exception {
    chunks =
        TestChunks.cut(
            dir, "v.mp4", SyntheticVideo.Spec.defaults(3).withSize(160, 120), 1.0, "cam");
  }

  @Test
  void decodesWithAbsoluteTimestamps() throws Exception {
    ChunkDecoder d = new ChunkDecoder(FramesConfig.defaults());
    VideoChunk c = chunks.get(2);
    List<ChunkDecoder.DecodedFrame> frames = d.decodeAll(c);
    assertEquals(10, frames.size());
    for (int j = 0; j < 10; j++) {
      ChunkDecoder.DecodedFrame f = frames.get(j);
      assertEquals(2_000_000L + j * 100_000L, f.timestampMicros(), 1000, "frame " + j);
      assertEquals(160, f.image().width());
      assertEquals(120, f.image().height());
      assertEquals(20 + j, SyntheticVideo.readStamp(160, 120, f.image().rgb()));
    }
  }

  /**
   * The decoder converts only the frames a visitor asks for, with its own libswscale call: each
   * frame's bytes must equal what JavaCV's grabImage() gives for the same chunk (its own RGB24
   * conversion), at the coded size and scaled down, for every frame and in any pattern of asks.
   */
  @Test
  void lazyConversionEqualsTheGrabbersOwn() throws Exception {
    for (int[] size : new int[][] {{160, 120}, {80, 60}}) {
      ChunkDecoder d = new ChunkDecoder(FramesConfig.defaults().withMaxSize(size[0], size[1]));
      VideoChunk c = chunks.get(1);
      List<byte[]> expected = grabberFrames(c, size[0], size[1]);
      List<ChunkDecoder.DecodedFrame> all = d.decodeAll(c);
      assertEquals(expected.size(), all.size());
      for (int j = 0; j < all.size(); j++) {
        assertEquals(size[0], all.get(j).image().width());
        assertArrayEquals(expected.get(j), all.get(j).image().rgb(), size[0] + " px, frame " + j);
      }
      // every third frame only: the skipped conversions leave the asked frames unchanged
      List<byte[]> some = new ArrayList<>();
      int[] n = {0};
      d.decode(
          c,
          (ts, img) -> {
            if (n[0]++ % 3 == 0) {
              some.add(img.get().rgb());
            }
          });
      for (int k = 0; k < some.size(); k++) {
        assertArrayEquals(expected.get(3 * k), some.get(k), size[0] + " px, frame " + 3 * k);
      }
    }
  }

  /** The frames JavaCV's grabber itself converts to RGB24 at the given output size. */
  private static List<byte[]> grabberFrames(VideoChunk c, int width, int height) throws Exception {
    List<byte[]> out = new ArrayList<>();
    try (FFmpegFrameGrabber g =
        new FFmpegFrameGrabber(new ByteArrayInputStream(TestChunks.bytes(c.getData())))) {
      g.setFormat(c.getContainer());
      g.setPixelFormat(avutil.AV_PIX_FMT_RGB24);
      g.setImageWidth(width);
      g.setImageHeight(height);
      // the stage's flags for this coded size: scaling down is bicubic, accurate (RgbConverter)
      g.setImageScalingFlags(RgbConverter.flags(c.getWidth(), c.getHeight(), width, height));
      g.start();
      Frame f;
      while ((f = g.grabImage()) != null) {
        ByteBuffer b = (ByteBuffer) f.image[0];
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
          b.position(y * f.imageStride);
          b.get(rgb, y * width * 3, width * 3);
        }
        out.add(rgb);
      }
    }
    return out;
  }

  @Test
  void scalesDownPreservingAspect() throws Exception {
    ChunkDecoder d = new ChunkDecoder(FramesConfig.defaults().withMaxSize(80, 80));
    List<ChunkDecoder.DecodedFrame> frames = d.decodeAll(chunks.get(0));
    assertEquals(80, frames.get(0).image().width());
    assertEquals(60, frames.get(0).image().height());
    // the red circle is still red somewhere in the scaled picture
    byte[] rgb = frames.get(0).image().rgb();
    boolean red = false;
    for (int i = 0; i < rgb.length; i += 3) {
      red |= (rgb[i] & 0xFF) > 150 && (rgb[i + 1] & 0xFF) < 90 && (rgb[i + 2] & 0xFF) < 90;
    }
    assertTrue(red);
    assertArrayEquals(new int[] {1920, 1080}, ChunkDecoder.fit(3840, 2160, 1920, 1080));
    assertArrayEquals(new int[] {608, 1080}, ChunkDecoder.fit(1080, 1920, 1920, 1080));
    assertArrayEquals(new int[] {336, 336}, ChunkDecoder.fit(336, 336, 1920, 1080));
  }

  @Test
  void rejectsCorruptEmptyTooLongAndSlow() {
    VideoChunk good = chunks.get(0);
    ChunkDecoder d = new ChunkDecoder(FramesConfig.defaults());
    ChunkRejected corrupt =
        assertThrows(
            ChunkRejected.class,
            () ->
                d.decodeAll(
                    TestChunks.with(good, SyntheticVideo.randomBytes(1, 8000), 0, 1_000_000)));
    assertTrue(!corrupt.reason().isBlank());
    assertThrows(
        ChunkRejected.class, () -> d.decodeAll(TestChunks.with(good, new byte[0], 0, 1_000_000)));
    byte[] data = TestChunks.bytes(good.getData());
    assertThrows(
        ChunkRejected.class,
        () -> d.decodeAll(TestChunks.with(good, SyntheticVideo.truncate(data, 400), 0, 1_000_000)));
    ChunkRejected claimed =
        assertThrows(
            ChunkRejected.class, () -> d.decodeAll(TestChunks.with(good, data, 0, 11_000_000)));
    assertTrue(claimed.reason().contains("claims"), claimed.reason());
    VideoChunk mkv = VideoChunk.newBuilder(good).setContainer("concat").build();
    assertTrue(
        assertThrows(ChunkRejected.class, () -> d.decodeAll(mkv)).reason().contains("container"));
    ChunkDecoder slow = new ChunkDecoder(FramesConfig.defaults().withMaxDecodeMillis(1));
    assertTrue(
        assertThrows(ChunkRejected.class, () -> slow.decodeAll(good))
            .reason()
            .contains("decode exceeded"));
  }

  @Test
  void rejectsChunkThatDecodesLongerThanItClaims() throws Exception {
    List<VideoChunk> long3 =
        TestChunks.cut(
            dir,
            "gop30.mp4",
            SyntheticVideo.Spec.defaults(3).withSize(64, 48).withGopFrames(30),
            1.0,
            "cam");
    assertEquals(1, long3.size()); // one keyframe: one 3 s chunk
    VideoChunk lying =
        TestChunks.with(long3.get(0), TestChunks.bytes(long3.get(0).getData()), 0, 1_000_000);
    ChunkDecoder d = new ChunkDecoder(FramesConfig.defaults().withMaxChunkSeconds(2));
    ChunkRejected e = assertThrows(ChunkRejected.class, () -> d.decodeAll(lying));
    assertTrue(e.reason().contains("decodes to more than"), e.reason());
  }

  /**
   * Issue 18 point 7: a decode that does not come back (here the per-frame work blocks, as FFmpeg
   * stuck inside one call would) is cut from outside at maxDecodeMillis.
   */
  @Test
  void aDecodeThatNeverReturnsIsCutAtItsBound() {
    ChunkDecoder d = new ChunkDecoder(FramesConfig.defaults().withMaxDecodeMillis(500));
    long t0 = System.nanoTime();
    ChunkRejected e =
        assertThrows(
            ChunkRejected.class,
            () ->
                d.decode(
                    chunks.get(0),
                    (ts, img) -> {
                      long until = System.nanoTime() + 30_000_000_000L;
                      while (System.nanoTime() < until) {
                        // busy and deaf to interrupts, like native code
                      }
                    }));
    double s = (System.nanoTime() - t0) / 1e9;
    assertTrue(e.reason().startsWith("decode exceeded 0.500 s"), e.reason());
    assertTrue(s < 3, "cut after " + s + " s");
  }

  /** Issue 18 point 7: claims and TS structure checked before FFmpeg sees the bytes. */
  @Test
  void rejectsBadClaimsAndBrokenTransportStreams() {
    VideoChunk good = chunks.get(0);
    byte[] data = TestChunks.bytes(good.getData());
    ChunkDecoder d = new ChunkDecoder(FramesConfig.defaults().withMaxChunkBytes(4096));
    assertTrue(
        assertThrows(ChunkRejected.class, () -> d.decodeAll(good)).reason().contains("byte limit"));
    ChunkDecoder dd = new ChunkDecoder(FramesConfig.defaults());
    byte[] cut = java.util.Arrays.copyOf(data, 188 * 5 + 17);
    assertTrue(
        assertThrows(ChunkRejected.class, () -> dd.decodeAll(TestChunks.with(good, cut, 0, 0)))
            .reason()
            .contains("truncated"));
    byte[] flipped = data.clone();
    flipped[188 * 3] ^= 0x10;
    assertTrue(
        assertThrows(ChunkRejected.class, () -> dd.decodeAll(TestChunks.with(good, flipped, 0, 0)))
            .reason()
            .contains("packet 3"));
    VideoChunk codec = VideoChunk.newBuilder(good).setCodec("hevc").build();
    assertTrue(
        assertThrows(ChunkRejected.class, () -> dd.decodeAll(codec))
            .reason()
            .contains("declares codec 'hevc'"));
    VideoChunk fps = VideoChunk.newBuilder(good).setFrameRate(Double.NaN).build();
    assertTrue(assertThrows(ChunkRejected.class, () -> dd.decodeAll(fps)).reason().contains("fps"));
    VideoChunk start = VideoChunk.newBuilder(good).setStartMicros(-1).build();
    assertTrue(
        assertThrows(ChunkRejected.class, () -> dd.decodeAll(start))
            .reason()
            .contains("negative start"));
  }
}
