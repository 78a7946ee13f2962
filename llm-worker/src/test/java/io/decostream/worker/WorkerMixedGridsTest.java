package io.decostream.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.decostream.schemas.Answer;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A stream whose token budget changes mid-window keeps answering (issue 21 point 4). */
class WorkerMixedGridsTest {
  @TempDir Path state;
  final Topics topics = Topics.of(TopicNames.defaults());
  final WorkerTopologyTest.FakeLlm llm = new WorkerTopologyTest.FakeLlm();

  TopologyTestDriver driver() {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "worker-mixed-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    return new TopologyTestDriver(
        WorkerTopology.build(WorkerConfig.defaults().withCaptionEvery(0).withMaxBatch(0), llm), p);
  }

  Answer ask(WorkerTopologyTest.Io io, String stream, String id) {
    io.questions().pipeInput(stream, WorkerTopologyTest.question(stream, id));
    List<Answer> answers = io.answers().readValuesToList();
    assertEquals(1, answers.size());
    Answer a = answers.get(0);
    assertNull(a.getError(), a.getError());
    return a;
  }

  @Test
  void framesAt144TokensThen36AreAnsweredTogetherOnTheLatestGrid() {
    try (TopologyTestDriver d = driver()) {
      WorkerTopologyTest.Io io = new WorkerTopologyTest().io(d);
      for (int i = 0; i < 4; i++) {
        io.tokens().pipeInput("cam1", WorkerTopologyTest.tokens("cam1", i, 12)); // avg:12
      }
      for (int i = 4; i < 6; i++) {
        io.tokens().pipeInput("cam1", WorkerTopologyTest.tokens("cam1", i, 6)); // avg:6
      }
      Answer a = ask(io, "cam1", "q1");
      assertEquals(0, a.getFirstFrameIndex(), "the 144-token frames are in the prompt too");
      assertEquals(5, a.getLastFrameIndex());
      assertEquals(6, a.getFrameCount());
      assertEquals(36, a.getTokensPerFrame());
      assertEquals(6 * 36 + 10, a.getPromptTokens());
      // each frame's tokens are the constant index: pooled 12x12 -> 6x6 they stay that constant
      assertEquals("0 1 2 3 4 5", a.getText());
      assertEquals(List.of(), io.dead().readValuesToList());
    }
  }

  @Test
  void framesThatCannotBePooledToTheLatestGridStartThePromptAfterThem() {
    try (TopologyTestDriver d = driver()) {
      WorkerTopologyTest.Io io = new WorkerTopologyTest().io(d);
      // coarser then finer (avg:6 -> avg:12): a 6x6 frame cannot become 12x12
      io.tokens().pipeInput("up", WorkerTopologyTest.tokens("up", 0, 6));
      io.tokens().pipeInput("up", WorkerTopologyTest.tokens("up", 1, 12));
      io.tokens().pipeInput("up", WorkerTopologyTest.tokens("up", 2, 12));
      Answer up = ask(io, "up", "q1");
      assertEquals("1 2", up.getText());
      assertEquals(144, up.getTokensPerFrame());
      // max-pooled frames carry their own Query-to-Patch: not re-pooled
      FrameTokens max = WorkerTopologyTest.tokens("mx", 0, 12);
      max.setPooling("max");
      io.tokens().pipeInput("mx", max);
      io.tokens().pipeInput("mx", WorkerTopologyTest.tokens("mx", 1, 6));
      Answer mx = ask(io, "mx", "q2");
      assertEquals("1", mx.getText());
      // uneven windows (24 -> 8 -> 6 is not exact): not re-pooled
      io.tokens().pipeInput("odd", WorkerTopologyTest.tokens("odd", 0, 8));
      io.tokens().pipeInput("odd", WorkerTopologyTest.tokens("odd", 1, 6));
      assertEquals("1", ask(io, "odd", "q3").getText());
    }
  }
}
