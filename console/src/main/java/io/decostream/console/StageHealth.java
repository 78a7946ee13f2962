package io.decostream.console;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

/**
 * The stages' health for the console (issue 21 point 1): each stage's consumer group state and lag,
 * read with the admin API the way {@code deco status} reads them (committed offsets against
 * read_committed end offsets), refreshed at most every 2 s however many pages ask.
 */
final class StageHealth implements AutoCloseable {
  /** The stages' Kafka Streams application ids (their consumer groups). */
  static final Map<String, String> STAGES =
      Map.of("frames", "deco-frames", "encoder", "deco-encoder", "llm-worker", "deco-llm-worker");

  private static final long REFRESH_MILLIS = 2_000;
  private final Admin admin;
  private List<Map<String, Object>> last = List.of();
  private long lastAt;

  StageHealth(String bootstrap, Map<String, String> clientProperties) {
    Map<String, Object> p = new HashMap<>(clientProperties);
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
    p.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    this.admin = Admin.create(p);
  }

  /** One row per stage: stage, group, state, members, lag (-1 when unknown), error. */
  synchronized List<Map<String, Object>> stages() {
    if (System.currentTimeMillis() - lastAt < REFRESH_MILLIS) {
      return last;
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String stage : List.of("frames", "encoder", "llm-worker")) {
      rows.add(row(stage, STAGES.get(stage)));
    }
    last = rows;
    lastAt = System.currentTimeMillis();
    return rows;
  }

  private Map<String, Object> row(String stage, String group) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stage", stage);
    m.put("group", group);
    try {
      ConsumerGroupDescription d =
          admin.describeConsumerGroups(List.of(group)).all().get(5, TimeUnit.SECONDS).get(group);
      m.put("state", d.groupState().toString());
      m.put("members", d.members().size());
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin
              .listConsumerGroupOffsets(group)
              .partitionsToOffsetAndMetadata()
              .get(5, TimeUnit.SECONDS);
      m.put("lag", lag(committed));
    } catch (Exception e) {
      m.put("state", "unknown");
      m.put("members", 0);
      m.put("lag", -1L);
      m.put("error", String.valueOf(e.getMessage()));
    }
    return m;
  }

  /** Records the group has not consumed yet, over the partitions it committed for. */
  private long lag(Map<TopicPartition, OffsetAndMetadata> committed) throws Exception {
    Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
    committed.forEach((tp, o) -> ask.put(tp, OffsetSpec.latest()));
    if (ask.isEmpty()) {
      return 0;
    }
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
        admin
            .listOffsets(ask, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
            .all()
            .get(5, TimeUnit.SECONDS);
    long lag = 0;
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : committed.entrySet()) {
      if (e.getValue() != null && ends.containsKey(e.getKey())) {
        lag += Math.max(0, ends.get(e.getKey()).offset() - e.getValue().offset());
      }
    }
    return lag;
  }

  @Override
  public void close() {
    admin.close(java.time.Duration.ofSeconds(2));
  }
}
