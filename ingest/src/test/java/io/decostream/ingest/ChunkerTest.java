package io.decostream.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkerTest {

  @TempDir static Path dir;

  static Path fiveSeconds;

  @BeforeAll
  static void makeVideo() {
    fiveSeconds =
        SyntheticVideo.write(
            dir.resolve("five.mp4"), SyntheticVideo.Spec.defaults(5).withSize(160, 120));
  }

  @Test
  void fiveSecondsGiveFiveSelfContainedOneSecondChunks() throws Exception {
    List<Chunk> chunks = Chunker.readAll(ChunkerOptions.of(fiveSeconds.toString()));
    assertEquals(5, chunks.size());
    for (int i = 0; i < chunks.size(); i++) {
      Chunk c = chunks.get(i);
      assertEquals(i, c.sequence());
      assertEquals(i * 1_000_000L, c.startMicros(), 1000, "start of chunk " + i);
      assertEquals(1_000_000L, c.durationMicros(), 1000, "duration of chunk " + i);
      assertEquals("mpegts", c.container());
      assertEquals(160, c.width());
      assertEquals(120, c.height());
      assertEquals(10.0, c.frameRate(), 0.01);
      assertTrue(c.remuxed(), "h264/mpeg4 must be remuxed, not re-encoded");
      assertEquals(10, c.frames());
      // decodes on its own, with exactly the source frames 10i..10i+9 and times restarting in the
      // chunk
      List<Decoded.Info> frames = Decoded.chunk(c.data());
      assertEquals(10, frames.size(), "frames decoded from chunk " + i);
      for (int j = 0; j < 10; j++) {
        assertEquals(10 * i + j, frames.get(j).stamp(), "source frame in chunk " + i);
        long rel = frames.get(j).timestamp() - frames.get(0).timestamp();
        assertEquals(j * 100_000L, rel, 1000);
      }
    }
  }

  @Test
  void keyframeIntervalLongerThanChunkMakesLongerChunks() throws Exception {
    Path p =
        SyntheticVideo.write(
            dir.resolve("gop20.mp4"),
            SyntheticVideo.Spec.defaults(4).withSize(64, 48).withGopFrames(20));
    List<Chunk> chunks = Chunker.readAll(ChunkerOptions.of(p.toString()));
    assertEquals(2, chunks.size());
    assertEquals(2_000_000L, chunks.get(0).durationMicros(), 1000);
    assertEquals(2_000_000L, chunks.get(1).startMicros(), 1000);
    assertEquals(20, Chunker.countDecodableFrames(chunks.get(1).data(), "mpegts"));
  }

  @Test
  void loopKeepsTimesIncreasingAndSequencesContiguous() throws Exception {
    Path p =
        SyntheticVideo.write(
            dir.resolve("two.mp4"), SyntheticVideo.Spec.defaults(2).withSize(64, 48));
    List<Chunk> chunks =
        Chunker.readAll(ChunkerOptions.of(p.toString()).withLoop(true).withMaxChunks(7));
    assertEquals(7, chunks.size());
    for (int i = 0; i < chunks.size(); i++) {
      assertEquals(i, chunks.get(i).sequence());
      assertEquals(i * 1_000_000L, chunks.get(i).startMicros(), 1000, "start of looped chunk " + i);
      if (i > 0) {
        assertEquals(
            chunks.get(i - 1).endMicros(),
            chunks.get(i).startMicros(),
            "no gap or overlap at " + i);
      }
    }
    // the third chunk is the first chunk of the second loop: same pictures again
    assertEquals(0, Decoded.chunk(chunks.get(2).data()).get(0).stamp());
  }

  @Test
  void codecThatCannotGoIntoMpegTsIsReencoded() throws Exception {
    Path p =
        SyntheticVideo.write(
            dir.resolve("mjpeg.mkv"),
            SyntheticVideo.Spec.defaults(2)
                .withSize(64, 48)
                .withCodec(SyntheticVideo.Codec.MJPEG)
                .withContainer(SyntheticVideo.Container.MATROSKA));
    List<Chunk> chunks = Chunker.readAll(ChunkerOptions.of(p.toString()));
    assertEquals(2, chunks.size());
    for (Chunk c : chunks) {
      assertFalse(c.remuxed());
      assertTrue(c.codec().equals("h264") || c.codec().equals("mpeg4"), c.codec());
      List<Decoded.Info> frames = Decoded.chunk(c.data());
      assertEquals(10, frames.size());
      assertEquals(10 * (int) c.sequence(), frames.get(0).stamp());
    }
    assertEquals(1_000_000L, chunks.get(1).startMicros(), 1000);
  }

  @Test
  void forcedReencodeOfH264AndMpeg4Remux() throws Exception {
    List<Chunk> re =
        Chunker.readAll(
            ChunkerOptions.of(fiveSeconds.toString())
                .withMode(ChunkerOptions.Mode.REENCODE)
                .withChunkSeconds(2.5));
    assertEquals(2, re.size());
    assertEquals(25, Chunker.countDecodableFrames(re.get(0).data(), "mpegts"));
    Path mp4v =
        SyntheticVideo.write(
            dir.resolve("mpeg4.mp4"),
            SyntheticVideo.Spec.defaults(2).withSize(64, 48).withCodec(SyntheticVideo.Codec.MPEG4));
    List<Chunk> chunks = Chunker.readAll(ChunkerOptions.of(mp4v.toString()));
    assertEquals(2, chunks.size());
    assertEquals("mpeg4", chunks.get(1).codec());
    assertTrue(chunks.get(1).remuxed());
    assertEquals(10, Decoded.chunk(chunks.get(1).data()).get(0).stamp());
  }

  @Test
  void stopAndMaxChunks() throws Exception {
    Chunker chunker = new Chunker(ChunkerOptions.of(fiveSeconds.toString()));
    List<Chunk> got = new ArrayList<>();
    chunker.run(
        c -> {
          got.add(c);
          if (got.size() == 2) {
            chunker.stop();
          }
        });
    assertEquals(2, got.size());
    assertTrue(chunker.isStopped());
    assertEquals(
        3, Chunker.readAll(ChunkerOptions.of(fiveSeconds.toString()).withMaxChunks(3)).size());
  }

  @Test
  void realtimePacingFollowsTheSourceClock() throws Exception {
    Path p =
        SyntheticVideo.write(
            dir.resolve("one.mp4"),
            SyntheticVideo.Spec.defaults(1.2).withSize(64, 48).withGopFrames(5));
    long t0 = System.nanoTime();
    List<Long> at = new ArrayList<>();
    new Chunker(ChunkerOptions.of(p.toString()).withChunkSeconds(0.5).withRealtime(true))
        .run(c -> at.add((System.nanoTime() - t0) / 1_000_000L));
    assertEquals(3, at.size());
    // a chunk is due when its last frame would have been captured: 0.5 s, 1.0 s, 1.2 s
    assertTrue(at.get(0) >= 480, "first chunk after " + at.get(0) + " ms");
    assertTrue(at.get(2) >= 1180, "last chunk after " + at.get(2) + " ms");
  }

  @Test
  void sinkExceptionPropagates() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                new Chunker(ChunkerOptions.of(fiveSeconds.toString()))
                    .run(
                        c -> {
                          throw new IllegalStateException("sink down");
                        }));
    assertEquals("sink down", e.getMessage());
  }

  @Test
  void badSourcesAndOptions() throws Exception {
    IllegalArgumentException missing =
        assertThrows(
            IllegalArgumentException.class,
            () -> Chunker.readAll(ChunkerOptions.of(dir.resolve("nope.mp4").toString())));
    assertTrue(missing.getMessage().contains("not found"), missing.getMessage());
    Path junk = dir.resolve("junk.ts");
    java.nio.file.Files.write(junk, SyntheticVideo.randomBytes(3, 20_000));
    assertThrows(
        IllegalArgumentException.class, () -> Chunker.readAll(ChunkerOptions.of(junk.toString())));
    assertThrows(
        IllegalArgumentException.class, () -> ChunkerOptions.of("x.mp4").withChunkSeconds(0.1));
    assertThrows(
        IllegalArgumentException.class, () -> ChunkerOptions.of("rtsp://cam/1").withLoop(true));
    assertThrows(IllegalArgumentException.class, () -> ChunkerOptions.of(" "));
    assertTrue(Chunker.isLive("/dev/video0"));
    assertTrue(Chunker.isLive("rtsp://host/stream"));
    assertFalse(Chunker.isLive("/tmp/a.mp4"));
    assertEquals("rtsp://cam.local:554/s", Chunker.redact("rtsp://admin:secret@cam.local:554/s"));
    assertEquals("/tmp/a@b.mp4", Chunker.redact("/tmp/a@b.mp4"));
  }
}
