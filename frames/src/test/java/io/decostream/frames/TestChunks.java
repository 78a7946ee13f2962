package io.decostream.frames;

import io.decostream.ingest.Chunk;
import io.decostream.ingest.Chunker;
import io.decostream.ingest.ChunkerOptions;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.VideoChunk;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Test helper: real chunks cut from synthetic videos by the ingest Chunker, as VideoChunk records.
 */
final class TestChunks {

  private TestChunks() {}

  static List<VideoChunk> cut(
      Path dir, String name, SyntheticVideo.Spec spec, double chunkSeconds, String stream)
      throws Exception {
    Path file = SyntheticVideo.write(dir.resolve(name), spec);
    List<Chunk> chunks =
        Chunker.readAll(ChunkerOptions.of(file.toString()).withChunkSeconds(chunkSeconds));
    return chunks.stream().map(c -> toRecord(c, stream)).toList();
  }

  static VideoChunk toRecord(Chunk c, String stream) {
    return VideoChunk.newBuilder()
        .setStreamId(stream)
        .setSequence(c.sequence())
        .setStartMicros(c.startMicros())
        .setDurationMicros(c.durationMicros())
        .setContainer(c.container())
        .setCodec(c.codec())
        .setWidth(c.width())
        .setHeight(c.height())
        .setFrameRate(c.frameRate())
        .setSource("test")
        .setData(ByteBuffer.wrap(c.data()))
        .setStageMillis(Map.of("ingest", 1234L))
        .build();
  }

  /** A copy of {@code c} with other data / sequence / duration. */
  static VideoChunk with(VideoChunk c, byte[] data, long sequence, long durationMicros) {
    VideoChunk copy = VideoChunk.newBuilder(c).build();
    copy.setData(ByteBuffer.wrap(data));
    copy.setSequence(sequence);
    copy.setDurationMicros(durationMicros);
    return copy;
  }

  static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
