package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.schemas.Guarantee;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The stage and client options of issue 18 points 1, 2 and 8, parsed as the commands do. */
class StageOptionsTest {
  @TempDir Path tmp;

  @Test
  void stagesDefaultToExactlyOnceAPersistentStateDirAndAKeptInstanceId() {
    FramesCommand frames = new FramesCommand();
    new CommandLine(frames).parseArgs();
    assertEquals(Guarantee.EXACTLY_ONCE_V2, frames.stage.guarantee);
    Path dir = frames.stage.stateDir("deco-frames");
    assertTrue(dir.endsWith("deco-frames"), dir.toString());
    assertFalse(
        dir.startsWith(Path.of(System.getProperty("java.io.tmpdir"))), "not a temp dir: " + dir);

    FramesCommand other = new FramesCommand();
    new CommandLine(other)
        .parseArgs("--guarantee", "at_least_once", "--state-dir", tmp.resolve("s").toString());
    assertEquals(Guarantee.AT_LEAST_ONCE, other.stage.guarantee);
    String id = other.stage.instanceId(tmp.resolve("s"), "deco-frames");
    assertEquals(id, other.stage.instanceId(tmp.resolve("s"), "deco-frames"), "kept");
    assertNotEquals(id, other.stage.instanceId(tmp.resolve("t"), "deco-frames"));

    Properties extra = other.stage.extra(new Properties(), id);
    assertEquals("at_least_once", extra.get("processing.guarantee"));
    assertEquals(id, extra.get("group.instance.id"));

    WorkerCommand worker = new WorkerCommand();
    new CommandLine(worker).parseArgs("--model", "m", "--instance-id", "worker-a");
    assertEquals("worker-a", worker.stage.instanceId(tmp.resolve("w"), "deco-llm-worker"));
    assertFalse(Files.exists(tmp.resolve("w")), "a given id needs no file");

    assertThrows(
        CommandLine.ParameterException.class,
        () -> new CommandLine(new EncoderCommand()).parseArgs("--model", "m", "--guarantee", "x"));
  }

  @Test
  void everyBrokerCommandTakesAKafkaConfigFile() {
    for (Object cmd :
        new Object[] {
          new FramesCommand(),
          new EncoderCommand(),
          new WorkerCommand(),
          new PublishCommand(),
          new AskCommand(),
          new WatchCommand(),
          new GroundingCommand.Render(),
          new TopicsCommand.Create()
        }) {
      CommandLine cl = new CommandLine(cmd);
      assertTrue(
          cl.getCommandSpec().findOption("--kafka-config") != null,
          cl.getCommandName() + " has no --kafka-config");
    }
    for (Object cmd :
        new Object[] {new FramesCommand(), new EncoderCommand(), new WorkerCommand()}) {
      CommandLine cl = new CommandLine(cmd);
      for (String o : new String[] {"--guarantee", "--instance-id", "--state-dir"}) {
        assertTrue(cl.getCommandSpec().findOption(o) != null, cl.getCommandName() + " " + o);
      }
    }
  }

  @Test
  void clientPropertiesComeFromTheFileAndBootstrapFromTheCommand() throws Exception {
    Path f = tmp.resolve("c.properties");
    Files.writeString(
        f,
        "security.protocol=SASL_SSL\nbootstrap.servers=elsewhere:1\n"
            + "sasl.jaas.config=x required password=\"pw\";\n");
    WatchCommand watch = new WatchCommand();
    new CommandLine(watch).parseArgs("--bootstrap", "here:9092", "--kafka-config", f.toString());
    Properties client = watch.kafka.clientProperties();
    assertEquals("SASL_SSL", client.get("security.protocol"));
    assertNull(client.get("bootstrap.servers"), "--bootstrap decides");

    Map<String, Object> consumer =
        Clients.with(
            Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
            client,
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            "here:9092");
    assertEquals("here:9092", consumer.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG));
    assertEquals("SASL_SSL", consumer.get("security.protocol"));
    assertEquals("read_committed", consumer.get(ConsumerConfig.ISOLATION_LEVEL_CONFIG));
    assertTrue(
        watch.kafka.createTopicsHint().contains("--kafka-config " + f),
        watch.kafka.createTopicsHint());

    WatchCommand plain = new WatchCommand();
    new CommandLine(plain).parseArgs();
    assertTrue(plain.kafka.clientProperties().isEmpty());
  }
}
