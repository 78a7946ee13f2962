package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * Brings up docker/docker-compose.yml (KRaft Kafka + every stage as its own service) and waits for
 * the demo publisher to finish and the worker to answer. Skipped cleanly where no Docker engine
 * runs (as on the development machines and CI here).
 */
@Tag("docker")
@Testcontainers(disabledWithoutDocker = true)
class ComposeStackIT {
  @Container
  static final ComposeContainer STACK =
      new ComposeContainer(new File("../docker/docker-compose.yml"))
          .withLocalCompose(true)
          .waitingFor("kafka", Wait.forListeningPort().withStartupTimeout(Duration.ofMinutes(3)))
          .waitingFor(
              "ask", Wait.forLogMessage(".*A: .*", 1).withStartupTimeout(Duration.ofMinutes(20)));

  @Test
  @Timeout(1800)
  void stackAnswersAQuestion() {
    String logs = STACK.getContainerByServiceName("ask").map(c -> c.getLogs()).orElse("");
    assertTrue(logs.contains("A: "), "the ask service printed no answer:\n" + logs);
  }
}
