package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.frames.FramesApp;
import io.decostream.frames.FramesConfig;
import io.decostream.frames.FramesTopology;
import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.Frame;
import io.decostream.schemas.InstanceId;
import io.decostream.schemas.StreamsProperties;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The frames stage under {@link StageRunner} against a real broker (issue 18 points 2 and 3): it
 * waits for its topics instead of creating them, runs once they exist, stops within 5 s, and comes
 * back by itself after its broker was replaced by a fresh one whose topics were created again.
 */
@Timeout(240)
class StageRunnerIT {
  @TempDir Path tmp;

  private final ByteArrayOutputStream log = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final List<EmbeddedBroker> brokers = new ArrayList<>();

  @AfterEach
  void cleanUp() {
    pool.shutdownNow();
    brokers.forEach(EmbeddedBroker::close);
  }

  private EmbeddedBroker broker(int port) {
    EmbeddedBroker b = EmbeddedBroker.start(EmbeddedBroker.Config.defaults().withPort(port));
    brokers.add(b);
    return b;
  }

  private StageRunner frames(String bootstrap, Topics topics, Path state) {
    FramesConfig config =
        FramesConfig.defaults().withTopicNames(topics.names()).withStateDir(state);
    Properties extra = StreamsProperties.staticMember(InstanceId.persisted(state, "it-frames"));
    StageRunner r =
        new StageRunner(
            "frames",
            () -> FramesTopology.build(config),
            FramesApp.properties(config, bootstrap, extra),
            () -> Clients.admin(bootstrap, new Properties()),
            topics,
            "deco topics create --bootstrap " + bootstrap,
            out);
    r.retry = Duration.ofMillis(500);
    return r;
  }

  @Test
  void waitsForItsTopicsRunsWhenTheyExistAndStopsWithinFiveSeconds() throws Exception {
    EmbeddedBroker broker = broker(0);
    String bootstrap = broker.bootstrapServers();
    Topics topics = Topics.of(TopicNames.withPrefix("it-runner-wait."));
    StageRunner runner = frames(bootstrap, topics, tmp.resolve("state"));
    Future<Integer> status = pool.submit(runner::run);

    await(() -> logged("frames: waiting for topic(s)"), 30, "a waiting line");
    String line = logged();
    assertTrue(line.contains(topics.chunks().name()), line);
    assertTrue(line.contains("deco topics create --bootstrap " + bootstrap), line);
    Thread.sleep(1500);
    assertEquals(0, runner.starts(), "Streams must not start before its topics exist");
    try (Admin admin = Clients.admin(bootstrap, new Properties())) {
      assertEquals(
          topics.all().size(),
          TopicAdmin.missing(admin, names(topics), 10_000).size(),
          "the stage must not create its topics");
    }

    assertEquals(
        0,
        Deco.run(
            "topics", "create", "--bootstrap", bootstrap, "--topic-prefix", "it-runner-wait."));
    await(() -> logged("frames: running"), 60, "the stage running");
    publish(bootstrap, topics, "cam", 2);
    assertTrue(frameCount(bootstrap, topics, 2, 60) >= 2, "frames sampled from the chunks");

    long t0 = System.nanoTime();
    assertTrue(runner.stop(), "Streams closed in time");
    assertEquals(0, status.get(10, TimeUnit.SECONDS));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < 5000, "stop took " + ms + " ms");
    assertTrue(logged("frames: stopped in "), logged());
  }

  @Test
  void startsAgainAfterItsBrokerWasReplacedByAFreshOne() throws Exception {
    int port = freePort();
    EmbeddedBroker first = broker(port);
    String bootstrap = first.bootstrapServers();
    Topics topics = Topics.of(TopicNames.withPrefix("it-runner-lost."));
    TopicsCommand.create(
        bootstrap, new Properties(), topics, Optional.of(2), Optional.of((short) 1), out);
    StageRunner runner = frames(bootstrap, topics, tmp.resolve("state"));
    Future<Integer> status = pool.submit(runner::run);
    await(() -> logged("frames: running"), 60, "the stage running");
    publish(bootstrap, topics, "cam", 2);
    assertTrue(frameCount(bootstrap, topics, 2, 60) >= 2);

    // the broker is lost; a fresh one (no data, no topics) comes up on the same port
    first.close();
    broker(port);
    await(() -> logged("frames: stopped because"), 120, "the loss noticed");
    await(
        () -> logged("frames: waiting for topic(s)"), 30, "the stage waiting for its topics again");
    assertTrue(!status.isDone(), "the stage must keep waiting, not exit");
    TopicsCommand.create(
        bootstrap, new Properties(), topics, Optional.of(2), Optional.of((short) 1), out);
    await(() -> runner.starts() == 2 && count("frames: running") == 2, 90, "a fresh start");
    publish(bootstrap, topics, "cam", 2);
    assertTrue(frameCount(bootstrap, topics, 2, 90) >= 2, "frames after the restart");
    try (Admin admin = Clients.admin(bootstrap, new Properties())) {
      assertEquals(
          2,
          TopicAdmin.partitions(admin, List.of(topics.frames().name()), 10_000)
              .get(topics.frames().name()),
          "nothing recreated the topics with another partition count");
    }

    // as `deco broker` does: a fresh broker that creates the topics as soon as it is up
    brokers.remove(brokers.size() - 1).close();
    broker(port);
    TopicsCommand.create(
        bootstrap, new Properties(), topics, Optional.of(2), Optional.of((short) 1), out);
    publish(bootstrap, topics, "cam", 2);
    assertTrue(
        frameCount(bootstrap, topics, 2, 120) >= 2,
        "frames from a fresh broker that had its topics at once; log:\n" + logged());
    assertTrue(!status.isDone(), "the stage must not exit: " + logged());
    assertTrue(runner.stop());
    assertEquals(0, status.get(10, TimeUnit.SECONDS));
  }

  private static List<String> names(Topics topics) {
    List<String> n = new ArrayList<>();
    topics.all().forEach(t -> n.add(t.name()));
    return n;
  }

  private void publish(String bootstrap, Topics topics, String stream, double seconds)
      throws Exception {
    Path clip =
        SyntheticVideo.write(
            tmp.resolve("clip-" + System.nanoTime() + ".mp4"),
            SyntheticVideo.Spec.defaults(seconds));
    PublishConfig pc =
        new PublishConfig(
            bootstrap,
            stream,
            clip.toString(),
            1.0,
            false,
            false,
            topics.names(),
            OptionalLong.empty());
    try (Publisher p = new Publisher(pc)) {
      p.run();
    }
  }

  /** Frames on the frames topic (read_committed, from the start), waiting up to the timeout. */
  static int frameCount(String bootstrap, Topics topics, int atLeast, int seconds) {
    int n = 0;
    try (KafkaConsumer<String, Frame> c =
        Clients.consumer(bootstrap, new Properties(), topics.frames())) {
      List<TopicPartition> parts = new ArrayList<>();
      c.partitionsFor(topics.frames().name())
          .forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.nanoTime() + seconds * 1_000_000_000L;
      while (n < atLeast && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, Frame> r : c.poll(Duration.ofMillis(200))) {
          n++;
        }
      }
    }
    return n;
  }

  private String logged() {
    return log.toString(StandardCharsets.UTF_8);
  }

  private boolean logged(String s) {
    return logged().contains(s);
  }

  private int count(String s) {
    return logged().split(java.util.regex.Pattern.quote(s), -1).length - 1;
  }

  private void await(BooleanSupplier condition, int seconds, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + what + " within " + seconds + " s; log:\n" + logged());
      }
      Thread.sleep(100);
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName(EmbeddedBroker.HOST), 0));
      return s.getLocalPort();
    }
  }
}
