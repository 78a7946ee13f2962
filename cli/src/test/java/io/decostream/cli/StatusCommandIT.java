package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.schemas.TopicNames;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code deco status} against a real broker (issue 21 point 3): frames/s and the last answer from
 * the topics, a stage's group lag from its committed offsets, an absent stage said so.
 */
@Timeout(120)
class StatusCommandIT {
  @Test
  void printsFramesPerSecondLastAnswerAndLag() throws Exception {
    String prefix = "it-status-" + System.nanoTime() + ".";
    TopicNames names = TopicNames.withPrefix(prefix);
    try (EmbeddedBroker broker = EmbeddedBroker.start()) {
      String bootstrap = broker.bootstrapServers();
      assertEquals(
          0, Deco.run("topics", "create", "--bootstrap", bootstrap, "--topic-prefix", prefix));
      Map<String, Object> p =
          Map.of(
              ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
              bootstrap,
              ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
              1 << 20);
      long now = System.currentTimeMillis();
      try (KafkaProducer<String, byte[]> producer =
          new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
        for (int i = 0; i < 30; i++) {
          // only keys and timestamps count: the values need not be FrameTokens
          producer.send(
              new ProducerRecord<>(names.tokens(), null, now - i * 1000L, "cam-s", new byte[] {1}));
        }
        // an old frame: outside the window, but its stream's last frame is still the newest
        producer.send(
            new ProducerRecord<>(names.tokens(), null, now - 600_000L, "cam-s", new byte[] {1}));
        producer.send(
            new ProducerRecord<>(names.answers(), null, now - 5000L, "cam-s", new byte[] {2}));
        for (int i = 0; i < 5; i++) {
          producer.send(new ProducerRecord<>(names.chunks(), 0, "cam-s", new byte[] {3}));
        }
        producer.flush();
      }
      try (Admin admin = Clients.admin(bootstrap, new Properties())) {
        // the frames stage read one chunk of partition 0 and stopped: 4 behind
        admin
            .alterConsumerGroupOffsets(
                "deco-frames",
                Map.of(new TopicPartition(names.chunks(), 0), new OffsetAndMetadata(1)))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
      String out =
          captureOut(
              () ->
                  assertEquals(
                      0,
                      Deco.run(
                          "status",
                          "--bootstrap",
                          bootstrap,
                          "--topic-prefix",
                          prefix,
                          "--window",
                          "60")));
      String stream =
          out.lines()
              .filter(l -> l.startsWith("cam-s "))
              .findFirst()
              .orElseThrow(() -> new AssertionError(out));
      String[] cols = stream.trim().split("\\s{2,}");
      assertEquals("0.50", cols[1], out);
      assertEquals("30", cols[2], out);
      assertTrue(cols[3].endsWith("ms ago") || cols[3].endsWith("s ago"), out);
      assertTrue(cols[4].matches("[0-9.]+ s ago"), out);
      String frames =
          out.lines()
              .filter(l -> l.startsWith("frames "))
              .findFirst()
              .orElseThrow(() -> new AssertionError(out));
      String[] f = frames.trim().split("\\s{2,}");
      assertEquals("deco-frames", f[1], out);
      assertEquals("Empty", f[2], out);
      assertEquals("4", f[4], out);
      assertTrue(
          out.lines().anyMatch(l -> l.matches("encoder\\s+deco-encoder\\s+absent\\s+0\\s+-")), out);
    }
  }

  private static synchronized String captureOut(Runnable r) {
    PrintStream sysOut = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      r.run();
    } finally {
      System.setOut(sysOut);
    }
    String s = buf.toString(StandardCharsets.UTF_8);
    sysOut.print(s);
    return s;
  }
}
