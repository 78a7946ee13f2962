package io.decostream.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.schemas.Answer;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Question;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Partitioner;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 point 4 on a real broker: questions produced by a client that partitions like kcat
 * (librdkafka's default partitioner, consistent_random: CRC32 of the key) land on other partitions
 * than the Java-partitioned (murmur2) frame tokens of their stream, and every one still gets a real
 * answer from its stream's window.
 */
@Timeout(240)
class WorkerAnyClientIT {
  static final int TOKEN_PARTITIONS = 3;
  static final int FRAMES = 3;
  static final List<String> STREAMS = List.of("cam1", "cam2", "cam3", "cam4", "cam5", "cam6");

  static EmbeddedBroker broker;
  @TempDir Path tmp;

  /**
   * librdkafka's default partitioner, consistent_random: CRC32 of the key bytes modulo the
   * partition count; empty and null keys go to a random partition.
   */
  public static final class LibrdkafkaConsistentRandom implements Partitioner {
    static int partition(byte[] key, int partitions) {
      if (key == null || key.length == 0) {
        return ThreadLocalRandom.current().nextInt(partitions);
      }
      CRC32 crc = new CRC32();
      crc.update(key);
      return (int) (crc.getValue() % partitions);
    }

    @Override
    public int partition(
        String topic, Object key, byte[] keyBytes, Object value, byte[] valueBytes, Cluster c) {
      return partition(keyBytes, c.partitionCountForTopic(topic));
    }

    @Override
    public void close() {}

    @Override
    public void configure(Map<String, ?> configs) {}
  }

  /** The Java producer's partition for a keyed record (murmur2, as the encoder's tokens get). */
  static int javaPartition(String key, int partitions) {
    return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
  }

  /** A stand-in LLM whose answer lists the frames it was given (first value of each). */
  static final class Echo implements AnswerBackend {
    @Override
    public int contextLength() {
      return 2048;
    }

    @Override
    public int maxFrames(int tpf, int reserved) {
      return (2048 - reserved) / tpf;
    }

    @Override
    public Generated generate(List<float[]> frames, int tpf, String prompt, int max) {
      StringBuilder sb = new StringBuilder();
      frames.forEach(f -> sb.append((int) f[0]).append(' '));
      return new Generated(sb.toString().trim(), frames.size() * tpf, 1, 0, 0, 0);
    }
  }

  @BeforeAll
  static void startBroker() {
    broker = EmbeddedBroker.start();
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  /** The case: kcat-style questions on a questions topic as wide as the tokens topic. */
  @Test
  void questionsFromALibrdkafkaPartitionerReachTheirStreamsFrames() throws Exception {
    Map<String, Integer> moved = new LinkedHashMap<>();
    for (String s : STREAMS) {
      int crc =
          LibrdkafkaConsistentRandom.partition(
              s.getBytes(StandardCharsets.UTF_8), TOKEN_PARTITIONS);
      if (crc != javaPartition(s, TOKEN_PARTITIONS)) {
        moved.put(s, crc);
      }
    }
    assertTrue(
        !moved.isEmpty() && moved.size() < STREAMS.size(),
        "the streams must include some whose question lands elsewhere than its frames, and some"
            + " that do not: "
            + moved);
    Map<String, Integer> questionPartitions = scenario("crc", TOKEN_PARTITIONS);
    int differ = 0;
    for (String s : STREAMS) {
      if (questionPartitions.get(s) != javaPartition(s, TOKEN_PARTITIONS)) {
        differ++;
      }
    }
    assertEquals(moved.size(), differ, "questions on other partitions than their frames");
  }

  /**
   * A questions topic narrower than the tokens topic: the repartition topic still gets the tokens
   * topic's partition count (co-partitioned), or the questions of streams on the other partitions
   * would find no frames.
   */
  @Test
  void aNarrowerQuestionsTopicStillReachesEveryStream() throws Exception {
    assertTrue(
        STREAMS.stream().anyMatch(s -> javaPartition(s, TOKEN_PARTITIONS) != 0),
        "some stream's frames must be off partition 0");
    scenario("narrow", 1);
  }

  /**
   * Frames of every stream (Java partitioner), the worker, then one question per stream (CRC32
   * partitioner): each must be answered from its own stream's frames. Returns where each question
   * was written.
   */
  Map<String, Integer> scenario(String name, int questionPartitions) throws Exception {
    String bootstrap = broker.bootstrapServers();
    String prefix = "it-anyclient-" + name + "-" + System.nanoTime() + ".";
    Topics topics = Topics.of(TopicNames.withPrefix(prefix));
    String app = prefix + "worker";
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      TopicAdmin.ensureTopics(admin, List.of(topics.tokens().name()), TOKEN_PARTITIONS, (short) 1);
      TopicAdmin.ensureTopics(
          admin, List.of(topics.questions().name()), questionPartitions, (short) 1);
      TopicAdmin.ensureTopics(
          admin,
          List.of(
              topics.chunks().name(),
              topics.frames().name(),
              topics.answers().name(),
              topics.captions().name(),
              topics.grounding().name(),
              topics.deadLetters().name()),
          1,
          (short) 1);

      Map<String, Object> pp = new HashMap<>(KafkaLimits.producerOverrides());
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      Map<TopicPartition, Long> tokenEnds = new HashMap<>();
      try (KafkaProducer<String, FrameTokens> p =
          new KafkaProducer<>(
              pp,
              topics.tokens().keySerde().serializer(),
              topics.tokens().valueSerde().serializer())) {
        for (String s : STREAMS) {
          for (int i = 0; i < FRAMES; i++) {
            int part =
                p.send(
                        new ProducerRecord<>(
                            topics.tokens().name(), s, WorkerTopologyTest.tokens(s, i, 12)))
                    .get(30, TimeUnit.SECONDS)
                    .partition();
            assertEquals(javaPartition(s, TOKEN_PARTITIONS), part, "tokens partitioned by Java");
            tokenEnds.merge(new TopicPartition(topics.tokens().name(), part), 1L, Long::sum);
          }
        }
      }

      WorkerConfig config =
          WorkerConfig.defaults()
              .withTopicNames(topics.names())
              .withCaptionEvery(0)
              .withWindow(4, 64)
              .withStateDir(tmp.resolve(name))
              .withApplicationId(app);
      Properties extra = new Properties();
      extra.put("commit.interval.ms", "100");
      Map<String, Integer> questionPartitionOf = new LinkedHashMap<>();
      try (KafkaStreams worker = WorkerApp.start(config, new Echo(), bootstrap, extra)) {
        awaitConsumed(admin, app, tokenEnds);

        String repartition = WorkerTopology.questionsByStreamTopic(app);
        TopicDescription d =
            admin
                .describeTopics(List.of(repartition))
                .allTopicNames()
                .get(30, TimeUnit.SECONDS)
                .get(repartition);
        assertEquals(
            TOKEN_PARTITIONS,
            d.partitions().size(),
            "the repartition topic is as wide as the tokens topic");

        Map<String, Object> qp = new HashMap<>(pp);
        qp.put(ProducerConfig.PARTITIONER_CLASS_CONFIG, LibrdkafkaConsistentRandom.class);
        try (KafkaProducer<String, Question> p =
            new KafkaProducer<>(
                qp,
                topics.questions().keySerde().serializer(),
                topics.questions().valueSerde().serializer())) {
          for (String s : STREAMS) {
            int part =
                p.send(
                        new ProducerRecord<>(
                            topics.questions().name(), s, WorkerTopologyTest.question(s, "q-" + s)))
                    .get(30, TimeUnit.SECONDS)
                    .partition();
            assertEquals(
                LibrdkafkaConsistentRandom.partition(
                    s.getBytes(StandardCharsets.UTF_8), questionPartitions),
                part,
                "the custom partitioner placed the question");
            questionPartitionOf.put(s, part);
          }
        }

        Map<String, Answer> answers = readAnswers(bootstrap, topics, STREAMS.size());
        for (String s : STREAMS) {
          Answer a = answers.get("q-" + s);
          assertTrue(a != null, "no answer for the question about " + s + ": " + answers.keySet());
          assertNull(a.getError(), s + ": " + a.getError());
          assertEquals(s, a.getStreamId());
          assertEquals("0 1 2", a.getText(), s + " answered from its own " + FRAMES + " frames");
        }
        TopicPartition dl = new TopicPartition(topics.deadLetters().name(), 0);
        long dead =
            admin
                .listOffsets(Map.of(dl, OffsetSpec.latest()))
                .all()
                .get(30, TimeUnit.SECONDS)
                .get(dl)
                .offset();
        assertEquals(0, dead, "nothing dead-lettered");
        worker.close(Duration.ofSeconds(30));
      }
      return questionPartitionOf;
    }
  }

  /** Waits until the worker's group has committed every tokens partition to its end. */
  static void awaitConsumed(Admin admin, String group, Map<TopicPartition, Long> ends)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    Map<TopicPartition, OffsetAndMetadata> committed = Map.of();
    while (System.nanoTime() < deadline) {
      committed =
          admin
              .listConsumerGroupOffsets(group)
              .partitionsToOffsetAndMetadata()
              .get(30, TimeUnit.SECONDS);
      boolean all = true;
      for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
        OffsetAndMetadata o = committed.get(e.getKey());
        all &= o != null && o.offset() >= e.getValue();
      }
      if (all) {
        return;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("the worker did not consume the frames: " + committed);
  }

  static Map<String, Answer> readAnswers(String bootstrap, Topics topics, int n) {
    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "read-" + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    Map<String, Answer> out = new LinkedHashMap<>();
    List<String> duplicates = new ArrayList<>();
    try (KafkaConsumer<String, Answer> consumer =
        new KafkaConsumer<>(
            c,
            topics.answers().keySerde().deserializer(),
            topics.answers().valueSerde().deserializer())) {
      consumer.subscribe(List.of(topics.answers().name()));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      while (System.nanoTime() < deadline && out.size() < n) {
        for (ConsumerRecord<String, Answer> r : consumer.poll(Duration.ofMillis(200))) {
          if (out.put(r.value().getQuestionId(), r.value()) != null) {
            duplicates.add(r.value().getQuestionId());
          }
        }
      }
    }
    assertTrue(duplicates.isEmpty(), "answered twice: " + duplicates);
    return out;
  }
}
