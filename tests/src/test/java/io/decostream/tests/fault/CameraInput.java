package io.decostream.tests.fault;

import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Question;
import io.decostream.schemas.Topics;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The input of the process-level tests (FaultSuiteIT, ScaleOutIT): cameras publishing a looped
 * synthetic clip in real time (1 s chunks), and a question every 2 s to each stream in turn once
 * every stream has frame tokens, until {@link #stop()}. Questions asked before then would be
 * answered "no frames yet" and dead-lettered as an unknown stream, which these tests do not check.
 */
public final class CameraInput {
  /** Ids of the questions asked so far. */
  public final Set<String> asked = ConcurrentHashMap.newKeySet();

  private final String bootstrap;
  private final Topics topics;
  private final List<String> streams;
  private final Path dir;
  private final OutputWatch watch;
  private final SyntheticVideo.Spec clip;
  private final String questionPrefix;
  private final List<Publisher> publishers = new ArrayList<>();
  private final List<Future<Publisher.Result>> results = new ArrayList<>();
  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final AtomicBoolean asking = new AtomicBoolean(true);

  /**
   * @param clip each camera's clip (camera i gets seed i + 1), written into {@code dir}
   * @param questionPrefix question ids are this prefix and a counter
   */
  public CameraInput(
      String bootstrap,
      Topics topics,
      List<String> streams,
      Path dir,
      OutputWatch watch,
      SyntheticVideo.Spec clip,
      String questionPrefix) {
    this.bootstrap = bootstrap;
    this.topics = topics;
    this.streams = List.copyOf(streams);
    this.dir = dir;
    this.watch = watch;
    this.clip = clip;
    this.questionPrefix = questionPrefix;
  }

  public void start() throws Exception {
    for (int i = 0; i < streams.size(); i++) {
      Path file = SyntheticVideo.write(dir.resolve(streams.get(i) + ".mp4"), clip.withSeed(i + 1));
      Publisher p =
          new Publisher(
              new PublishConfig(
                  bootstrap,
                  streams.get(i),
                  file.toString(),
                  1.0,
                  true,
                  true,
                  topics.names(),
                  OptionalLong.empty()));
      publishers.add(p);
      results.add(pool.submit(() -> p.run()));
    }
    pool.submit(this::ask);
  }

  private boolean everyStreamHasTokens() {
    return streams.stream().allMatch(watch::hasTokens);
  }

  private Void ask() throws Exception {
    while (asking.get() && !everyStreamHasTokens()) {
      Thread.sleep(200);
    }
    Map<String, Object> pp = new HashMap<>(KafkaLimits.producerOverrides());
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    try (KafkaProducer<String, Question> p =
        new KafkaProducer<>(
            pp,
            topics.questions().keySerde().serializer(),
            topics.questions().valueSerde().serializer())) {
      for (int n = 0; asking.get(); n++) {
        String stream = streams.get(n % streams.size());
        Question q =
            Question.newBuilder()
                .setQuestionId(questionPrefix + n)
                .setStreamId(stream)
                .setText("what is moving?")
                .setAskedAtMillis(System.currentTimeMillis())
                .setMaxNewTokens(4)
                .build();
        p.send(new ProducerRecord<>(topics.questions().name(), stream, q)).get();
        asked.add(q.getQuestionId());
        Thread.sleep(2000);
      }
    }
    return null;
  }

  /** Stops publishing and asking; returns the frames each stream should have (1 fps). */
  public Map<String, Integer> stop() throws Exception {
    asking.set(false);
    publishers.forEach(Publisher::stop);
    Map<String, Integer> expected = new LinkedHashMap<>();
    for (int i = 0; i < streams.size(); i++) {
      Publisher.Result r = results.get(i).get(60, TimeUnit.SECONDS);
      expected.put(streams.get(i), (int) Math.round(r.videoSeconds()));
      publishers.get(i).close();
    }
    pool.shutdown();
    pool.awaitTermination(30, TimeUnit.SECONDS);
    return expected;
  }
}
