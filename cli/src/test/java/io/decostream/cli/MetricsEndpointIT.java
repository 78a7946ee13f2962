package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deco frames --metrics-port -1} as an operator runs it (issue 21 point 3): an OS process
 * against a real broker, scraped over HTTP while it samples a clip, stopped by SIGTERM.
 */
@Timeout(240)
class MetricsEndpointIT {
  private static final Pattern METRICS_LINE =
      Pattern.compile("metrics: (http://127\\.0\\.0\\.1:(\\d+)/metrics)");

  @TempDir Path tmp;

  @Test
  void theFramesStageServesJvmKafkaStreamsAndDecoMetrics() throws Exception {
    String prefix = "it-metrics-" + System.nanoTime() + ".";
    try (EmbeddedBroker broker = EmbeddedBroker.start()) {
      String bootstrap = broker.bootstrapServers();
      assertEquals(
          0, Deco.run("topics", "create", "--bootstrap", bootstrap, "--topic-prefix", prefix));
      ProcessBuilder launch =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-Dai.djl.offline=true",
                  "--add-modules=jdk.incubator.vector",
                  "-cp",
                  System.getProperty("java.class.path"),
                  Deco.class.getName(),
                  "frames",
                  "--bootstrap",
                  bootstrap,
                  "--topic-prefix",
                  prefix,
                  "--state-dir",
                  tmp.resolve("state").toString(),
                  "--metrics-port",
                  "-1")
              .redirectErrorStream(true);
      // every launch path: offline DJL and no tracking
      launch.environment().put("OPT_OUT_TRACKING", "true");
      Process stage = launch.start();
      ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(
                        new InputStreamReader(stage.getInputStream(), StandardCharsets.UTF_8))) {
                  for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                  }
                } catch (java.io.IOException ended) {
                  // the process is gone
                }
              },
              "frames-output");
      reader.setDaemon(true);
      reader.start();
      try {
        String url = awaitLine(lines, stage, METRICS_LINE, 60).group(1);
        awaitLine(lines, stage, Pattern.compile("frames: running"), 90);
        publish(bootstrap, Topics.of(TopicNames.withPrefix(prefix)), "cam-m", 2);

        HttpClient http = HttpClient.newHttpClient();
        List<String> expected =
            List.of(
                "jvm_memory_used_bytes",
                "deco_process_rss_bytes",
                // a Kafka Streams client metric, and the consumer lag among them
                "kafka_stream_thread_",
                "kafka_consumer_fetch_manager_records_lag_max{",
                "deco_frames_total{stage=\"frames\",stream=\"cam-m\"}",
                "deco_stage_latency_seconds_bucket{stage=\"frames\"");
        String body = "";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
          HttpResponse<String> r =
              http.send(
                  HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                  HttpResponse.BodyHandlers.ofString());
          assertEquals(200, r.statusCode());
          body = r.body();
          String b = body;
          if (expected.stream().allMatch(b::contains)) {
            break;
          }
          Thread.sleep(500);
        }
        // the lag lines, as the Grafana dashboard queries them
        body.lines().filter(l -> l.contains("records_lag_max{")).forEach(System.out::println);
        for (String e : expected) {
          String b = body;
          assertTrue(b.contains(e), () -> "no " + e + " on " + url + ":\n" + b);
        }
      } finally {
        stage.destroy(); // SIGTERM: the stage's clean stop
        assertTrue(stage.waitFor(30, TimeUnit.SECONDS), "the stage did not exit on SIGTERM");
        if (stage.isAlive()) {
          stage.destroyForcibly();
        }
      }
    }
  }

  private static Matcher awaitLine(
      ConcurrentLinkedQueue<String> lines, Process p, Pattern pattern, int seconds)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      for (String l : lines) {
        Matcher m = pattern.matcher(l);
        if (m.find()) {
          return m;
        }
      }
      if (!p.isAlive()) {
        break;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(
        "no line matching "
            + pattern
            + " from deco frames; it printed:\n"
            + String.join("\n", lines));
  }

  private void publish(String bootstrap, Topics topics, String stream, double seconds)
      throws Exception {
    Path clip =
        SyntheticVideo.write(
            tmp.resolve("clip-" + System.nanoTime() + ".mp4"),
            SyntheticVideo.Spec.defaults(seconds));
    try (Publisher p =
        new Publisher(
            new PublishConfig(
                bootstrap,
                stream,
                clip.toString(),
                1.0,
                false,
                false,
                topics.names(),
                OptionalLong.empty()))) {
      p.run();
    }
  }
}
