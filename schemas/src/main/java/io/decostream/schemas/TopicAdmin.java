package io.decostream.schemas;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TopicExistsException;

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
    ensureTopics(admin, names, partitions, replication);
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
    List<NewTopic> requests = new ArrayList<>();
    for (String name : names) {
      TopicNames.validate("topic", name);
      requests.add(new NewTopic(name, partitions, replication).configs(KafkaLimits.topicConfigs()));
    }
    CreateTopicsResult result = admin.createTopics(requests);
    for (Map.Entry<String, KafkaFuture<Void>> e : result.values().entrySet()) {
      try {
        e.getValue().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
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
  }
}
