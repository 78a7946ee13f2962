package io.decostream.cli;

import io.decostream.console.ConsoleServer;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "web",
    mixinStandardHelpOptions = true,
    description = {
      "Serve the live web console: the streams' frames as they arrive, captions, an ask box,",
      "answers with their R-GAE heatmaps over the frames. Runs until SIGTERM or Ctrl-C."
    })
final class WebCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;

  @Option(
      names = "--web-port",
      defaultValue = "8080",
      description = "Port of the page (default ${DEFAULT-VALUE}; 0 = a free one).")
  int webPort;

  @Option(
      names = "--web-host",
      defaultValue = "127.0.0.1",
      description =
          "Address to listen on (default ${DEFAULT-VALUE}: this machine only; 0.0.0.0 for every"
              + " interface, e.g. in a container).")
  String webHost;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      defaultValue = "${env:DECO_METRICS_PORT:--1}",
      description = MetricsEndpoint.DESCRIPTION)
  int metricsPort;

  @Override
  public Integer call() throws Exception {
    // --kafka-config / DECO_KAFKA_CONFIG reach the console's clients too (issue 18 point 8)
    java.util.Map<String, String> client = new java.util.HashMap<>();
    kafka.clientProperties().forEach((k, v) -> client.put(k.toString(), v.toString()));
    ConsoleServer.Config config =
        ConsoleServer.Config.of(kafka.bootstrap, kafka.topicNames(), webPort)
            .withHost(webHost)
            .withClientProperties(client);
    // after the checks above: a bad option is refused before anything starts
    MetricsEndpoint.start(metricsPort, System.out);
    serve(config);
    return 0;
  }

  /**
   * Runs the console until SIGTERM/Ctrl-C (or until the calling thread is interrupted, which is how
   * an in-process test stops it), printing its address as one line: {@code console:
   * http://127.0.0.1:PORT/}. Shared by {@code deco web} and {@code deco demo --serve}.
   */
  static void serve(ConsoleServer.Config config) throws Exception {
    CountDownLatch stop = new CountDownLatch(1);
    Thread serving = Thread.currentThread();
    // On SIGTERM the JVM runs this hook and halts when it returns. The serving thread still has to
    // close the console and then whatever its caller holds (the demo's stages, broker and temp
    // files), so the hook waits until that thread is done: ended, or back in System.exit, where it
    // blocks behind the running hooks.
    Thread hook =
        new Thread(
            () -> {
              stop.countDown();
              long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
              while (serving.isAlive() && !inExit(serving) && System.nanoTime() < deadline) {
                try {
                  Thread.sleep(50);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "deco-console-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try (ConsoleServer console = ConsoleServer.start(config)) {
      System.out.println("console: " + console.url());
      System.out.flush();
      stop.await();
    } catch (InterruptedException e) {
      // an interrupt is the in-process stop request: not passed on, so the caller (the demo)
      // still closes its stages normally
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running: nothing to remove
      }
    }
  }

  /** Whether {@code t} called System.exit (it waits there while the shutdown hooks run). */
  private static boolean inExit(Thread t) {
    for (StackTraceElement e : t.getStackTrace()) {
      if (e.getClassName().equals("java.lang.Shutdown")) {
        return true;
      }
    }
    return false;
  }
}
