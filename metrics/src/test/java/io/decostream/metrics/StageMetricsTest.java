package io.decostream.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class StageMetricsTest {
  @AfterAll
  static void stop() {
    StageMetrics.stopServing();
  }

  @Test
  void theEndpointServesPrometheusTextWithJvmAndStageMetrics() throws Exception {
    StageMetrics.frame("unit", "cam-test", 3);
    StageMetrics.recordLatency("unit", System.nanoTime() - 5_000_000);
    StageMetrics.modelTime("unit", "vit", 12.5);
    StageMetrics.tokensPerFrame("cam-test", 64);
    StageMetrics.deadLetter("unit", "frame 12 of stream cam1 cannot be decoded: bad PNG");
    int port = StageMetrics.serve(0);
    assertEquals(port, StageMetrics.serve(0), "one server per process");
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
    String body = r.body();
    for (String expected :
        new String[] {
          "jvm_memory_used_bytes",
          "jvm_gc_",
          "jvm_threads_live_threads",
          "deco_process_rss_bytes",
          "deco_frames_total{stage=\"unit\",stream=\"cam-test\"} 3.0",
          "deco_stage_latency_seconds_bucket{stage=\"unit\"",
          "deco_model_time_seconds_count{part=\"vit\",stage=\"unit\"} 1",
          "deco_tokens_per_frame_sum{stream=\"cam-test\"} 64.0",
          "deco_dead_letters_total{reason=\"frame_of_stream\",stage=\"unit\"} 1.0"
        }) {
      assertTrue(body.contains(expected), () -> "no " + expected + " in\n" + body);
    }
  }

  @Test
  void rssIsTheProcessResidentSize() {
    double rss = StageMetrics.residentBytes();
    // the JVM alone is tens of MB resident; NaN only off Linux
    assertTrue(Double.isNaN(rss) || rss > 10e6, "rss " + rss);
  }

  @Test
  void reasonsAreBucketedToTheirFirstPlainWords() {
    assertEquals("not_a_frame", StageMetrics.reasonBucket("not a Frame record: Malformed data"));
    assertEquals(
        "record_key_does",
        StageMetrics.reasonBucket("record key 'cam9' does not match VideoChunk.streamId 'x'"));
    assertEquals(
        "crashed_the_frames",
        StageMetrics.reasonBucket("crashed the frames stage 3 times (attempts counted in /x)"));
    assertEquals("unknown", StageMetrics.reasonBucket(null));
    assertEquals("other", StageMetrics.reasonBucket("12 34"));
  }

  @Test
  void reasonCardinalityIsBounded() {
    for (int i = 0; i < StageMetrics.MAX_REASONS + 10; i++) {
      StageMetrics.deadLetter("bounded", "reason" + (char) ('a' + i % 26) + (char) ('a' + i / 26));
    }
    long reasons =
        StageMetrics.registry().find("deco.dead.letters").tag("stage", "bounded").counters().size();
    assertEquals(StageMetrics.MAX_REASONS + 1, reasons, "the bucketed reasons plus 'other'");
  }

  @Test
  void aMutedThreadLeavesNoTraceAndRecordsAgainOnceClosed() throws Exception {
    try (AutoCloseable m = StageMetrics.mute()) {
      StageMetrics.frame("unit-muted", "cam-warmup", 1);
      StageMetrics.tokensPerFrame("cam-warmup", 144);
      StageMetrics.modelTime("unit-muted", "vit", 3);
      StageMetrics.recordLatency("unit-muted", System.nanoTime());
      StageMetrics.deadLetter("unit-muted", "frame 1 cannot be decoded");
      // another thread is not muted
      Thread t = new Thread(() -> StageMetrics.frame("unit-muted", "cam-other", 2));
      t.start();
      t.join();
    }
    var r = StageMetrics.registry();
    assertEquals(null, r.find("deco.frames").tag("stream", "cam-warmup").counter());
    assertEquals(null, r.find("deco.tokens.per.frame").tag("stream", "cam-warmup").summary());
    assertEquals(null, r.find("deco.model.time").tag("stage", "unit-muted").timer());
    assertEquals(null, r.find("deco.stage.latency").tag("stage", "unit-muted").timer());
    assertEquals(null, r.find("deco.dead.letters").tag("stage", "unit-muted").counter());
    assertEquals(2.0, r.find("deco.frames").tag("stream", "cam-other").counter().count());
    StageMetrics.frame("unit-muted", "cam-warmup", 1);
    assertEquals(1.0, r.find("deco.frames").tag("stream", "cam-warmup").counter().count());
  }
}
