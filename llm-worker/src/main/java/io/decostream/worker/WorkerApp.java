package io.decostream.worker;

import io.decostream.schemas.StreamsProperties;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;

/** Starts the llm-worker stage: {@link WorkerTopology} in a {@link KafkaStreams} instance. */
public final class WorkerApp {
  private WorkerApp() {}

  public static KafkaStreams start(
      WorkerConfig config, AnswerBackend backend, String bootstrap, Properties extra) {
    KafkaStreams streams =
        new KafkaStreams(
            WorkerTopology.build(config, backend),
            StreamsProperties.of(config.applicationId(), bootstrap, config.stateDir(), extra));
    streams.start();
    return streams;
  }
}
