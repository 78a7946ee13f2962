package io.decostream.console;

import io.decostream.schemas.Answer;
import io.decostream.schemas.AvroSerde;
import io.decostream.schemas.Caption;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.TopicNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the pipeline's output topics for the console in one background thread: from the end, plus a
 * short history (the last {@code history} records of each partition), with a read_committed
 * consumer so records of aborted transactions (the stages run exactly-once) never show. Topics that
 * do not exist yet are looked for again every few seconds, so the console may start before the
 * pipeline. A record that cannot be decoded is skipped with a log line: the console only watches
 * (the stage that wrote it owns its dead letters).
 */
final class TopicTail implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TopicTail.class);
  private static final long RESCAN_MILLIS = 3_000;

  private final KafkaConsumer<String, byte[]> consumer;
  private final Map<String, Function<byte[], ConsoleState.Event>> handlers = new LinkedHashMap<>();
  private final Map<String, Integer> history = new HashMap<>();
  private final Set<TopicPartition> assigned = new HashSet<>();
  private final Consumer<ConsoleState.Event> sink;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile boolean caughtUp;
  private volatile Throwable failure;

  TopicTail(
      String bootstrap,
      TopicNames names,
      Map<String, String> clientProperties,
      int historyPerPartition,
      ConsoleState state,
      Consumer<ConsoleState.Event> sink) {
    this.sink = sink;
    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    c.putAll(clientProperties);
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    // looking for a topic must never create it (with the broker's defaults, not the pipeline's)
    c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    c.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "deco-console");
    c.remove(
        ConsumerConfig.GROUP_ID_CONFIG); // assigned partitions, no group: many consoles may run
    consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());

    add(names.frames(), Frame.class, state::onFrame, historyPerPartition);
    add(names.tokens(), FrameTokens.class, state::onTokens, historyPerPartition);
    add(names.captions(), Caption.class, state::onCaption, historyPerPartition);
    add(names.answers(), Answer.class, state::onAnswer, historyPerPartition);
    add(names.grounding(), Grounding.class, state::onGrounding, historyPerPartition);
    add(names.deadLetters(), DeadLetter.class, state::onDeadLetter, historyPerPartition);

    thread = new Thread(this::loop, "deco-console-topics");
    thread.setDaemon(true);
    thread.start();
  }

  private <V extends org.apache.avro.specific.SpecificRecord> void add(
      String topic, Class<V> type, Function<V, ConsoleState.Event> apply, int historyRecords) {
    AvroSerde<V> serde = AvroSerde.of(type);
    handlers.put(topic, bytes -> apply.apply(serde.deserialize(topic, bytes)));
    history.put(topic, historyRecords);
  }

  /** True once the history of every topic found so far was read (tests wait for it). */
  boolean caughtUp() {
    return caughtUp;
  }

  /** The failure that stopped the reader, or null. */
  Throwable failure() {
    return failure;
  }

  private void loop() {
    long lastScan = 0;
    Map<TopicPartition, Long> historyEnd = new HashMap<>();
    try {
      while (running) {
        long now = System.currentTimeMillis();
        if (now - lastScan > RESCAN_MILLIS) {
          historyEnd.putAll(assignNewPartitions());
          lastScan = now;
        }
        if (assigned.isEmpty()) {
          caughtUp = false;
          Thread.sleep(200);
          continue;
        }
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          handle(r);
        }
        historyEnd.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
        caughtUp = historyEnd.isEmpty() && assigned.size() > 0;
      }
    } catch (WakeupException | InterruptedException e) {
      // closing
    } catch (Throwable e) {
      failure = e;
      LOG.error("the console's topic reader stopped: {}", e.toString(), e);
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  private void handle(ConsumerRecord<String, byte[]> r) {
    if (r.value() == null) {
      return;
    }
    Function<byte[], ConsoleState.Event> h = handlers.get(r.topic());
    try {
      ConsoleState.Event e = h.apply(r.value());
      if (e != null) {
        sink.accept(e);
      }
    } catch (RuntimeException e) {
      LOG.warn("console skips {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
    }
  }

  /**
   * Assigns the partitions that appeared since the last look, each placed {@code history} records
   * before its end; the end offsets of those histories.
   */
  private Map<TopicPartition, Long> assignNewPartitions() {
    List<TopicPartition> fresh = new ArrayList<>();
    for (String topic : handlers.keySet()) {
      List<PartitionInfo> parts;
      try {
        parts = consumer.partitionsFor(topic, Duration.ofSeconds(2));
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        continue; // not there yet
      }
      if (parts == null) {
        continue;
      }
      for (PartitionInfo p : parts) {
        TopicPartition tp = new TopicPartition(p.topic(), p.partition());
        if (!assigned.contains(tp)) {
          fresh.add(tp);
        }
      }
    }
    if (fresh.isEmpty()) {
      return Map.of();
    }
    assigned.addAll(fresh);
    consumer.assign(new ArrayList<>(assigned));
    // read_committed: the end offsets are the last stable offsets
    Map<TopicPartition, Long> begin = consumer.beginningOffsets(fresh);
    Map<TopicPartition, Long> end = consumer.endOffsets(fresh);
    Map<TopicPartition, Long> out = new HashMap<>();
    for (TopicPartition tp : fresh) {
      long e = end.getOrDefault(tp, 0L);
      long start = Math.max(begin.getOrDefault(tp, 0L), e - history.get(tp.topic()));
      consumer.seek(tp, start);
      if (e > start) {
        out.put(tp, e);
      }
    }
    return out;
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    consumer.wakeup();
    thread.join(10_000);
  }
}
