package io.decostream.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Issue 18 point 7: a short time-bounded fuzz run of the frames decoder crashes nothing. */
class FuzzCommandTest {

  @Test
  @Timeout(120)
  void threeSecondsOfMutatedChunksAreDecodedOrRejectedNeverCrash() throws Exception {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    FuzzCommand.Result r =
        FuzzCommand.run(3, 7, 2000, new PrintStream(buf, true, StandardCharsets.UTF_8));
    String printed = buf.toString(StandardCharsets.UTF_8);
    System.out.print(printed);
    assertTrue(r.total() >= 10, "mutated chunks tried: " + r.total());
    assertEquals(0, r.crashed(), printed);
    assertEquals(r.total(), r.decoded() + r.rejected() + r.cut());
    assertTrue(r.rejected() > 0, "some mutations must be rejected: " + printed);
    assertEquals(r.rejected() + r.cut(), r.reasons().values().stream().mapToInt(i -> i).sum());
    assertTrue(printed.contains("crashed                0"), printed);
  }

  @Test
  @Timeout(120)
  void theLabRunsItAsDecoFuzz() {
    PrintStream original = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int code;
    try (PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
      System.setOut(capture);
      code = Lab.run("fuzz", "--seconds", "1", "--seed", "3");
    } finally {
      System.setOut(original);
    }
    String printed = buf.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, printed);
    assertTrue(printed.contains("deco fuzz: 1 s, seed 3"), printed);
    assertTrue(printed.contains("rejections by reason:"), printed);
  }
}
