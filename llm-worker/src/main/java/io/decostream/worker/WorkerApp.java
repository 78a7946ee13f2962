package io.decostream.worker;

import io.decostream.schemas.KafkaLimits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/** Starts the llm-worker stage: {@link WorkerTopology} in a {@link KafkaStreams} instance. */
public final class WorkerApp {
  private WorkerApp() {}

  public static Properties properties(WorkerConfig config, String bootstrap, Properties extra) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir(config.stateDir()).toString());
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class.getName());
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class.getName());
    // An answer can take seconds on a CPU: keep the consumer in the group meanwhile.
    p.put(StreamsConfig.consumerPrefix("max.poll.interval.ms"), 600_000);
    p.putAll(KafkaLimits.streamsOverrides());
    if (extra != null) {
      p.putAll(extra);
    }
    return p;
  }

  public static KafkaStreams start(WorkerConfig config, AnswerBackend backend, String bootstrap, Properties extra) {
    KafkaStreams streams = new KafkaStreams(WorkerTopology.build(config, backend), properties(config, bootstrap, extra));
    streams.start();
    return streams;
  }

  static Path stateDir(Path configured) {
    try {
      return configured != null ? Files.createDirectories(configured) : Files.createTempDirectory("deco-state-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the Kafka Streams state directory: " + e.getMessage(), e);
    }
  }
}
