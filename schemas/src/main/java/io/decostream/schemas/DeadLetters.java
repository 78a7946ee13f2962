package io.decostream.schemas;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds {@link DeadLetter} records for inputs a stage cannot process (design.md: nothing is lost;
 * the original bytes travel along). The value is truncated so that the dead letter itself always
 * fits in {@link KafkaLimits#MAX_MESSAGE_BYTES}.
 */
public final class DeadLetters {

  /** Largest original value kept; leaves room for the rest of the dead letter and framing. */
  public static final int MAX_VALUE_BYTES = KafkaLimits.MAX_MESSAGE_BYTES - 256 * 1024;

  /** Largest original key kept (keys are stream ids, normally a few bytes). */
  public static final int MAX_KEY_BYTES = 16 * 1024;

  /** Longest reason kept, in characters. */
  public static final int MAX_REASON_CHARS = 8 * 1024;

  private DeadLetters() {}

  /**
   * A dead letter for the record at {@code sourceTopic}/{@code partition}@{@code offset}; the
   * reason gets the cause's message appended and the exception class is recorded.
   */
  public static DeadLetter of(
      String stage,
      String sourceTopic,
      int partition,
      long offset,
      byte[] key,
      byte[] value,
      String reason,
      Throwable cause) {
    if (stage == null || stage.isBlank()) {
      throw new IllegalArgumentException("stage must not be blank");
    }
    if (sourceTopic == null || sourceTopic.isBlank()) {
      throw new IllegalArgumentException("sourceTopic must not be blank");
    }
    String why = reason == null || reason.isBlank() ? "rejected" : reason;
    if (cause != null && cause.getMessage() != null && !why.contains(cause.getMessage())) {
      why = why + ": " + cause.getMessage();
    }
    String note = "";
    if (value != null && value.length > MAX_VALUE_BYTES) {
      note = " [value truncated from " + value.length + " to " + MAX_VALUE_BYTES + " bytes]";
    }
    if (why.length() + note.length() > MAX_REASON_CHARS) {
      why = why.substring(0, MAX_REASON_CHARS - note.length() - 3) + "...";
    }
    return DeadLetter.newBuilder()
        .setStage(stage)
        .setSourceTopic(sourceTopic)
        .setPartition(partition)
        .setOffset(offset)
        .setStreamId(streamIdOf(key))
        .setKey(key == null ? null : ByteBuffer.wrap(truncate(key, MAX_KEY_BYTES)))
        .setValue(value == null ? null : ByteBuffer.wrap(truncate(value, MAX_VALUE_BYTES)))
        .setReason(why + note)
        .setExceptionClass(cause == null ? null : cause.getClass().getName())
        .setFailedAtMillis(System.currentTimeMillis())
        .build();
  }

  /**
   * The stream id a String key encodes (UTF-8), or null when the key is null, empty or not UTF-8.
   */
  public static String streamIdOf(byte[] key) {
    if (key == null || key.length == 0) {
      return null;
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(key))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  private static byte[] truncate(byte[] bytes, int max) {
    return bytes.length <= max ? bytes : Arrays.copyOf(bytes, max);
  }
}
