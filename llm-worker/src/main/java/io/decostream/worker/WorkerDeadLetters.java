package io.decostream.worker;

import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.DeadLetters;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's dead letters: built with {@link DeadLetters} and each logged at WARN in one line
 * (issue 18: "the worker logs nothing for its own"), with where the input came from and why it was
 * refused, never its payload.
 *
 * <p>Questions travel through the worker's repartition topic, whose records are deleted once
 * processed: so the router puts the question's original coordinates into headers, and a dead letter
 * about a question names the questions topic, partition and offset the asker wrote to.
 */
final class WorkerDeadLetters {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerDeadLetters.class);

  static final String SOURCE_TOPIC_HEADER = "deco.source.topic";
  static final String SOURCE_PARTITION_HEADER = "deco.source.partition";
  static final String SOURCE_OFFSET_HEADER = "deco.source.offset";

  /** Where an input was read from. */
  record Source(String topic, int partition, long offset) {
    /** The record's own coordinates. */
    static Source of(RecordMetadata md) {
      return md == null
          ? new Source("unknown", -1, -1)
          : new Source(md.topic(), md.partition(), md.offset());
    }

    /** The coordinates the router recorded in the headers, else the record's own. */
    static Source original(Record<?, ?> record, RecordMetadata md) {
      Headers h = record.headers();
      String topic = text(h.lastHeader(SOURCE_TOPIC_HEADER));
      String partition = text(h.lastHeader(SOURCE_PARTITION_HEADER));
      String offset = text(h.lastHeader(SOURCE_OFFSET_HEADER));
      if (topic != null && partition != null && offset != null) {
        try {
          return new Source(topic, Integer.parseInt(partition), Long.parseLong(offset));
        } catch (NumberFormatException e) {
          // not ours: fall back to the record's own coordinates
        }
      }
      return of(md);
    }

    /** Writes these coordinates into {@code h}, replacing any a client may have sent. */
    void writeTo(Headers h) {
      h.remove(SOURCE_TOPIC_HEADER);
      h.remove(SOURCE_PARTITION_HEADER);
      h.remove(SOURCE_OFFSET_HEADER);
      h.add(SOURCE_TOPIC_HEADER, topic.getBytes(StandardCharsets.UTF_8));
      h.add(SOURCE_PARTITION_HEADER, Integer.toString(partition).getBytes(StandardCharsets.UTF_8));
      h.add(SOURCE_OFFSET_HEADER, Long.toString(offset).getBytes(StandardCharsets.UTF_8));
    }

    private static String text(Header h) {
      return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
  }

  private WorkerDeadLetters() {}

  /**
   * A dead letter for the input at {@code source}; {@code streamId} (when known from the value)
   * replaces the one read from the key. Logged at WARN.
   */
  static DeadLetter of(
      Source source, byte[] key, byte[] value, String streamId, String reason, Throwable cause) {
    DeadLetter dl =
        DeadLetters.of(
            WorkerTopology.STAGE,
            source.topic(),
            source.partition(),
            source.offset(),
            key,
            value,
            reason,
            cause);
    if (streamId != null && !streamId.isEmpty()) {
      dl.setStreamId(streamId);
    }
    LOG.warn(
        "dead letter: {}-{}@{} stream {}: {}",
        source.topic(),
        source.partition(),
        source.offset(),
        oneLine(dl.getStreamId(), 200),
        oneLine(dl.getReason(), 1000));
    return dl;
  }

  /**
   * Text safe for one log line: control characters (a stream id or an exception message could carry
   * line breaks that forge log lines) become '?', and it is cut at {@code max} characters.
   */
  static String oneLine(String s, int max) {
    if (s == null) {
      return "-";
    }
    StringBuilder sb = new StringBuilder(Math.min(s.length(), max + 3));
    for (int i = 0; i < s.length() && i < max; i++) {
      char c = s.charAt(i);
      sb.append(Character.isISOControl(c) ? '?' : c);
    }
    if (s.length() > max) {
      sb.append("...");
    }
    return sb.toString();
  }
}
