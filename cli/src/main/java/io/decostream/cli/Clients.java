package io.decostream.cli;

import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Topic;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.Topics;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;

/** Plain Kafka clients with the project's size limits. */
public final class Clients {
  private Clients() {}

  static final int PARTITIONS = 2;

  /** Creates every DeCo topic that is missing (idempotent). */
  public static void ensureTopics(String bootstrap, Topics topics) {
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      TopicAdmin.ensureTopics(admin, topics, PARTITIONS, (short) 1);
    }
  }

  public static <V> KafkaProducer<String, V> producer(String bootstrap, Topic<V> topic) {
    Map<String, Object> p = new HashMap<>(KafkaLimits.producerOverrides());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(p, topic.keySerde().serializer(), topic.valueSerde().serializer());
  }

  public static <V> KafkaConsumer<String, V> consumer(String bootstrap, Topic<V> topic) {
    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "deco-cli-" + UUID.randomUUID());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    return new KafkaConsumer<>(
        c, topic.keySerde().deserializer(), topic.valueSerde().deserializer());
  }
}
