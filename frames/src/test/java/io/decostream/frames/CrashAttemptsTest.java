package io.decostream.frames;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.AvroSerde;
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

/** Issue 18 point 7: a record that crashes the stage is given up after the limit, not retried. */
class CrashAttemptsTest {

  @TempDir Path dir;

  @Test
  void attemptsSurviveARestartAndTheLimitGivesTheRecordUp() {
    Path f = dir.resolve("a/frames-0_0");
    String k = CrashAttempts.key("chunks", 0, 41);
    assertEquals(0, new CrashAttempts(f, 2).begin(k)); // attempt 1 ... the process dies
    assertEquals(1, new CrashAttempts(f, 2).pending(k));
    assertEquals(0, new CrashAttempts(f, 2).begin(k)); // attempt 2 ... dies again
    CrashAttempts third = new CrashAttempts(f, 2);
    assertEquals(2, third.begin(k), "third time: give up");
    assertEquals(0, new CrashAttempts(f, 2).pending(k), "given up records are forgotten");
  }

  @Test
  void aRecordThatEndsLeavesNothingBehind() {
    Path f = dir.resolve("frames-1_0");
    CrashAttempts a = new CrashAttempts(f, 2);
    String k = CrashAttempts.key("chunks", 1, 7);
    a.begin(k);
    assertTrue(Files.exists(f), "written before processing");
    a.end(k);
    assertFalse(Files.exists(f));
    assertEquals(0, new CrashAttempts(f, 2).begin(k));
  }

  @Test
  void otherRecordsReprocessedAfterTheCrashDoNotResetTheCount() {
    Path f = dir.resolve("frames-0_1");
    String bad = CrashAttempts.key("chunks", 0, 10);
    new CrashAttempts(f, 1).begin(bad); // crash
    CrashAttempts after = new CrashAttempts(f, 1);
    String earlier = CrashAttempts.key("chunks", 0, 9); // replayed from the last commit
    assertEquals(0, after.begin(earlier));
    after.end(earlier);
    assertEquals(1, after.begin(bad));
  }

  @Test
  void theTaskFileLivesOutsideTheTaskDirectory() {
    Path task = dir.resolve("state/deco-frames/0_1");
    assertEquals(
        dir.resolve("state/deco-frames/deco-crash-attempts/frames-0_1").toAbsolutePath(),
        CrashAttempts.fileFor(task, "frames", "0_1"));
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
    Path file = CrashAttempts.fileFor(state.resolve("crash-test/0_0"), "frames", "0_0");
    String k = CrashAttempts.key(topics.chunks().name(), 0, 0);
    new CrashAttempts(file, 2).begin(k);
    new CrashAttempts(file, 2).begin(k);
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
