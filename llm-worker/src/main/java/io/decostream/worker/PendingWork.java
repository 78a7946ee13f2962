package io.decostream.worker;

import io.decostream.schemas.CrashGuard;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A question or caption enqueued for generation and not yet answered (issue 22 point 3), as the
 * worker's pending store keeps it: the processor writes it in the same transaction that commits the
 * input's offset and deletes it in the one that writes the answer, so a process that dies in
 * between resubmits it from the store on restart (or the partition's next owner does).
 *
 * @param kind {@link #QUESTION} or {@link #CAPTION}
 * @param topic input record's topic ("" when unknown), for the crash guard
 * @param partition its partition (-1 when unknown)
 * @param offset its offset (-1 when unknown)
 * @param timestamp the input record's timestamp (the dedup store's time of an answer)
 * @param frames the frame indices the generation runs over (oldest first)
 * @param payload the question record's bytes (empty for a caption)
 */
record PendingWork(
    byte kind,
    String topic,
    int partition,
    long offset,
    long timestamp,
    List<Long> frames,
    byte[] payload) {

  static final byte QUESTION = 'q';
  static final byte CAPTION = 'c';
  private static final byte VERSION = 1;

  CrashGuard.Coordinates coordinates() {
    return offset < 0 ? null : new CrashGuard.Coordinates(topic, partition, offset);
  }

  byte[] encode() {
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b =
        ByteBuffer.allocate(
            2 + 4 + t.length + 4 + 8 + 8 + 4 + 8 * frames.size() + 4 + payload.length);
    b.put(VERSION).put(kind).putInt(t.length).put(t).putInt(partition).putLong(offset);
    b.putLong(timestamp).putInt(frames.size());
    frames.forEach(b::putLong);
    b.putInt(payload.length).put(payload);
    return b.array();
  }

  static PendingWork decode(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    byte version = b.get();
    if (version != VERSION) {
      throw new IllegalArgumentException("pending work of unknown version " + version);
    }
    byte kind = b.get();
    byte[] t = new byte[b.getInt()];
    b.get(t);
    int partition = b.getInt();
    long offset = b.getLong();
    long timestamp = b.getLong();
    int n = b.getInt();
    List<Long> frames = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      frames.add(b.getLong());
    }
    byte[] payload = new byte[b.getInt()];
    b.get(payload);
    return new PendingWork(
        kind, new String(t, StandardCharsets.UTF_8), partition, offset, timestamp, frames, payload);
  }
}
