package io.decostream.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.decostream.nn.safetensors.DType;
import io.decostream.nn.tiny.TinyPack;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Every probe of {@code deco diagnose} runs to the end on a tiny pack with its smallest counts, so
 * that a code change that breaks one fails the build (they were scripts compiled outside Maven and
 * broke silently). What they print is not checked: on an untrained pack it is noise.
 */
class DiagnoseCommandTest {

  /** Each probe's arguments after the pack: the smallest counts that still reach its summary. */
  static final Map<String, List<String>> SMALLEST = new LinkedHashMap<>();

  static {
    SMALLEST.put("KindProbe", List.of("12"));
    SMALLEST.put("Var", List.of("tower", "3"));
    SMALLEST.put("Tie", List.of("6"));
    SMALLEST.put("Attend", List.of("2", "word", "3"));
    SMALLEST.put("MotionProbe", List.of("6"));
    SMALLEST.put("MotionErr", List.of("3"));
    SMALLEST.put("Leak", List.of("3"));
    SMALLEST.put("Content", List.of("2", "answer", "-1", "3"));
  }

  @TempDir static Path dir;
  static Path pack;

  @BeforeAll
  static void tinyPack() {
    pack = dir.resolve("tiny");
    // 28 px frames of 7 px patches (a 4 x 4 grid pooled to 2 x 2), a 2-layer decoder
    TinyPack.write(
        pack,
        new TinyPack.Spec(
            28, 7, 16, 32, 2, 2, 32, 64, 2, 4, 2, 256, 10000.0, -1, 2, DType.F32, 0.2),
        3);
  }

  @Test
  void everyProbeHasItsSmallestArguments() {
    assertEquals(DiagnoseCommand.PROBES.keySet(), SMALLEST.keySet());
  }

  @Test
  void everyProbeRunsOnATinyPack() {
    for (Map.Entry<String, List<String>> e : SMALLEST.entrySet()) {
      List<String> args = new ArrayList<>(List.of(e.getKey(), pack.toString()));
      args.addAll(e.getValue());
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      StringWriter err = new StringWriter();
      PrintStream stdout = System.out;
      long t0 = System.nanoTime();
      int exit;
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      try {
        exit =
            new CommandLine(new DiagnoseCommand())
                .setErr(new PrintWriter(err))
                .execute(args.toArray(String[]::new));
      } finally {
        System.setOut(stdout);
      }
      String printed = out.toString(StandardCharsets.UTF_8);
      System.out.printf(
          "%s %s: %.1f s, %d lines%n",
          e.getKey(), e.getValue(), (System.nanoTime() - t0) / 1e9, printed.lines().count());
      assertEquals(0, exit, e.getKey() + " failed:\n" + err);
      assertFalse(printed.isBlank(), e.getKey() + " printed nothing");
    }
  }

  @Test
  void anUnknownProbeIsRefusedNamingTheProbes() {
    StringWriter err = new StringWriter();
    int exit =
        new CommandLine(new DiagnoseCommand())
            .setErr(new PrintWriter(err))
            .execute("Nope", pack.toString());
    assertNotEquals(0, exit);
    assertFalse(err.toString().isBlank());
  }
}
