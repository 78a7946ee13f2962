package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.schemas.Answer;
import io.decostream.schemas.DType;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.worker.AnswerBackend;
import io.decostream.worker.WorkerApp;
import io.decostream.worker.WorkerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A restarted worker whose local state is gone restores its frame windows from the changelog. */
@Timeout(180)
class WorkerRestartIT {
  static final int DIM = 4;

  /** A stand-in LLM whose answer lists the frames it was given. */
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

  @TempDir Path tmp;

  @Test
  void windowsComeBackAfterARestartWithEmptyLocalState() throws Exception {
    try (EmbeddedBroker broker = EmbeddedBroker.start()) {
      String bootstrap = broker.bootstrapServers();
      Topics topics = Topics.of(TopicNames.withPrefix("it-restart."));
      try (Admin admin =
          Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        TopicAdmin.ensureTopics(admin, topics, 1, (short) 1);
      }
      Map<String, Object> pp = new HashMap<>(KafkaLimits.producerOverrides());
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      WorkerConfig config =
          WorkerConfig.defaults()
              .withTopicNames(topics.names())
              .withCaptionEvery(0)
              .withWindow(4, 64);
      Properties fastCommit = new Properties();
      fastCommit.put("commit.interval.ms", "100");
      // A closed Streams member does not leave its group: keep the wait for its session short.
      fastCommit.put("consumer.session.timeout.ms", "6000");

      Path firstState = tmp.resolve("first");
      try (KafkaStreams worker =
              WorkerApp.start(config.withStateDir(firstState), new Echo(), bootstrap, fastCommit);
          KafkaProducer<String, FrameTokens> p =
              new KafkaProducer<>(
                  pp,
                  topics.tokens().keySerde().serializer(),
                  topics.tokens().valueSerde().serializer())) {
        for (int i = 0; i < 6; i++) {
          float[] v = new float[144 * DIM];
          java.util.Arrays.fill(v, i);
          p.send(
              new ProducerRecord<>(
                  topics.tokens().name(),
                  "cam",
                  FrameTokens.newBuilder()
                      .setStreamId("cam")
                      .setFrameIndex(i)
                      .setTimestampMicros(i * 1_000_000L)
                      .setModelId("m")
                      .setVisionLayer(1)
                      .setSourceGridHeight(24)
                      .setSourceGridWidth(24)
                      .setGridHeight(12)
                      .setGridWidth(12)
                      .setPooling("avg")
                      .setTokens(Tensors.encode(v, new int[] {144, DIM}, DType.F16))
                      .build()));
        }
        p.flush();
        assertEquals("2 3 4 5", ask(bootstrap, topics, pp, "before").getText());
        worker.close(Duration.ofSeconds(30));
      }
      // The machine is gone: delete the local state and start again in a new directory.
      try (var walk = Files.walk(firstState)) {
        walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
      try (KafkaStreams worker =
          WorkerApp.start(
              config.withStateDir(tmp.resolve("second")), new Echo(), bootstrap, fastCommit)) {
        Answer a = ask(bootstrap, topics, pp, "after");
        assertNull(a.getError());
        assertEquals("2 3 4 5", a.getText(), "the window was restored from the changelog");
        assertTrue(worker.state().isRunningOrRebalancing());
      }
    }
  }

  static Answer ask(String bootstrap, Topics topics, Map<String, Object> pp, String id)
      throws Exception {
    try (KafkaProducer<String, Question> p =
        new KafkaProducer<>(
            pp,
            topics.questions().keySerde().serializer(),
            topics.questions().valueSerde().serializer())) {
      p.send(
              new ProducerRecord<>(
                  topics.questions().name(),
                  "cam",
                  Question.newBuilder()
                      .setQuestionId(id)
                      .setStreamId("cam")
                      .setText("what?")
                      .setAskedAtMillis(System.currentTimeMillis())
                      .build()))
          .get();
    }
    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "ask-" + id);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<String, Answer> consumer =
        new KafkaConsumer<>(
            c,
            topics.answers().keySerde().deserializer(),
            topics.answers().valueSerde().deserializer())) {
      consumer.subscribe(List.of(topics.answers().name()));
      long deadline = System.currentTimeMillis() + 90_000;
      while (System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, Answer> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.value().getQuestionId().equals(id)) {
            return r.value();
          }
        }
      }
    }
    throw new AssertionError("no answer to " + id);
  }
}
