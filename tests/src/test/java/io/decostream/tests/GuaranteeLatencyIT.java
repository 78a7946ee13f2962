package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.cli.Clients;
import io.decostream.cli.OutputCollector;
import io.decostream.cli.Pipeline;
import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.schemas.Answer;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Guarantee;
import io.decostream.schemas.Question;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The latency exactly-once costs (issue 18 point 1): the whole pipeline (frames, encoder, worker
 * with the tiny model pack) in this JVM, once per guarantee, a 12 s clip published in real time and
 * 6 questions asked one after another. Prints per guarantee the end-to-end frame latency (chunk
 * sent to its frame's tokens visible to a read_committed reader) and the answer latency (question
 * sent to answer visible), median and max. Under exactly-once each stage's output becomes visible
 * at its transaction commit (every 100 ms), so each of the three hops adds up to one commit
 * interval plus the commit itself.
 */
@Timeout(600)
class GuaranteeLatencyIT {
  static final int SECONDS = 12;
  static final int QUESTIONS = 6;

  @TempDir Path tmp;

  @Test
  void exactlyOnceCostsAFewHundredMillisecondsAtMost() throws Exception {
    Path pack = tmp.resolve("pack");
    TinyPack.write(pack, 7);
    Path clip =
        SyntheticVideo.write(tmp.resolve("clip.mp4"), SyntheticVideo.Spec.defaults(SECONDS));
    List<String> rows = new ArrayList<>();
    Map<Guarantee, double[]> medians = new java.util.EnumMap<>(Guarantee.class);
    // two rounds, alternating, so that neither guarantee alone pays the JIT warm-up; the second
    // round's medians are compared
    for (int round = 1; round <= 2; round++) {
      for (Guarantee g : List.of(Guarantee.AT_LEAST_ONCE, Guarantee.EXACTLY_ONCE_V2)) {
        double[] m = run(g, round, pack, clip, rows);
        medians.put(g, m);
      }
    }
    System.out.println(
        "| guarantee | frame latency median / max (ms) | answer latency median / max (ms) |");
    System.out.println("|---|---|---|");
    rows.forEach(System.out::println);
    // exactly-once delays visibility by about one commit interval per hop (3 hops); it must stay
    // well under a second
    double extraFrame =
        medians.get(Guarantee.EXACTLY_ONCE_V2)[0] - medians.get(Guarantee.AT_LEAST_ONCE)[0];
    assertTrue(extraFrame < 1000, "exactly-once adds " + extraFrame + " ms per frame");
  }

  private double[] run(Guarantee g, int round, Path pack, Path clip, List<String> rows)
      throws Exception {
    try (EmbeddedBroker broker = EmbeddedBroker.start()) {
      String bootstrap = broker.bootstrapServers();
      Topics topics = Topics.of(TopicNames.withPrefix("it-latency-" + g + round + "."));
      Clients.ensureTopics(bootstrap, topics);
      Map<Long, Long> sentAt = new ConcurrentHashMap<>();
      List<Double> frameMs = Collections.synchronizedList(new ArrayList<>());
      Map<String, Long> askedAt = new ConcurrentHashMap<>();
      List<Double> answerMs = Collections.synchronizedList(new ArrayList<>());
      try (Pipeline pipeline =
              Pipeline.start(
                  bootstrap,
                  topics.names(),
                  new Pipeline.Options(pack, 1.0, "avg:12", 0, 4, tmp.resolve("state-" + g + round))
                      .withGuarantee(g));
          OutputCollector out = new OutputCollector(bootstrap, topics)) {
        pipeline.awaitRunning(Duration.ofSeconds(120));
        out.onRecord(
            r -> {
              long now = System.nanoTime();
              if (r instanceof FrameTokens t) {
                Long sent = sentAt.get(t.getTimestampMicros() / 1_000_000);
                if (sent != null) {
                  frameMs.add((now - sent) / 1e6);
                }
              } else if (r instanceof Answer a) {
                Long asked = askedAt.get(a.getQuestionId());
                if (asked != null) {
                  answerMs.add((now - asked) / 1e6);
                }
              }
            });
        PublishConfig pc =
            new PublishConfig(
                bootstrap,
                "cam",
                clip.toString(),
                1.0,
                true,
                false,
                topics.names(),
                OptionalLong.empty());
        try (Publisher publisher = new Publisher(pc)) {
          publisher.run(p -> sentAt.put(p.lastSequence(), System.nanoTime()));
        }
        assertTrue(
            out.await(c -> c.tokens.size() >= SECONDS, Duration.ofSeconds(120)),
            "frames encoded: " + out.tokens.size());
        try (KafkaProducer<String, Question> p = Clients.producer(bootstrap, topics.questions())) {
          for (int i = 0; i < QUESTIONS; i++) {
            String id = g + "-" + round + "-q" + i;
            int before = answerMs.size();
            askedAt.put(id, System.nanoTime());
            p.send(
                new ProducerRecord<>(
                    topics.questions().name(),
                    "cam",
                    Question.newBuilder()
                        .setQuestionId(id)
                        .setStreamId("cam")
                        .setText("what is moving?")
                        .setAskedAtMillis(System.currentTimeMillis())
                        .setMaxNewTokens(4)
                        .build()));
            p.flush();
            assertTrue(
                out.await(c -> answerMs.size() > before, Duration.ofSeconds(60)),
                "answer to " + id);
          }
        }
        assertEquals(QUESTIONS, answerMs.size());
      }
      double[] f = stats(frameMs);
      double[] a = stats(answerMs);
      rows.add(
          String.format(
              "| %s, round %d | %.0f / %.0f (%d frames) | %.0f / %.0f (%d answers) |",
              g, round, f[0], f[1], frameMs.size(), a[0], a[1], answerMs.size()));
      return new double[] {f[0], a[0]};
    }
  }

  private static double[] stats(List<Double> ms) {
    List<Double> s = new ArrayList<>(ms);
    Collections.sort(s);
    return new double[] {s.get(s.size() / 2), s.get(s.size() - 1)};
  }
}
