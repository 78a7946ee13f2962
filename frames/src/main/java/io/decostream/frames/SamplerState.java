package io.decostream.frames;

import java.nio.ByteBuffer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Per-stream sampling state kept in the frames state store (key: stream id), so a restarted frames
 * stage continues the numbering.
 *
 * @param nextIndex next frame index wanted by the {@link FrameSampler}
 * @param lastSequence sequence of the last chunk processed (-1: none)
 * @param lastChunkStart nextIndex before that chunk, to reproduce it exactly when it is redelivered
 */
public record SamplerState(long nextIndex, long lastSequence, long lastChunkStart) {

  /** State of a stream never seen. */
  public static final SamplerState INITIAL = new SamplerState(0, -1, 0);

  /** 24-byte big-endian serde for the state store. */
  public static Serde<SamplerState> serde() {
    Serializer<SamplerState> ser =
        (topic, s) ->
            s == null
                ? null
                : ByteBuffer.allocate(24)
                    .putLong(s.nextIndex)
                    .putLong(s.lastSequence)
                    .putLong(s.lastChunkStart)
                    .array();
    Deserializer<SamplerState> de =
        (topic, b) -> {
          if (b == null) {
            return null;
          }
          if (b.length != 24) {
            throw new SerializationException("sampler state must be 24 bytes, got " + b.length);
          }
          ByteBuffer bb = ByteBuffer.wrap(b);
          return new SamplerState(bb.getLong(), bb.getLong(), bb.getLong());
        };
    return Serdes.serdeFrom(ser, de);
  }
}
