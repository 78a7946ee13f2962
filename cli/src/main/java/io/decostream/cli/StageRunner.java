package io.decostream.cli;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.streams.KafkaStreams;

/** Keeps a stage's (already started) KafkaStreams running until Ctrl-C or a fatal error. */
final class StageRunner {
  private StageRunner() {}

  /** Returns 0 after Ctrl-C, 1 when the streams died on their own. */
  static int awaitShutdown(String stage, KafkaStreams streams) throws InterruptedException {
    AtomicBoolean stopping = new AtomicBoolean();
    Thread hook =
        new Thread(
            () -> {
              stopping.set(true);
              streams.close(Duration.ofSeconds(30));
            });
    Runtime.getRuntime().addShutdownHook(hook);
    System.out.println(stage + ": started (Ctrl-C stops it)");
    boolean announced = false;
    while (!stopping.get()) {
      KafkaStreams.State s = streams.state();
      if (s == KafkaStreams.State.RUNNING && !announced) {
        System.out.println(stage + ": running");
        announced = true;
      }
      if (s == KafkaStreams.State.ERROR
          || s == KafkaStreams.State.PENDING_ERROR
          || (s == KafkaStreams.State.NOT_RUNNING && !stopping.get())) {
        System.err.println(stage + ": stopped with state " + s + " (see the log above)");
        return 1;
      }
      Thread.sleep(500);
    }
    return 0;
  }
}
