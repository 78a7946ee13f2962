package io.decostream.frames;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.KafkaLimits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FramesConfigTest {

  @TempDir Path dir;

  @Test
  void defaultsAndValidation() {
    FramesConfig c = FramesConfig.defaults();
    assertEquals(1.0, c.sampleFps());
    assertEquals(1920, c.maxWidth());
    assertEquals(1080, c.maxHeight());
    assertEquals(10.0, c.maxChunkSeconds());
    assertEquals(10_000, c.maxDecodeMillis());
    assertEquals(FrameFormat.PNG, c.frameFormat());
    assertThrows(IllegalArgumentException.class, () -> c.withSampleFps(0));
    assertThrows(IllegalArgumentException.class, () -> c.withSampleFps(Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> c.withMaxSize(8, 100));
    assertThrows(IllegalArgumentException.class, () -> c.withMaxChunkSeconds(-1));
    assertThrows(IllegalArgumentException.class, () -> c.withMaxDecodeMillis(0));
    assertThrows(IllegalArgumentException.class, () -> c.withApplicationId("has space"));
    assertThrows(NullPointerException.class, () -> c.withTopicNames(null));
    // issue 18 point 7: chunk-size bound and crash-attempt limit
    assertEquals(KafkaLimits.MAX_MESSAGE_BYTES, c.maxChunkBytes());
    assertEquals(2, c.maxCrashAttempts());
    assertEquals(5, c.withMaxCrashAttempts(5).maxCrashAttempts());
    assertEquals(5, c.withMaxCrashAttempts(5).withSampleFps(2).maxCrashAttempts(), "kept by with*");
    assertEquals(
        4096, c.withMaxChunkBytes(4096).withFrameFormat(FrameFormat.RGB24).maxChunkBytes());
    assertThrows(IllegalArgumentException.class, () -> c.withMaxCrashAttempts(0));
    assertThrows(IllegalArgumentException.class, () -> c.withMaxChunkBytes(100));
    assertThrows(
        IllegalArgumentException.class,
        () -> c.withMaxChunkBytes(KafkaLimits.MAX_MESSAGE_BYTES + 1));
  }

  @Test
  void streamsProperties() {
    Path state = dir.resolve("state");
    Properties extra = new Properties();
    extra.put("num.stream.threads", "2");
    Properties p =
        FramesApp.properties(
            FramesConfig.defaults().withStateDir(state).withApplicationId("fr-1"),
            "localhost:9092",
            extra);
    assertEquals("fr-1", p.get("application.id"));
    assertEquals("localhost:9092", p.get("bootstrap.servers"));
    assertEquals(state.toString(), p.get("state.dir"));
    assertTrue(Files.isDirectory(state));
    assertEquals("exactly_once_v2", p.get("processing.guarantee")); // issue 18 point 1
    assertEquals("2", p.get("num.stream.threads"));
    assertEquals(KafkaLimits.MAX_MESSAGE_BYTES, p.get("producer.max.request.size"));
    assertThrows(
        IllegalArgumentException.class,
        () -> FramesApp.properties(FramesConfig.defaults(), " ", null));
  }
}
