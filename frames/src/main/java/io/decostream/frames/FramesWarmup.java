package io.decostream.frames;

import io.decostream.metrics.StageMetrics;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Frame;
import io.decostream.schemas.ScratchDir;
import io.decostream.schemas.StreamsProperties;
import io.decostream.schemas.Topics;
import io.decostream.schemas.VideoChunk;
import java.util.List;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * Issue 22: the frames stage's own topology run on the caller's chunks before the stage joins its
 * group, as the encoder does ({@code EncoderWarmup}).
 *
 * <p>A cold JVM compiles the per-chunk path (the Avro serdes, the decode loop around FFmpeg, the
 * sampler and its store, the PNG writer) while the first chunks of every camera arrive, on the
 * cores the encoder needs: at 60 cameras on 2 cores the first minute built an encoder backlog of
 * hundreds of frames (docs/scaling.md). Run here first, that compile is done before the first
 * camera's chunk is read.
 *
 * <p>The chunks go through Kafka's {@link TopologyTestDriver}: the same processor, store and serdes
 * as the running stage, in this thread, with no broker and nothing written to any topic. They are
 * re-stamped as one continuous stream {@link #STREAM} (sequence and start time run on over each
 * pass of the list), so every chunk yields the frames the sampler keeps. Its state lives in a
 * temporary directory removed afterwards; its metrics are muted ({@link StageMetrics#mute}).
 */
public final class FramesWarmup {
  /** Stream id the warm-up's chunks are re-stamped with. */
  public static final String STREAM = "deco-warmup";

  /** What the warm-up did: chunks decoded, frames the sampler kept, wall-clock time. */
  public record Result(int chunks, int frames, long millis) {}

  private FramesWarmup() {}

  /**
   * Decodes {@code count} chunks through the stage's topology, cycling through {@code clip} (the
   * chunks of one stream, in order, as ingest cuts them).
   *
   * @throws IllegalStateException when a chunk is dead-lettered: the stage could not decode such a
   *     chunk either (the reason is in the message)
   */
  public static Result run(FramesConfig config, List<VideoChunk> clip, int count) {
    if (count < 0) {
      throw new IllegalArgumentException("warm-up needs chunks >= 0, got " + count);
    }
    long t0 = System.nanoTime();
    if (count == 0) {
      return new Result(0, 0, 0);
    }
    if (clip == null || clip.isEmpty()) {
      throw new IllegalArgumentException("warm-up needs at least one chunk to cycle through");
    }
    VideoChunk last = clip.get(clip.size() - 1);
    long loopMicros = last.getStartMicros() + last.getDurationMicros();
    if (loopMicros <= 0) {
      throw new IllegalArgumentException("warm-up chunks must span some time, got " + loopMicros);
    }
    Topics topics = Topics.of(config.topicNames());
    try (ScratchDir scratch = ScratchDir.create("deco-frames-warmup");
        AutoCloseable muted = StageMetrics.mute();
        TopologyTestDriver driver =
            new TopologyTestDriver(
                FramesTopology.build(config.withStateDir(scratch.path())),
                StreamsProperties.warmUp(config.applicationId(), scratch.path()))) {
      TestInputTopic<String, VideoChunk> in =
          driver.createInputTopic(
              topics.chunks().name(),
              topics.chunks().keySerde().serializer(),
              topics.chunks().valueSerde().serializer());
      TestOutputTopic<String, Frame> frames =
          driver.createOutputTopic(
              topics.frames().name(),
              topics.frames().keySerde().deserializer(),
              topics.frames().valueSerde().deserializer());
      TestOutputTopic<String, DeadLetter> dead =
          driver.createOutputTopic(
              topics.deadLetters().name(),
              topics.deadLetters().keySerde().deserializer(),
              topics.deadLetters().valueSerde().deserializer());
      int kept = 0;
      for (int i = 0; i < count; i++) {
        VideoChunk c = clip.get(i % clip.size());
        VideoChunk restamped =
            VideoChunk.newBuilder(c)
                .setStreamId(STREAM)
                .setSequence(i)
                .setStartMicros((i / clip.size()) * loopMicros + c.getStartMicros())
                .build();
        in.pipeInput(STREAM, restamped);
        List<DeadLetter> rejected = dead.readValuesToList();
        if (!rejected.isEmpty()) {
          throw new IllegalStateException(
              "frames warm-up: chunk " + i + " was rejected: " + rejected.get(0).getReason());
        }
        kept += frames.readValuesToList().size(); // read, so the driver keeps none of them
      }
      return new Result(count, kept, (System.nanoTime() - t0) / 1_000_000);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("frames warm-up failed: " + e.getMessage(), e);
    }
  }
}
