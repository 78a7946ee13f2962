package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.cli.Deco;
import io.decostream.cli.OutputCollector;
import io.decostream.cli.Pipeline;
import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.schemas.Answer;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Question;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The token budget turned while a stream runs (issue 21 point 4): the whole pipeline in process on
 * the real broker with the tiny pack; a 12 s clip published in real time; {@code deco budget
 * --stream cam1 avg:6} after its first frames; then a budget the encoder refuses and a malformed
 * control record (issue 18 point 7).
 */
@Timeout(600)
class BudgetLiveIT {
  static final String PREFIX = "it-budget.";
  static final String STREAM = "cam1";
  static final int SECONDS = 12;

  @TempDir Path tmp;

  @Test
  void aBudgetSentMidStreamChangesTheNextFramesGridAndBadOnesAreDeadLettered() throws Exception {
    try (EmbeddedBroker broker = EmbeddedBroker.start()) {
      String bootstrap = broker.bootstrapServers();
      Topics topics = Topics.of(TopicNames.withPrefix(PREFIX));
      try (Admin admin =
          Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        TopicAdmin.ensureTopics(admin, topics, 2, (short) 1);
        // budgets outlive retention: a restarted encoder rebuilds its global store from the topic
        ConfigResource budgets =
            new ConfigResource(ConfigResource.Type.TOPIC, topics.budgets().name());
        ConfigResource control =
            new ConfigResource(ConfigResource.Type.TOPIC, topics.control().name());
        Map<ConfigResource, Config> cfg =
            admin.describeConfigs(List.of(budgets, control)).all().get(30, TimeUnit.SECONDS);
        assertEquals("compact", cfg.get(budgets).get("cleanup.policy").value());
        assertEquals("delete", cfg.get(control).get("cleanup.policy").value());
      }
      Path pack = tmp.resolve("pack");
      TinyPack.write(pack, 7);
      try (Pipeline pipeline =
              Pipeline.start(
                  bootstrap,
                  topics.names(),
                  new Pipeline.Options(pack, 1.0, "avg:12", 0, 4, tmp.resolve("state")));
          OutputCollector out = new OutputCollector(bootstrap, topics)) {
        pipeline.awaitRunning(Duration.ofSeconds(120));
        Path clip =
            SyntheticVideo.write(
                tmp.resolve("clip.mp4"), SyntheticVideo.Spec.defaults(SECONDS).withSeed(3));
        PublishConfig pc =
            new PublishConfig(
                bootstrap,
                STREAM,
                clip.toString(),
                1.0,
                true, // real time: the budget arrives while the stream runs
                false,
                topics.names(),
                OptionalLong.empty());
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Future<Publisher.Result> published =
            pool.submit(
                () -> {
                  try (Publisher p = new Publisher(pc)) {
                    return p.run();
                  }
                });
        assertTrue(
            out.await(c -> c.tokens.size() >= 2, Duration.ofSeconds(120)),
            "first frames: " + out.tokens.size());

        Run budget =
            deco(
                "budget",
                "--bootstrap",
                bootstrap,
                "--topic-prefix",
                PREFIX,
                "--stream",
                STREAM,
                "avg:6",
                "--by",
                "BudgetLiveIT");
        assertEquals(0, budget.status(), budget.out());
        assertTrue(
            budget
                .out()
                .contains(
                    "budget for cam1: avg:6x6 (36 tokens per frame) sent to "
                        + topics.control().name()),
            budget.out());
        int sentAfter = out.tokens.size();

        // a budget the encoder refuses (its grid is larger than the tiny tower's 24x24 patches);
        // deco budget without --patch-grid checks only its form and sends it
        Run tooBig =
            deco(
                "budget",
                "--bootstrap",
                bootstrap,
                "--topic-prefix",
                PREFIX,
                "--stream",
                STREAM,
                "avg:48");
        assertEquals(0, tooBig.status(), tooBig.out());
        // a malformed control record from another client: not Avro
        Map<String, Object> props = new HashMap<>(KafkaLimits.producerOverrides());
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (KafkaProducer<byte[], byte[]> raw =
            new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
          raw.send(
                  new ProducerRecord<>(
                      topics.control().name(),
                      STREAM.getBytes(StandardCharsets.UTF_8),
                      "avg:12 please".getBytes(StandardCharsets.UTF_8)))
              .get();
        }

        assertEquals(SECONDS, published.get().videoSeconds(), 0.5);
        pool.shutdown();
        assertTrue(
            out.await(c -> c.tokens.size() >= SECONDS, Duration.ofSeconds(180)),
            "all frames encoded: " + out.tokens.size());
        assertTrue(
            out.await(c -> c.deadLetters.size() >= 2, Duration.ofSeconds(60)),
            "dead letters: " + out.deadLetters);

        List<FrameTokens> frames =
            out.tokens.stream()
                .filter(f -> f.getStreamId().equals(STREAM))
                .sorted(Comparator.comparingLong(FrameTokens::getFrameIndex))
                .toList();
        assertEquals(SECONDS, frames.size());
        StringBuilder grids = new StringBuilder();
        int firstNew = -1;
        for (FrameTokens f : frames) {
          int tokens = f.getGridHeight() * f.getGridWidth();
          grids.append(f.getFrameIndex()).append(':').append(tokens).append(' ');
          if (tokens == 36 && firstNew < 0) {
            firstNew = (int) f.getFrameIndex();
          }
        }
        assertTrue(firstNew >= sentAfter, "frames encoded before the budget keep 144: " + grids);
        assertTrue(firstNew > 0 && firstNew < SECONDS - 2, "later frames have 6x6: " + grids);
        for (FrameTokens f : frames) {
          int expected = f.getFrameIndex() < firstNew ? 144 : 36;
          assertEquals(
              expected,
              f.getGridHeight() * f.getGridWidth(),
              "one switch, and the refused budgets changed nothing: " + grids);
          assertEquals(List.of(expected, 64), f.getTokens().getShape());
        }

        List<DeadLetter> dls =
            out.deadLetters.stream()
                .filter(d -> d.getSourceTopic().equals(topics.control().name()))
                .toList();
        assertEquals(2, dls.size(), "dead letters: " + out.deadLetters);
        assertTrue(dls.stream().allMatch(d -> d.getStage().equals("encoder")), dls.toString());
        assertTrue(
            dls.stream()
                .anyMatch(
                    d -> d.getReason().contains("larger than the vision tower's 24x24 patch grid")),
            dls.toString());
        assertTrue(
            dls.stream().anyMatch(d -> d.getReason().contains("not a BudgetControl record")),
            dls.toString());

        // a question over the mixed window is answered, over every frame on the new grid
        Question q =
            Question.newBuilder()
                .setQuestionId("q-budget")
                .setStreamId(STREAM)
                .setText("what is moving?")
                .setAskedAtMillis(System.currentTimeMillis())
                .setMaxNewTokens(4)
                .build();
        Map<String, Object> qp = new HashMap<>(KafkaLimits.producerOverrides());
        qp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (KafkaProducer<String, Question> p =
            new KafkaProducer<>(
                qp,
                topics.questions().keySerde().serializer(),
                topics.questions().valueSerde().serializer())) {
          p.send(new ProducerRecord<>(topics.questions().name(), STREAM, q)).get();
        }
        assertTrue(
            out.await(
                c -> c.answers.stream().anyMatch(a -> a.getQuestionId().equals("q-budget")),
                Duration.ofSeconds(180)),
            "answers: " + out.answers);
        Answer a =
            out.answers.stream()
                .filter(x -> x.getQuestionId().equals("q-budget"))
                .findFirst()
                .orElseThrow();
        assertNull(a.getError(), a.getError());
        assertEquals(36, a.getTokensPerFrame());
        assertEquals(0, a.getFirstFrameIndex(), "the 144-token frames pooled to 6x6 too");
        assertEquals(SECONDS - 1, a.getLastFrameIndex());
        assertEquals(SECONDS, a.getFrameCount());
      }
    }
  }

  record Run(int status, String out) {}

  static Run deco(String... args) {
    PrintStream original = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int code;
    try (PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
      System.setOut(capture);
      code = Deco.run(args);
    } finally {
      System.setOut(original);
    }
    return new Run(code, buf.toString(StandardCharsets.UTF_8));
  }
}
