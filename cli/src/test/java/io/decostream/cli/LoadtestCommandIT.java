package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deco loadtest} end to end (issue 22 point 1): a few cameras on the in-process broker with
 * the stages and the shipped demo model in this JVM, for 20 s: the JSON report has the issue's
 * keys, every sampled frame of every camera arrives exactly once, every question is answered.
 */
@Timeout(180)
class LoadtestCommandIT {

  @Test
  void aSmallHealthyRunAccountsForEveryFrameAndWritesTheReport(@TempDir Path dir) throws Exception {
    assumeTrue(
        DemoCommand.shippedModel() != null, "the shipped model models/shapes-demo is not here");
    Path json = dir.resolve("report.json");
    // fewer, larger fetches for every in-process stage (docs/scaling.md tried them at 75 cameras)
    Path streamsConfig = dir.resolve("streams.properties");
    Files.writeString(
        streamsConfig, "consumer.fetch.min.bytes=65536\nconsumer.fetch.max.wait.ms=50\n");
    int code =
        Deco.run(
            "loadtest",
            "--streams",
            "3",
            "--seconds",
            "20",
            "--warmup",
            "4",
            "--questions-per-minute",
            "12",
            "--clips",
            "2",
            "--drain",
            "30",
            // 3 cameras need no long warm-ups; the defaults (2048 frames, 1024 chunks) add 15-25 s
            "--encoder-warmup-frames",
            "256",
            "--frames-warmup-chunks",
            "64",
            // 3 other cameras first, unmeasured: their frames must not count as this run's
            "--preroll",
            "4",
            "--streams-config",
            streamsConfig.toString(),
            "--json",
            json.toString());
    assertEquals(0, code);
    JsonNode r = new ObjectMapper().readTree(Files.readString(json));
    for (String key :
        List.of(
            "streams",
            "seconds",
            "offeredFps",
            "achievedFps",
            "frameLatencyMsP50",
            "frameLatencyMsP95",
            "frameLatencyMsP99",
            "answerLatencyMsP50",
            "answerLatencyMsP95",
            "maxLagRecords",
            "lagGrowing",
            "lostFrames",
            "duplicateFrames",
            "deadLetters")) {
      assertTrue(r.has(key), "report lacks " + key + ": " + r);
    }
    assertEquals(3, r.get("streams").asInt());
    assertEquals(20, r.get("seconds").asInt());
    assertTrue(r.get("lagGrowing").isBoolean());
    // 3 cameras at 1 sampled frame/s: 3 frames/s offered
    assertEquals(3.0, r.get("offeredFps").asDouble(), 0.5);
    // 19-20 s of 1 s chunks per camera: every sampled frame accounted for, none lost or twice
    long expected = r.get("framesExpected").asLong();
    assertTrue(expected >= 3 * 18 && expected <= 3 * 20, "frames expected: " + expected);
    assertEquals(0, r.get("lostFrames").asLong(), r.toString());
    assertEquals(0, r.get("duplicateFrames").asLong(), r.toString());
    assertEquals(0, r.get("unexpectedFrames").asLong(), r.toString());
    assertEquals(4, r.get("prerollSeconds").asInt());
    assertEquals(expected, r.get("framesDelivered").asLong());
    assertEquals(0, r.get("deadLetters").asLong());
    // a camera's frame cannot reach the tokens topic before its 1 s chunk is complete
    assertTrue(r.get("frameLatencyMsP50").asDouble() >= 800, r.toString());
    // 3 streams x 12/min over the 16 s after the warm-up: 9 questions, each answered
    long asked = r.get("questionsAsked").asLong();
    assertEquals(9, asked);
    assertEquals(asked, r.get("questionsAnswered").asLong());
    assertTrue(r.get("answerLatencyMsP50").asDouble() > 0);
    // the stages ran in this JVM: their threads used CPU
    JsonNode stages = r.get("perStage");
    for (String s : List.of("frames", "encoder", "llm-worker")) {
      assertTrue(stages.get(s).get("cpuCores").asDouble() > 0, s + ": " + stages);
      assertFalse(stages.get(s).get("maxLagRecords").asLong() < 0, s + ": " + stages);
    }
  }
}
