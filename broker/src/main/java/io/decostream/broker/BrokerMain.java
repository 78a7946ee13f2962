package io.decostream.broker;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Runs an {@link EmbeddedBroker} until Ctrl-C: {@code BrokerMain [port] [logDir]}. Port 0 (the
 * default) picks a free port; without a log directory a temporary one is used and deleted at exit.
 * It creates no topics and auto-creation is off: {@code deco broker} (which creates the DeCo
 * topics) or {@code deco topics create} does that.
 */
public final class BrokerMain {

  private BrokerMain() {}

  public static void main(String[] args) throws InterruptedException {
    EmbeddedBroker.Config config = EmbeddedBroker.Config.defaults();
    if (args.length > 0) {
      try {
        config = config.withPort(Integer.parseInt(args[0]));
      } catch (NumberFormatException e) {
        System.err.println(
            "usage: BrokerMain [port] [logDir]; port must be a number, got '" + args[0] + "'");
        System.exit(2);
      }
    }
    if (args.length > 1) {
      config = config.withLogDir(Path.of(args[1]));
    }
    CountDownLatch stopped = new CountDownLatch(1);
    EmbeddedBroker broker = EmbeddedBroker.start(config);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    broker.close();
                  } finally {
                    stopped.countDown();
                  }
                },
                "deco-broker-shutdown"));
    System.out.println("Kafka broker ready at " + broker.bootstrapServers());
    System.out.flush();
    stopped.await();
  }
}
