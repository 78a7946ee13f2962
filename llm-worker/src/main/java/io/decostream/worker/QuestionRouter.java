package io.decostream.worker;

import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Question;
import io.decostream.schemas.Topics;
import io.decostream.worker.WorkerDeadLetters.Source;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * First step of a question (issue 18 points 4 and 7): checks it and re-keys it by the stream id its
 * value names, for the repartition to the partition of that stream's frame tokens.
 *
 * <p>The key a client gave does not matter any more: the value is the truth. A question keyed
 * otherwise, with no key, or put on a partition by a non-Java partitioner (librdkafka's default
 * hashes with CRC32, Java's with murmur2) still reaches its stream's window. What cannot be
 * answered becomes a dead letter with the reason: a tombstone, bytes that are not a Question, no
 * question id, no or an invalid stream id, empty text, text over {@link
 * WorkerConfig#maxQuestionBytes}, control characters other than tab and line breaks, or sampling
 * values no sampler takes (temperature < 0 or not finite, topP outside (0, 1]).
 *
 * <p>Out: the question's original bytes keyed by the stream id's UTF-8 bytes (the same bytes the
 * Java String serializer gives, so the repartition hashes them exactly as a Java producer would),
 * with the original topic/partition/offset in headers; or a {@link
 * io.decostream.schemas.DeadLetter}.
 */
final class QuestionRouter implements Processor<byte[], byte[], byte[], Object> {
  private final WorkerConfig config;
  private final Topics topics;
  private ProcessorContext<byte[], Object> context;

  QuestionRouter(WorkerConfig config, Topics topics) {
    this.config = config;
    this.topics = topics;
  }

  @Override
  public void init(ProcessorContext<byte[], Object> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    RecordMetadata md = context.recordMetadata().orElse(null);
    Source source = Source.of(md);
    if (record.value() == null) {
      reject(
          record, source, null, "tombstone (null value): a question must carry a Question", null);
      return;
    }
    Question q;
    try {
      q =
          topics
              .questions()
              .valueSerde()
              .deserializer()
              .deserialize(topics.questions().name(), record.value());
      if (q == null) {
        throw new IllegalArgumentException("empty value");
      }
    } catch (RuntimeException e) {
      reject(record, source, null, "not a Question record: " + e.getMessage(), e);
      return;
    }
    String problem = problem(q, config.maxQuestionBytes());
    if (problem != null) {
      reject(
          record, source, validStreamId(q.getStreamId()) ? q.getStreamId() : null, problem, null);
      return;
    }
    Record<byte[], Object> out =
        new Record<byte[], Object>(
            q.getStreamId().getBytes(StandardCharsets.UTF_8),
            record.value(),
            record.timestamp(),
            record.headers());
    source.writeTo(out.headers());
    context.forward(out);
  }

  /** Why {@code q} cannot be answered, or null when it can. */
  static String problem(Question q, int maxQuestionBytes) {
    String id = q.getQuestionId();
    if (id == null || id.isBlank()) {
      return "question has no id (empty questionId): its answer could not be matched to it";
    }
    int bad = firstControl(id, false);
    if (bad >= 0) {
      return "question id contains control character " + codePoint(id, bad) + " at index " + bad;
    }
    String what = "question '" + id + "'";
    String stream = q.getStreamId();
    if (stream == null || stream.isBlank()) {
      return what + " names no stream (empty streamId)";
    }
    if (!validStreamId(stream)) {
      int at = firstControl(stream, false);
      return what
          + ": its stream id contains control character "
          + codePoint(stream, at)
          + " at index "
          + at;
    }
    what = what + " for stream '" + stream + "'";
    String text = q.getText();
    if (text == null || text.isBlank()) {
      return what + " has no text (empty question)";
    }
    int bytes = text.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > maxQuestionBytes) {
      return what
          + " has "
          + bytes
          + " bytes of text; the limit is "
          + maxQuestionBytes
          + " (WorkerConfig.maxQuestionBytes)";
    }
    int at = firstControl(text, true);
    if (at >= 0) {
      return what
          + " contains control character "
          + codePoint(text, at)
          + " at index "
          + at
          + " of its text (only tab and line breaks are allowed)";
    }
    // issue 20 point 5: a sampler that cannot be built is refused here, never a crash later
    if (q.getTemperature() != null || q.getTopP() != null) {
      String sampling =
          Sampling.problem(
              q.getTemperature() != null ? q.getTemperature() : 0,
              q.getTopP() != null ? q.getTopP() : 1);
      if (sampling != null) {
        return what + " asks for invalid sampling: " + sampling;
      }
    }
    return null;
  }

  static boolean validStreamId(String s) {
    return s != null && !s.isBlank() && firstControl(s, false) < 0;
  }

  /**
   * Index of the first ISO control character (C0, DEL, C1), or -1; with {@code whitespaceOk}, tab,
   * line feed and carriage return are allowed.
   */
  private static int firstControl(String s, boolean whitespaceOk) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isISOControl(c) && !(whitespaceOk && (c == '\t' || c == '\n' || c == '\r'))) {
        return i;
      }
    }
    return -1;
  }

  private static String codePoint(String s, int i) {
    return String.format("U+%04X", (int) s.charAt(i));
  }

  private void reject(
      Record<byte[], byte[]> record, Source source, String streamId, String reason, Throwable e) {
    DeadLetter dl = WorkerDeadLetters.of(source, record.key(), record.value(), streamId, reason, e);
    // keyed like every dead letter: by the stream id it is about ("" when unknown)
    String key = dl.getStreamId() != null ? dl.getStreamId() : "";
    context.forward(
        new Record<byte[], Object>(
            key.getBytes(StandardCharsets.UTF_8), dl, System.currentTimeMillis()));
  }
}
