package io.decostream.frames;

import io.decostream.schemas.StreamsProperties;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;

/** Starts the frames stage: {@link FramesTopology} in a {@link KafkaStreams} instance. */
public final class FramesApp {

  private FramesApp() {}

  /** The Streams properties of this stage: {@link StreamsProperties#of}, {@code extra} wins. */
  public static Properties properties(FramesConfig config, String bootstrap, Properties extra) {
    Objects.requireNonNull(config, "config");
    return StreamsProperties.of(config.applicationId(), bootstrap, config.stateDir(), extra);
  }

  /** Builds and starts the stage; the caller closes the returned instance. */
  public static KafkaStreams start(FramesConfig config, String bootstrap, Properties extra) {
    KafkaStreams streams =
        new KafkaStreams(FramesTopology.build(config), properties(config, bootstrap, extra));
    streams.start();
    return streams;
  }
}
