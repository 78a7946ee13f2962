package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.cli.OutputCollector;
import io.decostream.frames.FaultHooks;
import io.decostream.lab.corpus.BadInputCorpus;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.schemas.VideoChunk;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 point 7, "an input that crashes the process is recognised after restart (attempt count
 * kept in state) and dead-lettered instead of crash-looping", with real processes: the frames stage
 * runs as its own JVM ({@code Deco frames}) with the TEST HOOK deco.fault.crashOnChunkMarker, which
 * halts the JVM (status 137, as kill -9) on the corpus' crash chunk. The stage is restarted on the
 * same state directory like a supervisor would: it dies on the chunk twice (the default
 * maxCrashAttempts), and the third run dead-letters it with "crashed the frames stage 2 times" and
 * goes on with the chunk behind it.
 */
@Timeout(900)
class CrashLoopIT {

  @TempDir static Path tmp;
  static EmbeddedBroker broker;
  static final List<Process> started = new ArrayList<>();

  @AfterAll
  static void stop() throws Exception {
    for (Process p : started) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void aChunkThatKillsTheStageTwiceIsDeadLetteredOnTheThirdRun() throws Exception {
    broker = EmbeddedBroker.start();
    String prefix = "it-crash.";
    Topics topics = Topics.of(TopicNames.withPrefix(prefix));
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      TopicAdmin.ensureTopics(admin, topics, 1, (short) 1);
    }
    VideoChunk good = BadInputCorpus.goodChunk(tmp, "good-after");
    BadInputCorpus.Item crash =
        new BadInputCorpus(good, 18)
            .chunkItems().stream().filter(i -> i.name().equals("crash")).findFirst().orElseThrow();
    Map<String, Object> pp = new HashMap<>(KafkaLimits.producerOverrides());
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    try (KafkaProducer<byte[], byte[]> p =
        new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
      p.send(new ProducerRecord<>(topics.chunks().name(), crash.key(), crash.value())).get();
      p.send(
              new ProducerRecord<>(
                  topics.chunks().name(),
                  "good-after".getBytes(),
                  topics.chunks().valueSerde().serializer().serialize("x", good)))
          .get();
    }
    Path state = tmp.resolve("frames-state");
    List<Integer> exits = new ArrayList<>();
    try (OutputCollector out = new OutputCollector(broker.bootstrapServers(), topics)) {
      for (int run = 1; run <= 2; run++) {
        Process p = frames(prefix, state, run);
        assertTrue(p.waitFor(240, TimeUnit.SECONDS), "run " + run + " should die on the chunk");
        exits.add(p.exitValue());
      }
      assertEquals(List.of(137, 137), exits, "the test hook halts the JVM on the crash chunk");
      assertTrue(out.deadLetters.isEmpty(), "nothing dead-lettered while it still crashes");
      Process third = frames(prefix, state, 3);
      assertTrue(
          out.await(
              c -> c.deadLetters.stream().anyMatch(d -> crash.streamId().equals(d.getStreamId())),
              Duration.ofSeconds(240)),
          "dead letter for the crash chunk; run 3 alive: " + third.isAlive());
      DeadLetter d =
          out.deadLetters.stream()
              .filter(x -> crash.streamId().equals(x.getStreamId()))
              .findFirst()
              .orElseThrow();
      assertEquals("frames", d.getStage());
      assertTrue(d.getReason().contains("crashed the frames stage 2 times"), d.getReason());
      assertTrue(
          out.await(c -> !c.deadLetters.isEmpty() && third.isAlive(), Duration.ofSeconds(5)),
          "the third run keeps running");
      System.out.println(
          "| crash | chunk that halts the frames JVM (test hook) | frames | "
              + d.getStage()
              + " | "
              + d.getReason()
              + " |");
    }
  }

  /** {@code Deco frames} in its own JVM with the crash test hook set; output to a log file. */
  static Process frames(String prefix, Path state, int run) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd =
        List.of(
            java,
            "-cp",
            System.getProperty("java.class.path"),
            "-Dai.djl.offline=true",
            "--add-modules=jdk.incubator.vector",
            // natives unpacked by a crashed process stay in the test's temp dir, not in /tmp
            "-Djava.io.tmpdir=" + tmp,
            "-D" + FaultHooks.CRASH_PROPERTY + "=" + BadInputCorpus.CRASH_MARKER,
            "io.decostream.cli.Deco",
            "frames",
            "--bootstrap",
            broker.bootstrapServers(),
            "--topic-prefix",
            prefix,
            "--state-dir",
            state.toString());
    File log = tmp.resolve("frames-run-" + run + ".log").toFile();
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log);
    pb.environment().put("OPT_OUT_TRACKING", "true");
    Process p = pb.start();
    started.add(p);
    return p;
  }
}
