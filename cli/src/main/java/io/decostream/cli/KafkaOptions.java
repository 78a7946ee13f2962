package io.decostream.cli;

import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
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

  TopicNames topicNames() {
    if (topicPrefix != null && !topicPrefix.isBlank()) {
      return TopicNames.withPrefix(topicPrefix);
    }
    return TopicNames.fromEnv();
  }

  Topics topics() {
    return Topics.of(topicNames());
  }
}
