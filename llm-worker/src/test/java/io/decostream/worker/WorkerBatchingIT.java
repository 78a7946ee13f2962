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
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly-once with batched answers (issue 22 point 3) on a real broker: a question whose input
 * offset was committed while its generation was still running on the scheduler (the worker stops
 * before the answer is written) is answered by the next worker, from the pending store's changelog
 * (a fresh state directory), exactly once.
 */
@Timeout(240)
class WorkerBatchingIT {
  static EmbeddedBroker broker;
  @TempDir Path tmp;

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

  @Test
  void aQuestionCommittedButNotAnsweredIsAnsweredOnceByTheNextWorker() throws Exception {
    String bootstrap = broker.bootstrapServers();
    String prefix = "it-batching-" + System.nanoTime() + ".";
    Topics topics = Topics.of(TopicNames.withPrefix(prefix));
    String app = prefix + "worker";
    WorkerBatchingTest.Gate stuck = new WorkerBatchingTest.Gate();
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      TopicAdmin.ensureTopics(
          admin,
          List.of(
              topics.tokens().name(),
              topics.questions().name(),
              topics.chunks().name(),
              topics.frames().name(),
              topics.answers().name(),
              topics.captions().name(),
              topics.grounding().name(),
              topics.deadLetters().name()),
          2,
          (short) 1);
      Map<String, Object> pp = new HashMap<>(KafkaLimits.producerOverrides());
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      Map<TopicPartition, Long> tokenEnds = new HashMap<>();
      try (KafkaProducer<String, FrameTokens> p =
          new KafkaProducer<>(
              pp,
              topics.tokens().keySerde().serializer(),
              topics.tokens().valueSerde().serializer())) {
        for (int i = 0; i < 2; i++) {
          int part =
              p.send(
                      new ProducerRecord<>(
                          topics.tokens().name(), "cam", WorkerTopologyTest.tokens("cam", i, 4)))
                  .get(30, TimeUnit.SECONDS)
                  .partition();
          tokenEnds.merge(new TopicPartition(topics.tokens().name(), part), 1L, Long::sum);
        }
      }
      WorkerConfig base =
          WorkerConfig.defaults()
              .withTopicNames(topics.names())
              .withCaptionEvery(0)
              .withWindow(4, 64)
              .withApplicationId(app);
      assertEquals(WorkerConfig.DEFAULT_MAX_BATCH, base.maxBatch(), "batching is the default");
      Properties extra = new Properties();
      extra.put("commit.interval.ms", "100");

      try (KafkaStreams first =
          WorkerApp.start(base.withStateDir(tmp.resolve("first")), stuck, bootstrap, extra)) {
        WorkerAnyClientIT.awaitConsumed(admin, app, tokenEnds);
        try (KafkaProducer<String, Question> p =
            new KafkaProducer<>(
                pp,
                topics.questions().keySerde().serializer(),
                topics.questions().valueSerde().serializer())) {
          p.send(
                  new ProducerRecord<>(
                      topics.questions().name(),
                      "cam",
                      WorkerBatchingTest.question("cam", "q1", "slow but sure")))
              .get(30, TimeUnit.SECONDS);
        }
        assertTrue(stuck.entered.await(60, TimeUnit.SECONDS), "the generation started");
        // the stream thread went on: the question's repartition offset gets committed (with its
        // pending entry) while the generation still runs
        awaitRepartitionCommitted(admin, app, WorkerTopology.questionsByStreamTopic(app));
        first.close(Duration.ofSeconds(30));
      }
      assertTrue(readAnswers(bootstrap, topics, Duration.ofSeconds(3)).isEmpty(), "no answer yet");

      WorkerBatchingTest.Gate free = new WorkerBatchingTest.Gate();
      free.open.countDown();
      // a fresh state directory: the pending entry comes back from the store's changelog
      try (KafkaStreams second =
          WorkerApp.start(base.withStateDir(tmp.resolve("second")), free, bootstrap, extra)) {
        List<Answer> answers = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (answers.isEmpty() && System.nanoTime() < deadline) {
          answers = readAnswers(bootstrap, topics, Duration.ofSeconds(2));
        }
        Thread.sleep(2_000); // time for a duplicate to show
        answers = readAnswers(bootstrap, topics, Duration.ofSeconds(3));
        assertEquals(1, answers.size(), "answered exactly once: " + answers);
        Answer a = answers.get(0);
        assertEquals("q1", a.getQuestionId());
        assertNull(a.getError(), a.getError());
        assertEquals("slow but sure over 2", a.getText());
        second.close(Duration.ofSeconds(30));
      }
    } finally {
      stuck.open.countDown();
    }
  }

  static void awaitRepartitionCommitted(Admin admin, String group, String topic) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin
              .listConsumerGroupOffsets(group)
              .partitionsToOffsetAndMetadata()
              .get(30, TimeUnit.SECONDS);
      long sum = 0;
      for (Map.Entry<TopicPartition, OffsetAndMetadata> e : committed.entrySet()) {
        if (e.getKey().topic().equals(topic) && e.getValue() != null) {
          sum += e.getValue().offset();
        }
      }
      if (sum >= 1) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the question's offset was never committed");
  }

  /** Every committed answer, read from the start for {@code wait}. */
  static List<Answer> readAnswers(String bootstrap, Topics topics, Duration wait) {
    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "read-" + System.nanoTime());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<Answer> out = new ArrayList<>();
    try (KafkaConsumer<String, Answer> consumer =
        new KafkaConsumer<>(
            c,
            topics.answers().keySerde().deserializer(),
            topics.answers().valueSerde().deserializer())) {
      consumer.subscribe(List.of(topics.answers().name()));
      long deadline = System.nanoTime() + wait.toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, Answer> r : consumer.poll(Duration.ofMillis(200))) {
          out.add(r.value());
        }
      }
    }
    return out;
  }
}
