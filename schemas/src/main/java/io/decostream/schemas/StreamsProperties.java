package io.decostream.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The Kafka Streams settings every DeCo stage shares (one place, so the stages cannot drift apart).
 */
public final class StreamsProperties {
  private StreamsProperties() {}

  /**
   * application.id, bootstrap, an explicit state.dir (the configured one, else a new temp dir),
   * at_least_once, byte-array default serdes (stages deserialize themselves so bad records become
   * dead letters), a generous poll interval (a model call can take seconds on a CPU), {@link
   * KafkaLimits#streamsOverrides()}, then {@code extra}, which wins.
   */
  public static Properties of(
      String applicationId, String bootstrap, Path stateDir, Properties extra) {
    if (bootstrap == null || bootstrap.isBlank()) {
      throw new IllegalArgumentException("bootstrap servers must be given, e.g. localhost:9092");
    }
    if (applicationId == null || applicationId.isBlank()) {
      throw new IllegalArgumentException("application id must be given");
    }
    Properties p = new Properties();
    p.put("application.id", applicationId);
    p.put("bootstrap.servers", bootstrap);
    p.put("state.dir", stateDir(stateDir).toString());
    p.put("processing.guarantee", "at_least_once");
    p.put("default.key.serde", Serdes.ByteArraySerde.class.getName());
    p.put("default.value.serde", Serdes.ByteArraySerde.class.getName());
    p.put("consumer.max.poll.interval.ms", 600_000);
    p.putAll(KafkaLimits.streamsOverrides());
    if (extra != null) {
      p.putAll(extra);
    }
    return p;
  }

  private static Path stateDir(Path configured) {
    try {
      return configured != null
          ? Files.createDirectories(configured)
          : Files.createTempDirectory("deco-state-");
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot create the Kafka Streams state directory: " + e.getMessage(), e);
    }
  }
}
