package io.decostream.broker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class EmbeddedBrokerIT {

  @Test
  void largeMessageRoundTripAndCleanup() throws Exception {
    assertEquals(
        KafkaLimits.MAX_MESSAGE_BYTES,
        EmbeddedBroker.MAX_MESSAGE_BYTES,
        "broker and clients must agree");
    Path dir;
    try (EmbeddedBroker broker = EmbeddedBroker.start()) {
      dir = broker.logDir();
      assertTrue(Files.isDirectory(dir));
      assertTrue(broker.bootstrapServers().startsWith("127.0.0.1:"), broker.bootstrapServers());

      Topics topics = Topics.of(TopicNames.withPrefix("it-" + System.nanoTime() + "."));
      String topic = topics.frames().name();
      try (Admin admin =
          Admin.create(
              Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
        TopicAdmin.ensureTopics(admin, topics, 1, (short) 1);
        TopicAdmin.ensureTopics(
            admin, topics, 1, (short) 1); // idempotent: existing topics are fine
        Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
        topics.all().forEach(t -> assertTrue(names.contains(t.name()), t.name()));
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config cfg = admin.describeConfigs(List.of(res)).all().get(30, TimeUnit.SECONDS).get(res);
        assertEquals(
            Integer.toString(KafkaLimits.MAX_MESSAGE_BYTES), cfg.get("max.message.bytes").value());
      }

      byte[] value = new byte[1_500_000]; // over Kafka's 1 MB default everywhere
      new Random(42).nextBytes(value);

      Map<String, Object> pp = new HashMap<>(KafkaLimits.producerOverrides());
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
      pp.put(ProducerConfig.ACKS_CONFIG, "all");
      try (KafkaProducer<String, byte[]> producer =
          new KafkaProducer<>(pp, new StringSerializer(), new ByteArraySerializer())) {
        RecordMetadata md =
            producer.send(new ProducerRecord<>(topic, "cam-1", value)).get(30, TimeUnit.SECONDS);
        assertEquals(0L, md.offset());
      }

      ConsumerRecord<String, byte[]> got =
          lastRecord(broker, topic, "it-group", KafkaLimits.consumerOverrides());
      assertNotNull(got, "no record consumed within 60 s");
      assertEquals("cam-1", got.key());
      assertArrayEquals(value, got.value());
    }
    assertFalse(Files.exists(dir), "temporary log dir should be deleted on close: " + dir);
  }

  @Test
  void fixedPortIsHonouredAndBusyPortIsReported() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket()) {
      probe.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
      port = probe.getLocalPort();
    }
    Path kept = Files.createTempDirectory("deco-kafka-kept-");
    try (EmbeddedBroker broker =
        EmbeddedBroker.start(EmbeddedBroker.Config.defaults().withPort(port).withLogDir(kept))) {
      assertEquals("127.0.0.1:" + port, broker.bootstrapServers());
      IllegalStateException busy =
          assertThrows(
              IllegalStateException.class,
              () -> EmbeddedBroker.start(EmbeddedBroker.Config.defaults().withPort(port)));
      assertTrue(busy.getMessage().contains("already in use"), busy.getMessage());
    }
    try {
      assertTrue(
          Files.exists(kept.resolve("meta.properties")), "a given log dir is kept after close");
    } finally {
      EmbeddedBroker.deleteRecursively(kept);
    }
  }

  @Test
  void restartsOnItsOwnDataDirectory() throws Exception {
    // issue 18: `deco broker --log-dir DIR`, stopped and started again on DIR, must come back with
    // its topics and records (it used to fail with "Invalid cluster.id")
    Path dir = Files.createTempDirectory("deco-broker-restart-");
    String topic = "restart-" + System.nanoTime();
    EmbeddedBroker.Config config =
        new EmbeddedBroker.Config(0, java.util.Optional.of(dir), Map.of());
    try (EmbeddedBroker broker = EmbeddedBroker.start(config)) {
      Map<String, Object> pp = new HashMap<>();
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
      pp.put(ProducerConfig.ACKS_CONFIG, "all");
      pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 3000);
      try (KafkaProducer<String, byte[]> producer =
          new KafkaProducer<>(pp, new StringSerializer(), new ByteArraySerializer())) {
        // auto-creation is off (issue 18 point 3): a missing topic is not made up by a send
        ExecutionException missing =
            assertThrows(
                ExecutionException.class,
                () ->
                    producer
                        .send(new ProducerRecord<>(topic, "cam-1", new byte[] {7}))
                        .get(30, TimeUnit.SECONDS));
        assertTrue(
            missing.getCause() instanceof org.apache.kafka.common.errors.TimeoutException,
            missing.toString());
        try (Admin admin =
            Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
          TopicAdmin.ensureTopics(admin, List.of(topic), 1, (short) 1);
        }
        producer
            .send(new ProducerRecord<>(topic, "cam-1", new byte[] {7}))
            .get(30, TimeUnit.SECONDS);
      }
    }
    try (EmbeddedBroker broker = EmbeddedBroker.start(config)) {
      try (Admin admin =
          Admin.create(
              Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
        assertTrue(admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic));
      }
      ConsumerRecord<String, byte[]> got = lastRecord(broker, topic, "restart-group", Map.of());
      assertNotNull(got, "the record written before the restart was not read back");
      assertArrayEquals(new byte[] {7}, got.value());
    } finally {
      EmbeddedBroker.deleteRecursively(dir);
    }
  }

  /** The last record of the first poll that returns any, from the start of {@code topic} (60 s). */
  private static ConsumerRecord<String, byte[]> lastRecord(
      EmbeddedBroker broker, String topic, String group, Map<String, Object> overrides) {
    Map<String, Object> cp = new HashMap<>(overrides);
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    ConsumerRecord<String, byte[]> got = null;
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(cp, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 60_000;
      while (got == null && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          got = r;
        }
      }
    }
    return got;
  }
}
