package io.decostream.schemas;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/** Creates the DeCo Stream topics with the {@link KafkaLimits} topic configs. */
public final class TopicAdmin {

  /** How long to wait for the broker to confirm topic creation. */
  public static final long TIMEOUT_SECONDS = 60;

  private TopicAdmin() {}

  /**
   * Creates every topic of {@code topics} that does not exist yet, with {@code partitions}
   * partitions, the given replication factor and {@link KafkaLimits#topicConfigs()}. Idempotent:
   * topics that already exist are left as they are.
   */
  public static void ensureTopics(Admin admin, Topics topics, int partitions, short replication) {
    List<String> names = new ArrayList<>();
    for (Topic<?> t : topics.all()) {
      names.add(t.name());
    }
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be >= 1, got " + partitions);
    }
    if (replication < 1) {
      throw new IllegalArgumentException("replication must be >= 1, got " + replication);
    }
    createMissing(
        admin, names, Optional.of(partitions), Optional.of(replication), compacted(topics));
  }

  /**
   * The topics that keep only each key's latest value: the budgets topic, which a restarted encoder
   * reads from the start to rebuild its global budget store (issue 21 point 4), so a budget must
   * outlive the retention time of ordinary topics.
   */
  public static Set<String> compacted(Topics topics) {
    return Set.of(topics.budgets().name());
  }

  /** As {@link #ensureTopics(Admin, Topics, int, short)} for arbitrary topic names. */
  public static void ensureTopics(
      Admin admin, List<String> names, int partitions, short replication) {
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be >= 1, got " + partitions);
    }
    if (replication < 1) {
      throw new IllegalArgumentException("replication must be >= 1, got " + replication);
    }
    createMissing(admin, names, Optional.of(partitions), Optional.of(replication));
  }

  /**
   * Creates those of {@code names} that do not exist yet and returns them (the others are left as
   * they are). An empty partitions or replication uses the broker's default ({@code
   * num.partitions}, {@code default.replication.factor}): what an external cluster is configured
   * for.
   */
  public static SortedSet<String> createMissing(
      Admin admin,
      Collection<String> names,
      Optional<Integer> partitions,
      Optional<Short> replication) {
    return createMissing(admin, names, partitions, replication, Set.of());
  }

  /**
   * As {@link #createMissing(Admin, Collection, Optional, Optional)}; those in {@code compacted}
   * get {@code cleanup.policy=compact} (see {@link #compacted(Topics)}).
   */
  public static SortedSet<String> createMissing(
      Admin admin,
      Collection<String> names,
      Optional<Integer> partitions,
      Optional<Short> replication,
      Set<String> compacted) {
    partitions.ifPresent(
        n -> {
          if (n < 1) {
            throw new IllegalArgumentException("partitions must be >= 1, got " + n);
          }
        });
    replication.ifPresent(
        r -> {
          if (r < 1) {
            throw new IllegalArgumentException("replication must be >= 1, got " + r);
          }
        });
    List<NewTopic> requests = new ArrayList<>();
    for (String name : names) {
      TopicNames.validate("topic", name);
      Map<String, String> configs = new HashMap<>(KafkaLimits.topicConfigs());
      if (compacted.contains(name)) {
        configs.put("cleanup.policy", "compact");
      }
      requests.add(new NewTopic(name, partitions, replication).configs(configs));
    }
    SortedSet<String> created = new TreeSet<>();
    CreateTopicsResult result = admin.createTopics(requests);
    for (Map.Entry<String, KafkaFuture<Void>> e : result.values().entrySet()) {
      try {
        e.getValue().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        created.add(e.getKey());
      } catch (ExecutionException ex) {
        if (!(ex.getCause() instanceof TopicExistsException)) {
          throw new KafkaException(
              "cannot create topic " + e.getKey() + ": " + ex.getCause(), ex.getCause());
        }
      } catch (TimeoutException ex) {
        throw new KafkaException(
            "timed out after " + TIMEOUT_SECONDS + " s creating topic " + e.getKey(), ex);
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new KafkaException("interrupted while creating topic " + e.getKey(), ex);
      }
    }
    return created;
  }

  /**
   * The partition count of each of {@code names} that exists (missing topics are left out).
   *
   * @throws KafkaException when the broker does not answer within {@code timeoutMillis} or refuses
   */
  public static SortedMap<String, Integer> partitions(
      Admin admin, Collection<String> names, long timeoutMillis) {
    SortedMap<String, Integer> found = new TreeMap<>();
    Map<String, KafkaFuture<TopicDescription>> described =
        admin.describeTopics(names).topicNameValues();
    for (Map.Entry<String, KafkaFuture<TopicDescription>> e : described.entrySet()) {
      try {
        found.put(
            e.getKey(), e.getValue().get(timeoutMillis, TimeUnit.MILLISECONDS).partitions().size());
      } catch (ExecutionException ex) {
        if (!(ex.getCause() instanceof UnknownTopicOrPartitionException)) {
          throw new KafkaException(
              "cannot describe topic " + e.getKey() + ": " + ex.getCause(), ex.getCause());
        }
      } catch (TimeoutException ex) {
        throw new KafkaException(
            "the broker did not describe topic " + e.getKey() + " within " + timeoutMillis + " ms",
            ex);
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new KafkaException("interrupted while describing topic " + e.getKey(), ex);
      }
    }
    return found;
  }

  /** Those of {@code names} that do not exist (see {@link #partitions}). */
  public static SortedSet<String> missing(
      Admin admin, Collection<String> names, long timeoutMillis) {
    SortedSet<String> missing = new TreeSet<>(names);
    missing.removeAll(partitions(admin, names, timeoutMillis).keySet());
    return missing;
  }
}
