package io.decostream.schemas;

import java.util.Objects;
import org.apache.kafka.common.serialization.Serde;

/**
 * A topic with its value type and serdes. Keys are always the stream id as a UTF-8 String.
 *
 * @param name the Kafka topic name (validated)
 * @param type the value class
 * @param keySerde serde of the String stream-id key
 * @param valueSerde serde of the values
 * @param <V> the value type
 */
public record Topic<V>(String name, Class<V> type, Serde<String> keySerde, Serde<V> valueSerde) {

  public Topic {
    TopicNames.validate("topic", name);
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(keySerde, "keySerde");
    Objects.requireNonNull(valueSerde, "valueSerde");
  }

  @Override
  public String toString() {
    return name + " (" + type.getSimpleName() + ")";
  }
}
