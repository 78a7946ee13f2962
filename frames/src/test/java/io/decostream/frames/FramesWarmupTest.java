package io.decostream.frames;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.VideoChunk;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FramesWarmupTest {

  @TempDir Path dir;

  /**
   * Cycling a 3-chunk clip 7 times over re-stamps it as one continuous 7 s stream: at 1 fps the
   * sampler keeps one frame per 1 s chunk, none twice (a chunk replayed with its own sequence and
   * time would be a redelivery and yield nothing).
   */
  @Test
  void decodesTheChunksAsOneContinuousStream() throws Exception {
    List<VideoChunk> clip =
        TestChunks.cut(
            dir, "w.mp4", SyntheticVideo.Spec.defaults(3).withSize(160, 120), 1.0, "cam");
    assertEquals(3, clip.size());
    FramesWarmup.Result r = FramesWarmup.run(FramesConfig.defaults(), clip, 7);
    assertEquals(7, r.chunks());
    assertEquals(7, r.frames());
    assertEquals(
        new FramesWarmup.Result(0, 0, 0), FramesWarmup.run(FramesConfig.defaults(), clip, 0));
  }

  /** A chunk the stage would dead-letter stops the warm-up with the stage's reason. */
  @Test
  void aChunkTheStageRejectsFailsTheWarmUp() throws Exception {
    List<VideoChunk> clip =
        TestChunks.cut(
            dir, "w.mp4", SyntheticVideo.Spec.defaults(2).withSize(160, 120), 1.0, "cam");
    VideoChunk broken = TestChunks.with(clip.get(0), new byte[] {1, 2, 3}, 0, 1_000_000);
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> FramesWarmup.run(FramesConfig.defaults(), List.of(broken), 1));
    assertTrue(e.getMessage().contains("frames warm-up: chunk 0 was rejected"), e.getMessage());
    assertTrue(e.getMessage().contains("TS sync byte"), e.getMessage());
  }
}
