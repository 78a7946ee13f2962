package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The table {@code deco status} prints (issue 21 point 3). */
class StatusCommandTest {
  @Test
  void streamsAndStagesAreAlignedTables() {
    String table =
        StatusCommand.format(
            List.of(
                new StatusCommand.StreamRow("cam1", 60, 1.0, 420L, 12_300L),
                new StatusCommand.StreamRow("lobby-camera", 0, 0.0, 3_600_000L * 3, null)),
            List.of(
                new StatusCommand.StageRow("frames", "deco-frames", "Stable", 1, 0L),
                new StatusCommand.StageRow("encoder", "deco-encoder", "PreparingRebalance", 2, 17L),
                new StatusCommand.StageRow("llm-worker", "deco-llm-worker", "absent", 0, null)),
            60);
    assertEquals(
        String.join(
            "\n",
            "STREAM        FRAMES/S (60s)  FRAMES  LAST FRAME  LAST ANSWER",
            "cam1          1.00            60      420 ms ago  12.3 s ago",
            "lobby-camera  0.00            0       3.0 h ago   never",
            "",
            "STAGE       APPLICATION ID   STATE               MEMBERS  LAG",
            "frames      deco-frames      Stable              1        0",
            "encoder     deco-encoder     PreparingRebalance  2        17",
            "llm-worker  deco-llm-worker  absent              0        -",
            ""),
        table);
  }

  @Test
  void anEmptyClusterSaysSo() {
    String table = StatusCommand.format(List.of(), List.of(), 30);
    assertEquals(
        "STREAM  FRAMES/S (30s)  FRAMES  LAST FRAME  LAST ANSWER\n"
            + "(no frames or answers on the topics yet)\n"
            + "\n"
            + "STAGE  APPLICATION ID  STATE  MEMBERS  LAG\n",
        table);
  }

  @Test
  void agesReadNaturally() {
    assertEquals("never", StatusCommand.age(null));
    assertEquals("999 ms ago", StatusCommand.age(999L));
    assertEquals("1.0 s ago", StatusCommand.age(1000L));
    assertEquals("4 min ago", StatusCommand.age(4 * 60_000L + 59_000L));
    assertEquals("1.5 h ago", StatusCommand.age(5_400_000L));
  }
}
