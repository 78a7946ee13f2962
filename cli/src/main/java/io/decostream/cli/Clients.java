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

  /** Partitions of the topics the demo and {@code deco broker} create. */
  static final int PARTITIONS = 2;

  /** Creates every DeCo topic that is missing (idempotent), {@value #PARTITIONS} partitions. */
  public static void ensureTopics(String bootstrap, Topics topics) {
    ensureTopics(bootstrap, new Properties(), topics);
  }

  /** As {@link #ensureTopics(String, Topics)} with client properties. */
  public static void ensureTopics(String bootstrap, Properties client, Topics topics) {
    try (Admin admin = admin(bootstrap, client)) {
      TopicAdmin.ensureTopics(admin, topics, PARTITIONS, (short) 1);
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
