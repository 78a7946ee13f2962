package io.decostream.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeadLettersAndLimitsTest {

  @Test
  void deadLetterKeepsOriginalAndReason() {
    DeadLetter d =
        DeadLetters.of(
            "encoder",
            "deco.frames",
            3,
            17L,
            "cam-2".getBytes(StandardCharsets.UTF_8),
            new byte[] {1, 2, 3},
            "bad PNG",
            new IllegalArgumentException("IHDR missing"));
    assertEquals("encoder", d.getStage());
    assertEquals("deco.frames", d.getSourceTopic());
    assertEquals(3, d.getPartition());
    assertEquals(17L, d.getOffset());
    assertEquals("cam-2", d.getStreamId());
    assertEquals("bad PNG: IHDR missing", d.getReason());
    assertEquals(IllegalArgumentException.class.getName(), d.getExceptionClass());
    assertEquals(3, d.getValue().remaining());
  }

  @Test
  void oversizedValueIsTruncatedSoTheDeadLetterFits() {
    byte[] huge = new byte[KafkaLimits.MAX_MESSAGE_BYTES + 1000];
    DeadLetter d =
        DeadLetters.of("frames", "deco.video-chunks", 0, 1L, null, huge, "x".repeat(100_000), null);
    assertEquals(DeadLetters.MAX_VALUE_BYTES, d.getValue().remaining());
    assertTrue(d.getReason().length() <= DeadLetters.MAX_REASON_CHARS);
    assertTrue(
        d.getReason().contains("value truncated from " + huge.length),
        d.getReason().substring(8000));
    assertNull(d.getStreamId());
    byte[] bytes = AvroSerde.of(DeadLetter.class).serialize("deco.dead-letters", d);
    assertTrue(
        bytes.length < KafkaLimits.MAX_PAYLOAD_BYTES, "dead letter is " + bytes.length + " bytes");
  }

  @Test
  void streamIdOfKey() {
    assertEquals("cam-ü", DeadLetters.streamIdOf("cam-ü".getBytes(StandardCharsets.UTF_8)));
    assertNull(DeadLetters.streamIdOf(null));
    assertNull(DeadLetters.streamIdOf(new byte[0]));
    assertNull(DeadLetters.streamIdOf(new byte[] {(byte) 0xC3, (byte) 0x28})); // invalid UTF-8
  }

  @Test
  void limitsAreConsistent() {
    int max = KafkaLimits.MAX_MESSAGE_BYTES;
    assertEquals(8 * 1024 * 1024, max);
    assertEquals(max, KafkaLimits.producerOverrides().get("max.request.size"));
    assertTrue((Long) KafkaLimits.producerOverrides().get("buffer.memory") >= 2L * max);
    assertEquals(max, KafkaLimits.consumerOverrides().get("max.partition.fetch.bytes"));
    assertTrue((Integer) KafkaLimits.consumerOverrides().get("fetch.max.bytes") >= max);
    assertEquals(Integer.toString(max), KafkaLimits.topicConfigs().get("max.message.bytes"));
    Map<String, Object> s = KafkaLimits.streamsOverrides();
    assertEquals(max, s.get("producer.max.request.size"));
    assertEquals(max, s.get("consumer.max.partition.fetch.bytes"));
    assertEquals(Integer.toString(max), s.get("topic.max.message.bytes"));
    assertEquals(Integer.toString(max), KafkaLimits.brokerOverrides().get("message.max.bytes"));
  }
}
