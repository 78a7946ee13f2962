package io.decostream.cli;

import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Topic;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.Topics;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Plain Kafka clients with the project's size limits. Each takes the standard client properties of
 * {@code --kafka-config} (security settings; issue 18 point 8): they are applied over the project's
 * defaults, and {@code bootstrap} over them.
 */
public final class Clients {
  private Clients() {}

  /**
   * Partitions of every DeCo topic the demo, {@code deco broker} and {@code deco topics create}
   * create unless told otherwise (issue 22 point 4). A partition is the unit a stage's group hands
   * to one process, so the count caps how many processes of a stage can share the work: 12 splits
   * evenly over 1, 2, 3, 4, 6 and 12 encoders or workers, room for a few machines before topics
   * have to be recreated (the count cannot be raised later without moving streams to other
   * partitions, which breaks the co-partitioned per-stream state). The cost is tasks: each
   * partition is one Streams task per sub-topology with its own RocksDB store. Measured with
   * PartitionStartupCostIT (the demo's in-process pipeline, tiny model, shared 2-core machine):
   * start to every stage running 1.7-6.2 s with 2 partitions, 3.1-7.5 s with 12, about 75-210 MiB
   * more resident memory; a price paid once per start. Env {@value #PARTITIONS_ENV} or {@code
   * --partitions} sizes it for a deployment.
   */
  public static final int DEFAULT_PARTITIONS = 12;

  /** Environment variable overriding {@link #DEFAULT_PARTITIONS} where topics are created. */
  public static final String PARTITIONS_ENV = "DECO_PARTITIONS";

  /** The picocli default of every {@code --partitions} option: the env variable, else 12. */
  static final String PARTITIONS_OPTION_DEFAULT =
      "${env:" + PARTITIONS_ENV + ":-" + DEFAULT_PARTITIONS + "}";

  /** {@value #PARTITIONS_ENV} when set, else {@link #DEFAULT_PARTITIONS}. */
  public static int defaultPartitions() {
    return partitions(System.getenv(PARTITIONS_ENV));
  }

  /** The partition count {@code env} (a {@value #PARTITIONS_ENV} value) asks for. */
  static int partitions(String env) {
    if (env == null || env.isBlank()) {
      return DEFAULT_PARTITIONS;
    }
    int n;
    try {
      n = Integer.parseInt(env.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          PARTITIONS_ENV + " must be a whole number >= 1, got '" + env + "'");
    }
    return checkPartitions(n);
  }

  /** {@code n} when it is a usable partition count. */
  static int checkPartitions(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("--partitions must be >= 1, got " + n);
    }
    return n;
  }

  /**
   * Creates every DeCo topic that is missing (idempotent), with {@link #defaultPartitions()}
   * partitions.
   */
  public static void ensureTopics(String bootstrap, Topics topics) {
    ensureTopics(bootstrap, new Properties(), topics);
  }

  /** As {@link #ensureTopics(String, Topics)} with client properties. */
  public static void ensureTopics(String bootstrap, Properties client, Topics topics) {
    ensureTopics(bootstrap, client, topics, defaultPartitions());
  }

  /** As {@link #ensureTopics(String, Topics)} with {@code partitions} partitions. */
  public static void ensureTopics(String bootstrap, Topics topics, int partitions) {
    ensureTopics(bootstrap, new Properties(), topics, partitions);
  }

  /** As {@link #ensureTopics(String, Properties, Topics)} with {@code partitions} partitions. */
  public static void ensureTopics(
      String bootstrap, Properties client, Topics topics, int partitions) {
    checkPartitions(partitions);
    try (Admin admin = admin(bootstrap, client)) {
      TopicAdmin.ensureTopics(admin, topics, partitions, (short) 1);
    }
  }

  /** An admin client. */
  public static Admin admin(String bootstrap, Properties client) {
    Map<String, Object> a = new HashMap<>();
    return Admin.create(with(a, client, AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
  }

  public static <V> KafkaProducer<String, V> producer(String bootstrap, Topic<V> topic) {
    return producer(bootstrap, new Properties(), topic);
  }

  /**
   * An idempotent producer with acks=all (issue 18 point 1: a retried send is never written twice).
   */
  public static <V> KafkaProducer<String, V> producer(
      String bootstrap, Properties client, Topic<V> topic) {
    Map<String, Object> p = new HashMap<>(KafkaLimits.producerOverrides());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    return new KafkaProducer<>(
        with(p, client, ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
        topic.keySerde().serializer(),
        topic.valueSerde().serializer());
  }

  public static <V> KafkaConsumer<String, V> consumer(String bootstrap, Topic<V> topic) {
    return consumer(bootstrap, new Properties(), topic);
  }

  /**
   * A consumer reading only committed records (issue 18 point 1: the stages write in transactions;
   * an aborted attempt of a killed stage is never shown), its own group, no offset commits, from
   * the end.
   */
  public static <V> KafkaConsumer<String, V> consumer(
      String bootstrap, Properties client, Topic<V> topic) {
    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "deco-cli-" + UUID.randomUUID());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    return new KafkaConsumer<>(
        with(c, client, ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap),
        topic.keySerde().deserializer(),
        topic.valueSerde().deserializer());
  }

  /** {@code defaults}, then {@code client} over them, then bootstrap servers. */
  static Map<String, Object> with(
      Map<String, Object> defaults, Properties client, String bootstrapKey, String bootstrap) {
    Map<String, Object> m = new HashMap<>(defaults);
    if (client != null) {
      client.forEach((k, v) -> m.put(String.valueOf(k), v));
    }
    m.put(bootstrapKey, bootstrap);
    return m;
  }
}
