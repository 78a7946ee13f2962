package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code deco broker} creates the DeCo topics itself (issue 18 point 3): at start, with {@code
 * --partitions}; again on its kept data (nothing to do), and again when started fresh on the same
 * port (a lost broker replaced: correct topics at once, auto-creation being off).
 */
@Timeout(180)
class BrokerCommandIT {
  @TempDir Path tmp;

  @Test
  void createsItsTopicsAtEveryStart() throws Exception {
    BrokerCommand cmd = new BrokerCommand();
    new CommandLine(cmd)
        .parseArgs(
            "--partitions", "3", "--log-dir", tmp.resolve("a").toString(), "--topic-prefix", "b.");
    Topics topics = Topics.of(TopicNames.withPrefix("b."));
    List<String> names = new ArrayList<>();
    topics.all().forEach(t -> names.add(t.name()));
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);

    int port;
    try (EmbeddedBroker broker = cmd.start(out)) {
      port = broker.port();
      assertEquals(Map.of(), without(partitions(broker, names), 3));
    }
    assertTrue(
        log.toString(StandardCharsets.UTF_8).contains("created b.deco.frames (3 partitions)"));

    cmd.port = port; // the same port, the kept data
    log.reset();
    try (EmbeddedBroker broker = cmd.start(out)) {
      assertEquals(Map.of(), without(partitions(broker, names), 3));
    }
    assertTrue(
        log.toString(StandardCharsets.UTF_8).contains("exists  b.deco.frames (3 partitions)"),
        log.toString(StandardCharsets.UTF_8));

    cmd.logDir = tmp.resolve("fresh"); // the same port, no data: the topics come back
    log.reset();
    try (EmbeddedBroker broker = cmd.start(out)) {
      assertEquals(port, broker.port());
      assertEquals(Map.of(), without(partitions(broker, names), 3));
    }
    assertTrue(
        log.toString(StandardCharsets.UTF_8).contains("created b.deco.frames (3 partitions)"));
  }

  private static Map<String, Integer> partitions(EmbeddedBroker broker, List<String> names) {
    try (Admin admin = Clients.admin(broker.bootstrapServers(), new Properties())) {
      Map<String, Integer> p = new java.util.HashMap<>(TopicAdmin.partitions(admin, names, 30_000));
      names.forEach(n -> p.putIfAbsent(n, 0));
      return p;
    }
  }

  /** The entries whose value is not {@code n} (empty when every topic has n partitions). */
  private static Map<String, Integer> without(Map<String, Integer> m, int n) {
    Map<String, Integer> odd = new java.util.TreeMap<>(m);
    odd.values().removeIf(v -> v == n);
    return odd;
  }
}
