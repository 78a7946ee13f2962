package io.decostream.schemas;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one place for message-size limits (design.md: "8 MiB everywhere"). A frame as PNG, a video
 * chunk or a frame's tokens can exceed Kafka's 1 MB default, so broker, topics, producers and
 * consumers must all be raised together; any one left at the default rejects large records.
 *
 * <p>{@link #MAX_MESSAGE_BYTES} bounds a whole record batch as the broker sees it (topic {@code
 * max.message.bytes}) and a single serialized record as the producer sees it ({@code
 * max.request.size}, which already counts the batch header), so a record the producer accepts is
 * never rejected by the broker. Payloads should stay below {@link #MAX_PAYLOAD_BYTES}.
 */
public final class KafkaLimits {

  /** Largest record batch anywhere: 8 MiB. */
  public static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

  /** Headroom for key, headers and record/batch framing. */
  public static final int FRAMING_HEADROOM_BYTES = 64 * 1024;

  /** Largest value a stage should try to produce. */
  public static final int MAX_PAYLOAD_BYTES = MAX_MESSAGE_BYTES - FRAMING_HEADROOM_BYTES;

  /**
   * Producer buffer: room for several maximum-size records in flight (default 32 MiB would hold
   * only 4).
   */
  public static final long PRODUCER_BUFFER_MEMORY = 8L * MAX_MESSAGE_BYTES;

  /** Consumer fetch limit across partitions (several maximum-size records per fetch). */
  public static final int FETCH_MAX_BYTES = 4 * MAX_MESSAGE_BYTES;

  /**
   * Compression: none. The payloads are already compressed media (H.264 chunks, PNG frames) or FP16
   * features that LZ4 barely shrinks, so compressing only costs CPU on a small machine.
   */
  public static final String COMPRESSION_TYPE = "none";

  private KafkaLimits() {}

  /** Producer settings: max.request.size, buffer.memory, compression.type. */
  public static Map<String, Object> producerOverrides() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("max.request.size", MAX_MESSAGE_BYTES);
    m.put("buffer.memory", PRODUCER_BUFFER_MEMORY);
    m.put("compression.type", COMPRESSION_TYPE);
    return m;
  }

  /** Consumer settings: max.partition.fetch.bytes, fetch.max.bytes. */
  public static Map<String, Object> consumerOverrides() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("max.partition.fetch.bytes", MAX_MESSAGE_BYTES);
    m.put("fetch.max.bytes", FETCH_MAX_BYTES);
    return m;
  }

  /** Topic-level settings for NewTopic: max.message.bytes. */
  public static Map<String, String> topicConfigs() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("max.message.bytes", Integer.toString(MAX_MESSAGE_BYTES));
    return m;
  }

  /**
   * Kafka Streams settings: the producer and consumer overrides with the "producer." and
   * "consumer." prefixes Streams expects, plus "topic.max.message.bytes" so the internal changelog
   * and repartition topics Streams creates accept the same sizes.
   */
  public static Map<String, Object> streamsOverrides() {
    Map<String, Object> m = new LinkedHashMap<>();
    producerOverrides().forEach((k, v) -> m.put("producer." + k, v));
    consumerOverrides().forEach((k, v) -> m.put("consumer." + k, v));
    topicConfigs().forEach((k, v) -> m.put("topic." + k, v));
    return m;
  }

  /**
   * Broker settings (message.max.bytes, replica.fetch.max.bytes) for an embedded or test broker.
   */
  public static Map<String, String> brokerOverrides() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("message.max.bytes", Integer.toString(MAX_MESSAGE_BYTES));
    m.put("replica.fetch.max.bytes", Integer.toString(MAX_MESSAGE_BYTES));
    return m;
  }
}
