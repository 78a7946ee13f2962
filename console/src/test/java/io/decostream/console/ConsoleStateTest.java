package io.decostream.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.schemas.Caption;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.Question;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** What the console keeps: bounded, per stream, and the window the page draws as a strip. */
class ConsoleStateTest {

  static Frame rgb(String stream, long index, int w, int h, int rgb) {
    byte[] data = new byte[w * h * 3];
    for (int i = 0; i < w * h; i++) {
      data[3 * i] = (byte) (rgb >> 16);
      data[3 * i + 1] = (byte) (rgb >> 8);
      data[3 * i + 2] = (byte) rgb;
    }
    return Frame.newBuilder()
        .setStreamId(stream)
        .setFrameIndex(index)
        .setTimestampMicros(index * 1_000_000)
        .setChunkSequence(index)
        .setWidth(w)
        .setHeight(h)
        .setFormat(FrameFormat.RGB24)
        .setData(ByteBuffer.wrap(data))
        .build();
  }

  @Test
  void rawFramesAreKeptAsPngAndOnlyTheLatestOnes() throws Exception {
    ConsoleState s = new ConsoleState(new ConsoleState.Limits(3, 5, 5, 5));
    for (int i = 0; i < 5; i++) {
      ConsoleState.Event e = s.onFrame(rgb("cam", i, 4, 2, 0x102030 + i));
      assertEquals("frame", e.name());
      assertEquals((long) i, e.data().get("index"));
    }
    assertFalse(s.frame("cam", 1).isPresent(), "frame 1 fell out: 3 are kept");
    BufferedImage latest =
        ImageIO.read(new ByteArrayInputStream(s.frame("cam", -1).orElseThrow().png()));
    assertEquals(4, latest.getWidth());
    assertEquals(0x102034, latest.getRGB(3, 1) & 0xFFFFFF);
    Map<String, Object> view = s.streamView("cam").orElseThrow();
    assertEquals(4L, view.get("latestFrame"));
    assertEquals(5L, view.get("framesSeen"));
    assertEquals(3, ((List<?>) view.get("frames")).size());
    assertFalse(s.streamView("other").isPresent());
  }

  @Test
  void aBrokenRawFrameIsRefusedWithTheReason() {
    Frame f = Frame.newBuilder(rgb("cam", 0, 4, 2, 0)).setWidth(5).build();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s().onFrame(f));
    assertTrue(e.getMessage().contains("RGB24 data has 24 bytes for 5x2"), e.getMessage());
  }

  @Test
  void theWindowFollowsTheWorkersLatestCaption() {
    ConsoleState s = s();
    for (int i = 0; i < 12; i++) {
      s.onFrame(rgb("cam", i, 2, 2, 0));
    }
    assertEquals(
        List.of(4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L),
        s.streamView("cam").orElseThrow().get("window"),
        "8 frames until the worker says otherwise");
    s.onCaption(
        Caption.newBuilder()
            .setCaptionId("cam-11")
            .setStreamId("cam")
            .setText("a red circle")
            .setFirstFrameIndex(8)
            .setLastFrameIndex(11)
            .setFirstTimestampMicros(8_000_000)
            .setLastTimestampMicros(11_000_000)
            .setPromptTokens(1)
            .setGeneratedTokens(1)
            .setProducedAtMillis(1)
            .build());
    assertEquals(List.of(8L, 9L, 10L, 11L), s.streamView("cam").orElseThrow().get("window"));
  }

  @Test
  void askedQuestionsWaitUntilTheirAnswerAndAreBounded() {
    ConsoleState s = new ConsoleState(new ConsoleState.Limits(3, 2, 5, 5));
    for (int i = 0; i < 3; i++) {
      s.onAsked(
          Question.newBuilder()
              .setQuestionId("q" + i)
              .setStreamId("cam")
              .setText("what?")
              .setAskedAtMillis(i)
              .build());
    }
    List<?> pending = (List<?>) s.streamView("cam").orElseThrow().get("pending");
    assertEquals(2, pending.size(), "at most itemsPerStream wait");
    s.onAnswer(ConsoleServerIT.answer("q2", "cam", "red"));
    Map<String, Object> view = s.streamView("cam").orElseThrow();
    assertEquals(1, ((List<?>) view.get("pending")).size());
    assertEquals("red", ((Map<?, ?>) ((List<?>) view.get("answers")).get(0)).get("text"));
    assertEquals(2, view.get("windowFrames"), "the answer's window");
  }

  @Test
  void limitsMustBePositive() {
    assertThrows(IllegalArgumentException.class, () -> new ConsoleState.Limits(0, 1, 1, 1));
  }

  private static ConsoleState s() {
    return new ConsoleState(ConsoleState.Limits.defaults());
  }

  @Test
  void latencyRunsFromTheFirstToTheLastStageTime() {
    // stageMillis are wall-clock emit times (ingest, frames, encoder), not durations
    assertEquals(
        500,
        ConsoleState.latencyMillis(
            java.util.Map.of(
                "stageMillis",
                java.util.Map.of("ingest", 1_000L, "frames", 1_200L, "encoder", 1_500L))));
    assertEquals(
        -1, ConsoleState.latencyMillis(java.util.Map.of("stageMillis", java.util.Map.of("a", 5L))));
    assertEquals(-1, ConsoleState.latencyMillis(null));
  }
}
