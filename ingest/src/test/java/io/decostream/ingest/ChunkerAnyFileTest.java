package io.decostream.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real-world files (issue 18 point 5): remux or re-encode decided by trying; damaged files. */
class ChunkerAnyFileTest {

  @TempDir static Path dir;

  private static final SyntheticVideo.Spec SMALL =
      SyntheticVideo.Spec.defaults(3).withSize(160, 120);

  private static List<Chunk> run(Chunker c) throws Exception {
    List<Chunk> out = new ArrayList<>();
    c.run(out::add);
    return out;
  }

  /** Chunks hold consecutive source frames: chunk i starts with frame 10 i (10 fps, 1 s). */
  private static void assertContinuous(List<Chunk> chunks, int expected) throws Exception {
    assertEquals(expected, chunks.size());
    int nextStamp = 0;
    for (int i = 0; i < chunks.size(); i++) {
      Chunk c = chunks.get(i);
      assertEquals(i, c.sequence());
      assertEquals(i * 1_000_000L, c.startMicros(), 1000, "start of chunk " + i);
      List<Decoded.Info> frames = Decoded.chunk(c.data());
      assertEquals(10, frames.size(), "frames in chunk " + i);
      for (Decoded.Info f : frames) {
        assertEquals(nextStamp++, f.stamp(), "source frame in chunk " + i);
      }
    }
  }

  @Test
  void xvidAviWithBFramesAndAc3FallsBackToReencoding() throws Exception {
    Path avi = AviVideo.write(dir.resolve("xvid.avi"), SMALL, "XVID", 2, true);
    // the failure of issue 18: copying these packets into MPEG-TS fails in the muxer
    IllegalArgumentException remux =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Chunker.readAll(
                    ChunkerOptions.of(avi.toString()).withMode(ChunkerOptions.Mode.REMUX)));
    assertTrue(remux.getMessage().contains("av_interleaved_write_frame"), remux.getMessage());

    Chunker auto = new Chunker(ChunkerOptions.of(avi.toString()));
    List<Chunk> chunks = run(auto);
    assertContinuous(chunks, 3);
    for (Chunk c : chunks) {
      assertFalse(c.remuxed(), "re-encoded after the remux failed: " + c);
    }
    assertNotNull(auto.stats().remuxFallback());
    assertTrue(
        auto.stats().remuxFallback().contains("av_interleaved_write_frame"),
        auto.stats().remuxFallback());
    assertTrue(auto.stats().line().contains("re-encoded (remux failed"), auto.stats().line());
    assertFalse(auto.stats().damaged(), auto.stats().toString());
  }

  @Test
  void divxAviWithoutBFramesIsRemuxed() throws Exception {
    Path avi = AviVideo.write(dir.resolve("divx.avi"), SMALL, "DX50", 0, true);
    Chunker c = new Chunker(ChunkerOptions.of(avi.toString()));
    List<Chunk> chunks = run(c);
    assertContinuous(chunks, 3);
    for (Chunk k : chunks) {
      assertTrue(k.remuxed(), k.toString());
      assertEquals("mpeg4", k.codec());
    }
    assertNull(c.stats().remuxFallback());
    assertEquals("", c.stats().line());
  }

  @Test
  void remuxFailureMidFileReencodesFromWhereTheRemuxedChunksEnded() throws Exception {
    Path five =
        SyntheticVideo.write(
            dir.resolve("five5.mp4"),
            SyntheticVideo.Spec.defaults(5)
                .withSize(160, 120)
                .withCodec(SyntheticVideo.Codec.MPEG4));
    Chunker c = new Chunker(ChunkerOptions.of(five.toString()));
    c.failRemuxAtSequence = 2;
    List<Chunk> chunks = run(c);
    assertContinuous(chunks, 5);
    assertTrue(chunks.get(0).remuxed());
    assertTrue(chunks.get(1).remuxed());
    for (int i = 2; i < 5; i++) {
      assertFalse(chunks.get(i).remuxed(), "chunk " + i + " re-encoded");
    }
    assertTrue(c.stats().remuxFallback().contains("injected"), c.stats().toString());
  }

  @Test
  void damagedAviPublishesWhatCanBeReadAndSaysWhatWasSkipped() throws Exception {
    SyntheticVideo.Spec tenSeconds = SyntheticVideo.Spec.defaults(10).withSize(160, 120);
    Path good = AviVideo.write(dir.resolve("good.avi"), tenSeconds, "XVID", 2, true);
    byte[] b = Files.readAllBytes(good);

    // 10 % of the bytes in the middle overwritten with garbage
    byte[] overwritten = b.clone();
    byte[] junk = new byte[b.length / 10];
    new Random(3).nextBytes(junk);
    System.arraycopy(junk, 0, overwritten, b.length / 2, junk.length);
    Path bad = dir.resolve("overwritten.avi");
    Files.write(bad, overwritten);
    checkDamaged(bad, 100);

    // the last third cut off (an interrupted download)
    Path cut = dir.resolve("truncated.avi");
    Files.write(cut, Arrays.copyOf(b, b.length * 2 / 3));
    checkDamaged(cut, 100);
  }

  private static void checkDamaged(Path file, int declaredFrames) throws Exception {
    Chunker c = new Chunker(ChunkerOptions.of(file.toString()));
    List<Chunk> chunks = run(c);
    assertTrue(chunks.size() >= 5, file + ": published " + chunks.size() + " chunks");
    int published = 0;
    for (int i = 0; i < chunks.size(); i++) {
      assertEquals(i, chunks.get(i).sequence());
      int n = Chunker.countDecodableFrames(chunks.get(i).data(), "mpegts");
      assertTrue(n > 0, file + ": chunk " + i + " decodes");
      published += chunks.get(i).frames();
      if (i > 0) {
        assertTrue(chunks.get(i).startMicros() >= chunks.get(i - 1).endMicros());
      }
    }
    Chunker.Stats s = c.stats();
    assertTrue(s.damaged(), file + ": " + s);
    assertTrue(s.missingFrames() > 0, s.toString());
    assertEquals(declaredFrames, published + s.missingFrames(), file + ": published + skipped");
    assertEquals(s.missingFrames() * 100_000L, s.skippedMicros(), 1000, s.toString());
    assertTrue(s.line().contains("damaged source"), s.line());
    assertTrue(s.line().contains(s.missingFrames() + " unreadable frame(s)"), s.line());
  }
}
