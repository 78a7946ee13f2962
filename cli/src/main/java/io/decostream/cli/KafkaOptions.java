package io.decostream.cli;

import io.decostream.schemas.ClientConfig;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine.Option;

/** Options shared by every command that talks to a broker. */
final class KafkaOptions {
  @Option(
      names = "--bootstrap",
      paramLabel = "HOST:PORT",
      description = "Kafka bootstrap servers (env DECO_BOOTSTRAP; default ${DEFAULT-VALUE}).",
      defaultValue = "${env:DECO_BOOTSTRAP:-localhost:9092}")
  String bootstrap;

  @Option(
      names = "--topic-prefix",
      paramLabel = "PREFIX",
      description =
          "Prefix for all default topic names (env DECO_TOPIC_PREFIX; per-topic env DECO_TOPIC_<NAME>).")
  String topicPrefix;

  @Option(
      names = "--kafka-config",
      paramLabel = "FILE",
      description =
          "Kafka client properties for every producer, consumer, admin and Streams client, e.g."
              + " security.protocol=SASL_SSL, sasl.mechanism, sasl.jaas.config, ssl.truststore.*"
              + " (env DECO_KAFKA_CONFIG). --bootstrap decides the servers.",
      defaultValue = "${env:DECO_KAFKA_CONFIG}")
  Path kafkaConfig;

  private Properties clientProperties;

  TopicNames topicNames() {
    if (topicPrefix != null && !topicPrefix.isBlank()) {
      return TopicNames.withPrefix(topicPrefix);
    }
    return TopicNames.fromEnv();
  }

  Topics topics() {
    return Topics.of(topicNames());
  }

  /** The command that creates this cluster's topics, for messages. */
  String createTopicsHint() {
    StringBuilder sb = new StringBuilder("deco topics create --bootstrap ").append(bootstrap);
    if (topicPrefix != null && !topicPrefix.isBlank()) {
      sb.append(" --topic-prefix ").append(topicPrefix);
    }
    if (kafkaConfig != null) {
      sb.append(" --kafka-config ").append(kafkaConfig);
    }
    return sb.toString();
  }

  /** A stage runner for these servers, topics and client properties. */
  StageRunner stageRunner(
      String stage,
      java.util.function.Supplier<org.apache.kafka.streams.Topology> topology,
      Properties streamsProperties) {
    Properties client = clientProperties();
    return new StageRunner(
        stage,
        topology,
        streamsProperties,
        () -> Clients.admin(bootstrap, client),
        topics(),
        createTopicsHint(),
        System.out);
  }

  /**
   * The client properties of {@code --kafka-config} (empty without one), loaded once; the first
   * call prints them to stderr with every secret value redacted (issue 18 point 8).
   */
  synchronized Properties clientProperties() {
    if (clientProperties == null) {
      Properties p = new Properties();
      if (kafkaConfig != null) {
        p = ClientConfig.load(kafkaConfig);
        p.remove("bootstrap.servers"); // --bootstrap / DECO_BOOTSTRAP decide
        System.err.println("kafka client config " + kafkaConfig + ": " + ClientConfig.redacted(p));
      }
      clientProperties = p;
    }
    Properties copy = new Properties();
    copy.putAll(clientProperties);
    return copy;
  }
}
