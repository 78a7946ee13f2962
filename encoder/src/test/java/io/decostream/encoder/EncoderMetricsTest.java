package io.decostream.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.metrics.StageMetrics;
import io.decostream.schemas.Frame;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The encoder's metrics (issue 21 point 3) as Prometheus scrapes them after a topology run. */
@Timeout(60)
class EncoderMetricsTest {
  @TempDir Path state;
  final Topics topics = Topics.of(TopicNames.defaults());

  @AfterAll
  static void stop() {
    StageMetrics.stopServing();
  }

  @Test
  void aRunShowsFramesTokensModelTimeLatencyAndDeadLettersOnTheEndpoint() throws Exception {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "enc-metrics-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    EncoderConfig config = EncoderConfig.defaults().withBatch(2, 200);
    double before = frames("cam-metrics");
    try (TopologyTestDriver d =
        new TopologyTestDriver(
            EncoderTopology.build(config, new EncoderTopologyTest.FakeVision()), p)) {
      TestInputTopic<String, Frame> in =
          d.createInputTopic(
              topics.frames().name(),
              Serdes.String().serializer(),
              topics.frames().valueSerde().serializer());
      in.pipeInput("cam-metrics", EncoderTopologyTest.frame("cam-metrics", 0, 10));
      in.pipeInput("cam-metrics", EncoderTopologyTest.frame("cam-metrics", 1, 20));
      d.createInputTopic(
              topics.frames().name(), Serdes.String().serializer(), Serdes.ByteArray().serializer())
          .pipeInput("cam-metrics", new byte[] {1, 2, 3});
    }
    assertEquals(2, frames("cam-metrics") - before, 1e-9);

    int port = StageMetrics.serve(0);
    String body =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    for (String expected :
        new String[] {
          "jvm_memory_used_bytes",
          "deco_process_rss_bytes",
          "deco_frames_total{stage=\"encoder\",stream=\"cam-metrics\"}",
          // the default budget: 12x12 = 144 tokens per frame
          "deco_tokens_per_frame_max{stream=\"cam-metrics\"} 144.0",
          "deco_model_time_seconds_count{part=\"vit\",stage=\"encoder\"}",
          "deco_model_time_seconds_count{part=\"pooling\",stage=\"encoder\"}",
          "deco_stage_latency_seconds_bucket{stage=\"encoder\"",
          "deco_dead_letters_total{reason=\"not_a_frame\",stage=\"encoder\"}"
        }) {
      assertTrue(body.contains(expected), () -> "no " + expected + " in\n" + body);
    }
  }

  private static double frames(String stream) {
    var c =
        StageMetrics.registry()
            .find("deco.frames")
            .tag("stage", "encoder")
            .tag("stream", stream)
            .counter();
    return c == null ? 0 : c.count();
  }
}
