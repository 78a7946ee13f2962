package io.decostream.cli;

import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Topic;
import io.decostream.schemas.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads the pipeline's output topics (frame tokens, answers, captions, grounding, dead letters)
 * from the beginning in a background thread, keeps what it saw, and calls listeners as records
 * arrive. Used by the demo to print and summarise, and by the end-to-end tests to assert.
 */
public final class OutputCollector implements AutoCloseable {
  public final List<FrameTokens> tokens = new CopyOnWriteArrayList<>();
  public final List<Answer> answers = new CopyOnWriteArrayList<>();
  public final List<Caption> captions = new CopyOnWriteArrayList<>();
  public final List<DeadLetter> deadLetters = new CopyOnWriteArrayList<>();
  public final List<io.decostream.schemas.Grounding> groundings = new CopyOnWriteArrayList<>();

  private final List<Consumer<Object>> listeners = new CopyOnWriteArrayList<>();
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Throwable failure;

  public OutputCollector(String bootstrap, Topics topics) {
    this(bootstrap, new java.util.Properties(), topics);
  }

  /**
   * Reads with the given Kafka client properties (security settings). Its consumers read only
   * committed records ({@link Clients#consumer}): what the exactly-once stages committed.
   */
  public OutputCollector(String bootstrap, java.util.Properties client, Topics topics) {
    thread = new Thread(() -> loop(bootstrap, client, topics), "deco-output-collector");
    thread.setDaemon(true);
    thread.start();
  }

  /** Called (on the collector thread) with every FrameTokens, Answer, Caption and DeadLetter. */
  public OutputCollector onRecord(Consumer<Object> listener) {
    listeners.add(listener);
    return this;
  }

  private void loop(String bootstrap, java.util.Properties client, Topics topics) {
    try (KafkaConsumer<String, FrameTokens> t = fromStart(bootstrap, client, topics.tokens());
        KafkaConsumer<String, Answer> a = fromStart(bootstrap, client, topics.answers());
        KafkaConsumer<String, Caption> c = fromStart(bootstrap, client, topics.captions());
        KafkaConsumer<String, DeadLetter> d = fromStart(bootstrap, client, topics.deadLetters());
        KafkaConsumer<String, io.decostream.schemas.Grounding> g =
            fromStart(bootstrap, client, topics.grounding())) {
      while (running) {
        drain(t, tokens);
        drain(a, answers);
        drain(c, captions);
        drain(d, deadLetters);
        drain(g, groundings);
      }
    } catch (Throwable e) {
      failure = e;
    }
  }

  private <V> void drain(KafkaConsumer<String, V> consumer, List<V> sink) {
    for (ConsumerRecord<String, V> r : consumer.poll(Duration.ofMillis(50))) {
      if (r.value() != null) {
        sink.add(r.value());
        listeners.forEach(l -> l.accept(r.value()));
      }
    }
  }

  private static <V> KafkaConsumer<String, V> fromStart(
      String bootstrap, java.util.Properties client, Topic<V> topic) {
    KafkaConsumer<String, V> consumer = Clients.consumer(bootstrap, client, topic);
    List<TopicPartition> parts = new ArrayList<>();
    consumer
        .partitionsFor(topic.name())
        .forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    return consumer;
  }

  /**
   * Waits until {@code condition} holds; false on time-out. Rethrows a failure of the collector
   * thread.
   */
  public boolean await(Predicate<OutputCollector> condition, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (failure != null) {
        throw new IllegalStateException("output collector failed: " + failure, failure);
      }
      if (condition.test(this)) {
        return true;
      }
      Thread.sleep(100);
    }
    return condition.test(this);
  }

  /**
   * Waits until no new frame tokens arrived for {@code quiet}, or {@code timeout}. Returns the
   * count.
   */
  public int awaitTokensSettled(Duration quiet, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int last = -1;
    long lastChange = System.nanoTime();
    while (System.nanoTime() < deadline) {
      int n = tokens.size();
      if (n != last) {
        last = n;
        lastChange = System.nanoTime();
      } else if (n > 0 && System.nanoTime() - lastChange > quiet.toNanos()) {
        break;
      }
      Thread.sleep(100);
    }
    return tokens.size();
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    thread.join(10_000);
  }
}
