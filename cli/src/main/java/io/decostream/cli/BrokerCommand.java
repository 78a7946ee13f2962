package io.decostream.cli;

import io.decostream.broker.EmbeddedBroker;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "broker",
    mixinStandardHelpOptions = true,
    description = "Run a standalone single-node KRaft Kafka broker on 127.0.0.1 until Ctrl-C.")
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

  @Override
  public Integer call() throws Exception {
    EmbeddedBroker.Config config = EmbeddedBroker.Config.defaults().withPort(port);
    if (logDir != null) {
      config = config.withLogDir(logDir);
    }
    CountDownLatch stop = new CountDownLatch(1);
    try (EmbeddedBroker broker = EmbeddedBroker.start(config)) {
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
}
