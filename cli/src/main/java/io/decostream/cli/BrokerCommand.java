package io.decostream.cli;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "broker",
    mixinStandardHelpOptions = true,
    description = {
      "Run a standalone single-node KRaft Kafka broker on 127.0.0.1 until Ctrl-C.",
      "Topic auto-creation is off: the broker creates the DeCo topics itself at start (those"
          + " missing), so a broker started fresh on the same port has correct topics again."
    })
final class BrokerCommand implements Callable<Integer> {
  @Option(
      names = "--port",
      description = "Listener port (0 = a free port; default ${DEFAULT-VALUE}).",
      defaultValue = "0")
  int port;

  @Option(
      names = "--log-dir",
      description = "Kept log directory (default: a temp dir deleted on exit).")
  Path logDir;

  @Option(
      names = "--partitions",
      defaultValue = Clients.PARTITIONS_OPTION_DEFAULT,
      description =
          "Partitions of each DeCo topic it creates (env "
              + Clients.PARTITIONS_ENV
              + "; default ${DEFAULT-VALUE}): the most processes of one stage that can share"
              + " the work.")
  int partitions;

  @Option(
      names = "--topic-prefix",
      paramLabel = "PREFIX",
      description =
          "Prefix for the topic names it creates (env DECO_TOPIC_PREFIX; per-topic env"
              + " DECO_TOPIC_<NAME>).")
  String topicPrefix;

  @Override
  public Integer call() throws Exception {
    CountDownLatch stop = new CountDownLatch(1);
    try (EmbeddedBroker broker = start(System.out)) {
      Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
      System.out.println("Kafka broker ready at " + broker.bootstrapServers());
      System.out.println(
          "(use --bootstrap "
              + broker.bootstrapServers()
              + " with the other commands; Ctrl-C stops it)");
      stop.await();
    }
    return 0;
  }

  /** Starts the broker and creates the DeCo topics it lacks (issue 18 point 3). */
  EmbeddedBroker start(java.io.PrintStream out) {
    Clients.checkPartitions(partitions);
    Topics topics =
        Topics.of(
            topicPrefix != null && !topicPrefix.isBlank()
                ? TopicNames.withPrefix(topicPrefix)
                : TopicNames.fromEnv());
    EmbeddedBroker.Config config = EmbeddedBroker.Config.defaults().withPort(port);
    if (logDir != null) {
      config = config.withLogDir(logDir);
    }
    EmbeddedBroker broker = EmbeddedBroker.start(config);
    try {
      TopicsCommand.create(
          broker.bootstrapServers(),
          new java.util.Properties(),
          topics,
          java.util.Optional.of(partitions),
          java.util.Optional.of((short) 1),
          out);
      return broker;
    } catch (RuntimeException e) {
      broker.close();
      throw e;
    }
  }
}
