package io.decostream.worker;

import io.decostream.schemas.StreamsProperties;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;

/** Starts the llm-worker stage: {@link WorkerTopology} in a {@link KafkaStreams} instance. */
public final class WorkerApp {
  private WorkerApp() {}

  /**
   * The Streams properties of this stage: {@link StreamsProperties#of} (exactly-once by default),
   * {@code extra} wins (the guarantee, static membership, client security settings).
   */
  public static Properties properties(WorkerConfig config, String bootstrap, Properties extra) {
    Objects.requireNonNull(config, "config");
    return StreamsProperties.of(config.applicationId(), bootstrap, config.stateDir(), extra);
  }

  public static KafkaStreams start(
      WorkerConfig config, AnswerBackend backend, String bootstrap, Properties extra) {
    KafkaStreams streams =
        new KafkaStreams(
            WorkerTopology.build(config, backend), properties(config, bootstrap, extra));
    streams.start();
    return streams;
  }
}
