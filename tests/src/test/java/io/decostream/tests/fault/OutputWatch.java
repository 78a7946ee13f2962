package io.decostream.tests.fault;

import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The fault suite's checker input: every output topic read from the beginning with {@code
 * isolation.level=read_committed} (what a downstream consumer of an exactly-once pipeline sees), in
 * a background thread that survives broker restarts. Keeps each record and, per topic, the wall
 * time of the last arrival (how recovery after a kill is timed).
 */
public final class OutputWatch implements AutoCloseable {
  public final List<Frame> frames = new CopyOnWriteArrayList<>();
  public final List<FrameTokens> tokens = new CopyOnWriteArrayList<>();
  public final List<Answer> answers = new CopyOnWriteArrayList<>();
  public final List<Caption> captions = new CopyOnWriteArrayList<>();
  public final List<DeadLetter> deadLetters = new CopyOnWriteArrayList<>();
  private final Map<String, Long> lastArrival = new ConcurrentHashMap<>();
  private final Topics topics;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Throwable failure;

  public OutputWatch(String bootstrap, Topics topics) {
    this.topics = topics;
    thread = new Thread(() -> loop(bootstrap), "fault-output-watch");
    thread.setDaemon(true);
    thread.start();
  }

  /** Wall-clock millis of the newest committed record on {@code topic} (0 = none yet). */
  public long lastArrival(String topic) {
    return lastArrival.getOrDefault(topic, 0L);
  }

  /**
   * Waits until a committed record arrives on any of {@code topics} after {@code since}; returns
   * its arrival time, -1 on timeout.
   */
  public long awaitArrivalAfter(List<String> topics, long since, Duration timeout)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeout.toMillis();
    while (System.currentTimeMillis() < deadline) {
      for (String topic : topics) {
        long t = lastArrival(topic);
        if (t > since) {
          return t;
        }
      }
      checkAlive();
      Thread.sleep(50);
    }
    return -1;
  }

  public void checkAlive() {
    if (failure != null) {
      throw new IllegalStateException("output watch failed: " + failure, failure);
    }
  }

  private void loop(String bootstrap) {
    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      // assigned, not subscribed: a group member re-reads from the start when its coordinator
      // (the killed broker) comes back and reassigns without a committed offset, which would look
      // like duplicates; an assigned consumer keeps its position across the broker's restart
      List<TopicPartition> parts = new ArrayList<>();
      for (String t :
          List.of(
              topics.frames().name(),
              topics.tokens().name(),
              topics.answers().name(),
              topics.captions().name(),
              topics.deadLetters().name())) {
        // a topic just created may not be in the metadata yet: its partitions list is empty then
        long deadline = System.currentTimeMillis() + 60_000;
        List<org.apache.kafka.common.PartitionInfo> infos = consumer.partitionsFor(t);
        while ((infos == null || infos.isEmpty()) && System.currentTimeMillis() < deadline) {
          Thread.sleep(200);
          infos = consumer.partitionsFor(t);
        }
        if (infos == null || infos.isEmpty()) {
          throw new IllegalStateException("topic " + t + " has no partitions after 60 s");
        }
        infos.forEach(pi -> parts.add(new TopicPartition(t, pi.partition())));
      }
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      while (running) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          keep(r);
          lastArrival.put(r.topic(), System.currentTimeMillis());
        }
      }
    } catch (Throwable t) {
      if (running) {
        failure = t;
      }
    }
  }

  private void keep(ConsumerRecord<byte[], byte[]> r) {
    String t = r.topic();
    if (t.equals(topics.frames().name())) {
      frames.add(topics.frames().valueSerde().deserializer().deserialize(t, r.value()));
    } else if (t.equals(topics.tokens().name())) {
      tokens.add(topics.tokens().valueSerde().deserializer().deserialize(t, r.value()));
    } else if (t.equals(topics.answers().name())) {
      answers.add(topics.answers().valueSerde().deserializer().deserialize(t, r.value()));
    } else if (t.equals(topics.captions().name())) {
      captions.add(topics.captions().valueSerde().deserializer().deserialize(t, r.value()));
    } else if (t.equals(topics.deadLetters().name())) {
      deadLetters.add(topics.deadLetters().valueSerde().deserializer().deserialize(t, r.value()));
    }
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    thread.join(10_000);
  }

  /** Whether frame tokens of {@code stream} have come. */
  public boolean hasTokens(String stream) {
    return tokens.stream().anyMatch(t -> t.getStreamId().equals(stream));
  }
}
