package io.decostream.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.streams.KafkaStreams;

/** Keeps a stage's KafkaStreams running until Ctrl-C or a fatal error. */
final class StageRunner {
  private StageRunner() {}

  static void awaitShutdown(String stage, KafkaStreams streams) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
        System.err.println(stage + ": streams " + now);
        done.countDown();
      } else if (now == KafkaStreams.State.RUNNING) {
        System.out.println(stage + ": running");
      }
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(30));
      done.countDown();
    }));
    System.out.println(stage + ": started (Ctrl-C stops it)");
    done.await();
  }
}
