package io.decostream.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.metrics.StageMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's metrics (issue 21 point 3): model time by part from the backend's own timings,
 * frames per stream, latency, dead letters by reason, all on the Prometheus text.
 */
class WorkerMetricsTest {
  @TempDir Path state;

  @Test
  void aGroundedAnswerRecordsPrefillDecodeAndGroundingTime() {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "worker-metrics-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    WorkerGroundingTest shared = new WorkerGroundingTest();
    double prefill = millis("prefill");
    double decode = millis("decode");
    double grounding = millis("grounding");
    double frames = count("deco.frames", "stream", "cam-wm");
    double bad = count("deco.dead.letters", "reason", "not_a_valid");
    try (TopologyTestDriver d =
        new TopologyTestDriver(
            WorkerTopology.build(
                WorkerConfig.defaults().withCaptionEvery(0).withWindow(3, 64).withMaxBatch(0),
                new WorkerGroundingTest.ExplainingLlm()),
            p)) {
      for (int i = 0; i < 3; i++) {
        shared.tokensIn(d).pipeInput("cam-wm", WorkerGroundingTest.tokens("cam-wm", i, "avg"));
      }
      shared
          .questionsIn(d)
          .pipeInput("cam-wm", WorkerGroundingTest.question("cam-wm", "q-metrics", true));
      d.createInputTopic(
              shared.topics.tokens().name(),
              Serdes.String().serializer(),
              Serdes.ByteArray().serializer())
          .pipeInput("cam-wm", new byte[] {9});
    }
    // the fake backend's timings: prefill 2 ms, decode 3 ms, explain 7.5 ms
    assertEquals(2.0, millis("prefill") - prefill, 1e-6);
    assertEquals(3.0, millis("decode") - decode, 1e-6);
    assertEquals(7.5, millis("grounding") - grounding, 1e-6);
    assertEquals(3, count("deco.frames", "stream", "cam-wm") - frames, 1e-9);
    assertEquals(1, count("deco.dead.letters", "reason", "not_a_valid") - bad, 1e-9);
    String text = StageMetrics.scrape();
    for (String expected :
        new String[] {
          "deco_model_time_seconds_bucket{part=\"prefill\",stage=\"llm-worker\"",
          "deco_model_time_seconds_count{part=\"grounding\",stage=\"llm-worker\"}",
          "deco_stage_latency_seconds_count{stage=\"llm-worker\"}",
          "deco_frames_total{stage=\"llm-worker\",stream=\"cam-wm\"}",
          "deco_dead_letters_total{reason=\"not_a_valid\",stage=\"llm-worker\"}"
        }) {
      assertTrue(text.contains(expected), () -> "no " + expected + " in\n" + text);
    }
  }

  private static double millis(String part) {
    Timer t =
        StageMetrics.registry()
            .find("deco.model.time")
            .tag("stage", WorkerTopology.STAGE)
            .tag("part", part)
            .timer();
    return t == null ? 0 : t.totalTime(TimeUnit.MILLISECONDS);
  }

  private static double count(String name, String tag, String value) {
    Counter c =
        StageMetrics.registry()
            .find(name)
            .tag("stage", WorkerTopology.STAGE)
            .tag(tag, value)
            .counter();
    return c == null ? 0 : c.count();
  }
}
