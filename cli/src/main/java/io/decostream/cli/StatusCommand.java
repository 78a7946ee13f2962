package io.decostream.cli;

import io.decostream.encoder.EncoderConfig;
import io.decostream.frames.FramesConfig;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.TopicNames;
import io.decostream.worker.WorkerConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "Print the streams and stages as a table: per stream frames/s over the last minute (from the",
      "frame-tokens topic, committed records only) and the last answer's age; per stage its",
      "application id, consumer group state, members and total lag (committed offsets against",
      "the end of each input partition)."
    })
final class StatusCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;

  @Option(
      names = "--window",
      defaultValue = "60",
      paramLabel = "SECONDS",
      description = "Seconds over which frames/s is counted (default ${DEFAULT-VALUE}).")
  int windowSeconds;

  /** Records read back from each partition at least, to find a stream's last frame or answer. */
  static final int TAIL = 200;

  /** One stream: frames in the window, its rate, and the ages of its last frame and answer. */
  record StreamRow(
      String stream, long frames, double framesPerSecond, Long frameAgeMs, Long answerAgeMs) {}

  /** One stage: its group's state, members and total lag (null: no committed offsets yet). */
  record StageRow(String stage, String applicationId, String state, int members, Long lag) {}

  @Override
  public Integer call() throws Exception {
    if (windowSeconds < 1) {
      throw new IllegalArgumentException(
          "--window must be at least 1 second, not " + windowSeconds);
    }
    TopicNames names = kafka.topicNames();
    Properties client = kafka.clientProperties();
    long now = System.currentTimeMillis();
    long since = now - TimeUnit.SECONDS.toMillis(windowSeconds);
    Map<String, long[]> frames;
    Map<String, long[]> answers;
    try (KafkaConsumer<String, byte[]> c = consumer(kafka.bootstrap, client)) {
      frames = tail(c, names.tokens(), since);
      answers = tail(c, names.answers(), since);
    }
    List<StreamRow> streams = new ArrayList<>();
    TreeSet<String> ids = new TreeSet<>(frames.keySet());
    ids.addAll(answers.keySet());
    for (String id : ids) {
      long[] f = frames.get(id);
      long[] a = answers.get(id);
      long n = f == null ? 0 : f[0];
      streams.add(
          new StreamRow(
              id,
              n,
              n / (double) windowSeconds,
              f == null ? null : Math.max(0, now - f[1]),
              a == null ? null : Math.max(0, now - a[1])));
    }
    List<StageRow> stages = new ArrayList<>();
    try (Admin admin = Clients.admin(kafka.bootstrap, client)) {
      stages.add(stage(admin, "frames", FramesConfig.defaults().applicationId()));
      stages.add(stage(admin, "encoder", EncoderConfig.defaults().applicationId()));
      stages.add(stage(admin, "llm-worker", WorkerConfig.defaults().applicationId()));
    }
    System.out.print(format(streams, stages, windowSeconds));
    return 0;
  }

  private static KafkaConsumer<String, byte[]> consumer(String bootstrap, Properties client) {
    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    // no group: partitions are assigned by hand and nothing is committed
    c.remove(ConsumerConfig.GROUP_ID_CONFIG);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    // the stages write in transactions: an aborted attempt is not a frame
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    return new KafkaConsumer<>(
        Clients.with(c, client, ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
        new StringDeserializer(),
        new ByteArrayDeserializer());
  }

  /**
   * Per record key (stream id): {records at or after {@code since}, latest timestamp}, reading each
   * partition from {@code since} or its last {@link #TAIL} records, whichever is earlier.
   */
  static Map<String, long[]> tail(KafkaConsumer<String, byte[]> c, String topic, long since) {
    List<TopicPartition> parts = new ArrayList<>();
    c.partitionsFor(topic, Duration.ofSeconds(10))
        .forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
    Map<String, long[]> out = new TreeMap<>();
    if (parts.isEmpty()) {
      return out;
    }
    c.assign(parts);
    Map<TopicPartition, Long> begin = c.beginningOffsets(parts, Duration.ofSeconds(10));
    Map<TopicPartition, Long> end = c.endOffsets(parts, Duration.ofSeconds(10));
    Map<TopicPartition, Long> query = new HashMap<>();
    parts.forEach(tp -> query.put(tp, since));
    Map<TopicPartition, OffsetAndTimestamp> byTime =
        c.offsetsForTimes(query, Duration.ofSeconds(10));
    for (TopicPartition tp : parts) {
      OffsetAndTimestamp t = byTime.get(tp);
      long fromTime = t == null ? end.get(tp) : t.offset();
      long fromTail = Math.max(begin.get(tp), end.get(tp) - TAIL);
      c.seek(tp, Math.min(fromTime, fromTail));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline
        && parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
      for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
        if (r.offset() >= end.get(new TopicPartition(r.topic(), r.partition()))) {
          continue;
        }
        long[] s = out.computeIfAbsent(r.key() == null ? "" : r.key(), k -> new long[] {0, 0});
        if (r.timestamp() >= since) {
          s[0]++;
        }
        s[1] = Math.max(s[1], r.timestamp());
      }
    }
    return out;
  }

  /** A stage's row: its group's description and lag; "absent" when the group does not exist. */
  static StageRow stage(Admin admin, String stage, String group) throws InterruptedException {
    String state;
    int members = 0;
    try {
      ConsumerGroupDescription d =
          admin
              .describeConsumerGroups(List.of(group))
              .describedGroups()
              .get(group)
              .get(10, TimeUnit.SECONDS);
      if (d.groupState() == GroupState.DEAD) {
        // what the broker says of a group that never existed (or expired)
        return new StageRow(stage, group, "absent", 0, null);
      }
      state = d.groupState().toString();
      members = d.members().size();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof GroupIdNotFoundException) {
        return new StageRow(stage, group, "absent", 0, null);
      }
      state = "unknown (" + e.getCause().getClass().getSimpleName() + ")";
    } catch (java.util.concurrent.TimeoutException e) {
      state = "unknown (timeout)";
    }
    Long lag = null;
    try {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin
              .listConsumerGroupOffsets(group)
              .partitionsToOffsetAndMetadata()
              .get(10, TimeUnit.SECONDS);
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      committed.forEach(
          (tp, om) -> {
            if (om != null) {
              latest.put(tp, OffsetSpec.latest());
            }
          });
      if (!latest.isEmpty()) {
        var ends =
            admin
                .listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                .all()
                .get(10, TimeUnit.SECONDS);
        long total = 0;
        for (var e : ends.entrySet()) {
          total += Math.max(0, e.getValue().offset() - committed.get(e.getKey()).offset());
        }
        lag = total;
      }
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      // no offsets readable: the lag column says "-"
    }
    return new StageRow(stage, group, state, members, lag);
  }

  /** The two tables, aligned in columns. */
  static String format(List<StreamRow> streams, List<StageRow> stages, int windowSeconds) {
    List<String[]> s = new ArrayList<>();
    s.add(
        new String[] {
          "STREAM", "FRAMES/S (" + windowSeconds + "s)", "FRAMES", "LAST FRAME", "LAST ANSWER"
        });
    for (StreamRow r : streams) {
      s.add(
          new String[] {
            r.stream(),
            String.format(Locale.ROOT, "%.2f", r.framesPerSecond()),
            Long.toString(r.frames()),
            age(r.frameAgeMs()),
            age(r.answerAgeMs())
          });
    }
    List<String[]> g = new ArrayList<>();
    g.add(new String[] {"STAGE", "APPLICATION ID", "STATE", "MEMBERS", "LAG"});
    for (StageRow r : stages) {
      g.add(
          new String[] {
            r.stage(),
            r.applicationId(),
            r.state(),
            Integer.toString(r.members()),
            r.lag() == null ? "-" : Long.toString(r.lag())
          });
    }
    StringBuilder out = new StringBuilder();
    table(out, s);
    if (streams.isEmpty()) {
      out.append("(no frames or answers on the topics yet)\n");
    }
    out.append('\n');
    table(out, g);
    return out.toString();
  }

  /** "never", "850 ms ago", "12.3 s ago", "4 min ago", "2.0 h ago". */
  static String age(Long ms) {
    if (ms == null) {
      return "never";
    }
    if (ms < 1000) {
      return ms + " ms ago";
    }
    if (ms < 60_000) {
      return String.format(Locale.ROOT, "%.1f s ago", ms / 1000.0);
    }
    if (ms < 3_600_000) {
      return (ms / 60_000) + " min ago";
    }
    return String.format(Locale.ROOT, "%.1f h ago", ms / 3_600_000.0);
  }

  private static void table(StringBuilder out, List<String[]> rows) {
    int[] width = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        width[i] = Math.max(width[i], r[i].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        line.append(r[i]);
        if (i < r.length - 1) {
          line.append(" ".repeat(width[i] - r[i].length() + 2));
        }
      }
      out.append(line.toString().stripTrailing()).append('\n');
    }
  }
}
