package io.decostream.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.lab.bench.BenchJson;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code deco bench --quick --skip-python --json --plot} end to end (issue 20 point 6): the one
 * line about the skipped reference, every Java figure beside its floor, the JSON's keys, the PNG.
 * No timing assertions (the CPU is shared).
 */
public class BenchCommandTest {

  @TempDir Path tmp;

  @Test
  @Timeout(600)
  void quickRunWritesTableJsonAndPlot() throws Exception {
    Path json = tmp.resolve("out/bench.json");
    Path png = tmp.resolve("out/ttft.png");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream saved = System.out;
    int rc;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      rc =
          new CommandLine(new BenchCommand())
              .execute(
                  "--quick",
                  "--skip-python",
                  "--warmups",
                  "0",
                  "--repeats",
                  "1",
                  "--deco-repeats",
                  "1",
                  "--work-dir",
                  tmp.resolve("work").toString(),
                  "--json",
                  json.toString(),
                  "--plot",
                  png.toString());
    } finally {
      System.setOut(saved);
    }
    String text = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, rc, text);
    // one line says the reference is skipped; the Java figures are all printed with floors
    assertEquals(
        1,
        text.lines()
            .filter(l -> l.startsWith("PyTorch reference: skipped (--skip-python)"))
            .count(),
        text);
    for (String row :
        List.of(
            "| prefill 512 tokens, tok/s |",
            "| prefill 1152 tokens (8 frames x 144), tok/s |",
            "| prefill 4608 tokens (8 frames x 576), tok/s |",
            "| decode 8 tokens, fp32 weights, tok/s |",
            "| first token, live window of 32 frames, ms |",
            "| first token, full re-prefill of 8 frames, ms |",
            "| ViT forward per frame, s |")) {
      assertTrue(text.contains(row), row + " in\n" + text);
    }
    assertTrue(text.contains("| decode 8 tokens, 16-bit weights, tok/s |"), text);
    assertTrue(text.contains("measured prefill time ratio"), text);

    JsonNode n = new ObjectMapper().readTree(json.toFile());
    for (String k : BenchJson.REQUIRED) {
      assertTrue(n.has(k), k + " in " + n);
    }
    assertTrue(n.get("decodeTokPerS").isNumber() && n.get("decodeTokPerS").asDouble() > 0);
    assertTrue(n.get("decodeTokPerS16").isNumber() && n.get("decodeTokPerS16").asDouble() > 0);
    // 16-bit reads fewer bytes per token: more tokens per GB/s of its floor's bandwidth (each
    // decode's floor uses the read measured beside it, and this VM's bandwidth drifts between them)
    assertTrue(
        n.get("decodeFloorTokPerS16").asDouble() / n.get("decodeBandwidthGBs16").asDouble()
            > n.get("decodeFloorTokPerS").asDouble() / n.get("decodeBandwidthGBs").asDouble(),
        n.toString());
    assertEquals(Set.of("512", "1152", "4608"), keys(n.get("prefillTokPerS")));
    assertEquals(Set.of("512", "1152", "4608"), keys(n.get("prefillFloorTokPerS")));
    assertEquals(Set.of("8", "16", "32"), keys(n.get("ttftMs")));
    assertEquals(Set.of("8", "16", "32"), keys(n.get("ttftMsFullPrefill")));
    assertEquals(Set.of("vit", "llm"), keys(n.get("peakRssMiB")));
    for (String k : List.of("prefillTokPerS", "prefillFloorTokPerS", "ttftMs", "peakRssMiB")) {
      n.get(k).forEach(v -> assertTrue(v.isNumber() && v.asDouble() > 0, k + ": " + n.get(k)));
    }
    assertTrue(n.get("sgemmGflops").asDouble() > 0 && n.get("bandwidthGBs").asDouble() > 0);
    assertTrue(n.get("vitFloorSecondsPerFrame").asDouble() > 0);
    assertTrue(n.get("pytorchReference").isNull());
    assertEquals(true, n.get("quick").asBoolean());

    BufferedImage img = ImageIO.read(png.toFile());
    assertTrue(img != null && img.getWidth() > 100 && img.getHeight() > 100, "a PNG");
  }

  private static Set<String> keys(JsonNode o) {
    Set<String> s = new TreeSet<>();
    o.fieldNames().forEachRemaining(s::add);
    return s;
  }
}
