package io.decostream.schemas;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka {@link Serde} for a generated Avro record class using Avro <em>single-object encoding</em>:
 * marker {@code C3 01}, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema, then
 * the Avro binary body. Any Avro tool decodes a message given only the {@code .avsc} file
 * (design.md, "Topics").
 *
 * <p>The decoder knows the current schema plus every historical version from {@link SchemaHistory},
 * so messages written by older producers are resolved to the current schema (new fields take their
 * defaults). A {@code null} value (Kafka tombstone) maps to {@code null} both ways.
 *
 * <p>Thread-safe: Avro's message encoder/decoder keep per-thread buffers, so one instance may be
 * shared by all stream threads.
 *
 * @param <T> the generated record class
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T> {

  private final Class<T> type;
  private final Schema schema;
  private final BinaryMessageEncoder<T> encoder;
  private final BinaryMessageDecoder<T> decoder;
  private final List<Schema> history;
  private final Serializer<T> serializer = new AvroSerializer();
  private final Deserializer<T> deserializer = new AvroDeserializer();

  /** A serde for {@code type} knowing the historical schemas found by {@link SchemaHistory}. */
  public AvroSerde(Class<T> type) {
    this(type, SchemaHistory.versionsOf(Objects.requireNonNull(type, "type")));
  }

  /**
   * A serde for {@code type} that also decodes messages written with any of the given older writer
   * schemas (each must be resolvable to the current schema).
   */
  public AvroSerde(Class<T> type, List<Schema> historicalWriterSchemas) {
    this.type = Objects.requireNonNull(type, "type");
    SpecificData model = SpecificData.getForClass(type);
    this.schema = model.getSchema(type);
    if (schema == null || schema.getType() != Schema.Type.RECORD) {
      throw new IllegalArgumentException(type.getName() + " is not a generated Avro record class");
    }
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    this.decoder = new BinaryMessageDecoder<>(model, schema);
    this.history = List.copyOf(historicalWriterSchemas);
    for (Schema old : history) {
      if (!schema.getFullName().equals(old.getFullName())) {
        throw new IllegalArgumentException(
            "historical schema "
                + old.getFullName()
                + " does not belong to "
                + schema.getFullName());
      }
      decoder.addSchema(old);
    }
  }

  /** Shorthand for {@code new AvroSerde<>(type)}. */
  public static <T extends SpecificRecord> AvroSerde<T> of(Class<T> type) {
    return new AvroSerde<>(type);
  }

  /** The generated record class. */
  public Class<T> type() {
    return type;
  }

  /** The current (reader and writer) schema. */
  public Schema schema() {
    return schema;
  }

  /** Older writer schemas this serde can still decode. */
  public List<Schema> historicalSchemas() {
    return history;
  }

  /** CRC-64-AVRO fingerprint of the current schema, as written after the marker. */
  public long fingerprint() {
    return SchemaNormalization.parsingFingerprint64(schema);
  }

  /** Encodes one record (null stays null). */
  public byte[] serialize(String topic, T value) {
    return serializer.serialize(topic, value);
  }

  /** Decodes one message (null stays null); throws {@link SerializationException} on bad bytes. */
  public T deserialize(String topic, byte[] bytes) {
    return deserializer.deserialize(topic, bytes);
  }

  @Override
  public Serializer<T> serializer() {
    return serializer;
  }

  @Override
  public Deserializer<T> deserializer() {
    return deserializer;
  }

  @Override
  public String toString() {
    return "AvroSerde[" + schema.getFullName() + ", " + history.size() + " historical schema(s)]";
  }

  private final class AvroSerializer implements Serializer<T> {
    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
      // nothing to configure: the schema comes from the generated class
    }

    @Override
    public byte[] serialize(String topic, T value) {
      if (value == null) {
        return null;
      }
      try {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        encoder.encode(value, out);
        return out.toByteArray();
      } catch (IOException | RuntimeException e) {
        throw new SerializationException(
            "cannot serialize " + schema.getName() + " for topic " + topic + ": " + e.getMessage(),
            e);
      }
    }
  }

  private final class AvroDeserializer implements Deserializer<T> {
    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
      // nothing to configure
    }

    @Override
    public T deserialize(String topic, byte[] bytes) {
      if (bytes == null) {
        return null;
      }
      String what =
          "cannot deserialize "
              + schema.getName()
              + " from topic "
              + topic
              + " ("
              + bytes.length
              + " bytes): ";
      if (bytes.length < 10) {
        throw new SerializationException(
            what
                + "truncated message, shorter than the 10-byte"
                + " single-object header (marker C3 01 + 8-byte schema fingerprint)");
      }
      if ((bytes[0] & 0xFF) != 0xC3 || (bytes[1] & 0xFF) != 0x01) {
        throw new SerializationException(
            what
                + String.format(
                    "bad marker %02X %02X, expected C3 01 (not Avro single-object encoding)",
                    bytes[0] & 0xFF, bytes[1] & 0xFF));
      }
      try {
        return decoder.decode(new ByteArrayInputStream(bytes), null);
      } catch (MissingSchemaException e) {
        throw new SerializationException(
            what
                + "unknown writer schema fingerprint "
                + String.format("%016X", fingerprintOf(bytes))
                + "; known: current "
                + String.format("%016X", fingerprint())
                + " and "
                + history.size()
                + " historical version(s)",
            e);
      } catch (BadHeaderException e) {
        throw new SerializationException(what + "bad header: " + e.getMessage(), e);
      } catch (EOFException e) {
        throw new SerializationException(what + "truncated message body", e);
      } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException e) {
        if (hasCause(e, EOFException.class)) {
          throw new SerializationException(what + "truncated message body", e);
        }
        throw new SerializationException(what + "corrupt message body: " + e, e);
      }
    }
  }

  private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  private static long fingerprintOf(byte[] bytes) {
    long fp = 0;
    for (int i = 9; i >= 2; i--) {
      fp = (fp << 8) | (bytes[i] & 0xFFL);
    }
    return fp;
  }
}
