package io.decostream.encoder;

import io.decostream.schemas.StreamsProperties;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;

/** Starts the encoder stage: {@link EncoderTopology} in a {@link KafkaStreams} instance. */
public final class EncoderApp {
  private EncoderApp() {}

  public static KafkaStreams start(
      EncoderConfig config, VisionBackend backend, String bootstrap, Properties extra) {
    KafkaStreams streams =
        new KafkaStreams(
            EncoderTopology.build(config, backend),
            StreamsProperties.of(config.applicationId(), bootstrap, config.stateDir(), extra));
    streams.start();
    return streams;
  }
}
