package io.decostream.frames;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.AvroSerde;
import io.decostream.schemas.CrashGuard;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Topics;
import io.decostream.schemas.VideoChunk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 point 7 in the frames stage: a chunk that crashes the stage is given up after the limit,
 * not retried (the guard itself: CrashGuardTest in schemas).
 */
class ChunkCrashLoopTest {

  @TempDir Path dir;

  @Test
  void otherRecordsReprocessedAfterTheCrashDoNotResetTheCount() {
    Path f = dir.resolve("frames-0_1");
    CrashGuard.Coordinates bad = new CrashGuard.Coordinates("chunks", 0, 10);
    CrashGuard.open(f, false).enter(bad); // crash
    CrashGuard after = CrashGuard.open(f, false);
    CrashGuard.Coordinates earlier = new CrashGuard.Coordinates("chunks", 0, 9); // replayed
    assertEquals(0, after.enter(earlier));
    after.done(earlier);
    assertEquals(1, after.enter(bad));
    after.close();
  }

  @Test
  void theTaskFileLivesOutsideTheTaskDirectory() {
    Path task = dir.resolve("state/deco-frames/0_1");
    assertEquals(
        dir.resolve("state/deco-frames/deco-crash-attempts/frames-0_1").toAbsolutePath(),
        ChunkProcessor.attemptsFile(task, "0_1"));
  }

  @Test
  void theFramesStageDeadLettersAChunkThatCrashedItTwice() throws Exception {
    VideoChunk good =
        TestChunks.cut(dir, "c.mp4", SyntheticVideo.Spec.defaults(1).withSize(64, 48), 1.0, "cam")
            .get(0);
    FramesConfig config = FramesConfig.defaults();
    Topics topics = Topics.of(config.topicNames());
    Path state = dir.resolve("state");
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "crash-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:1234");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    // two earlier runs began offset 0 and never finished it (the process died each time)
    Path file = ChunkProcessor.attemptsFile(state.resolve("crash-test/0_0"), "0_0");
    CrashGuard.Coordinates k = new CrashGuard.Coordinates(topics.chunks().name(), 0, 0);
    CrashGuard.open(file, false).enter(k);
    CrashGuard.open(file, false).enter(k);
    try (TopologyTestDriver d = new TopologyTestDriver(FramesTopology.build(config), p)) {
      TestInputTopic<byte[], byte[]> in =
          d.createInputTopic(
              topics.chunks().name(),
              Serdes.ByteArray().serializer(),
              Serdes.ByteArray().serializer());
      byte[] value = AvroSerde.of(VideoChunk.class).serialize("x", good);
      in.pipeInput("cam".getBytes(), value); // offset 0: the crasher
      in.pipeInput("cam".getBytes(), value); // offset 1: same bytes, no crash history: decoded
      List<DeadLetter> dl =
          d.createOutputTopic(
                  topics.deadLetters().name(),
                  Serdes.String().deserializer(),
                  topics.deadLetters().valueSerde().deserializer())
              .readValuesToList();
      assertEquals(1, dl.size(), dl.toString());
      assertTrue(dl.get(0).getReason().contains("crashed the frames stage 2 times"), dl.toString());
      assertEquals(0L, dl.get(0).getOffset());
      assertEquals(
          1,
          d.createOutputTopic(
                  topics.frames().name(),
                  Serdes.String().deserializer(),
                  topics.frames().valueSerde().deserializer())
              .readValuesToList()
              .size());
      assertFalse(Files.exists(file), "nothing pending once both records are done");
    }
  }
}
