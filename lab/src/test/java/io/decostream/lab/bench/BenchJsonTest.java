package io.decostream.lab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.decostream.nn.weights.Precision;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --json}: the keys always present, missing figures null (issue 20 point 6). */
public class BenchJsonTest {

  @TempDir Path tmp;

  private static ModelBench.Stat ms(double v) {
    return new ModelBench.Stat(List.of(v));
  }

  /** A run of the full sizes with round timings, no 16-bit decode and no readable ViT peak. */
  private ModelBench.Result result(ModelBench.Stat decode16, long vitPeakKb) {
    ModelBench.Sizes s = ModelBench.Sizes.full();
    ModelBench.Options o =
        new ModelBench.Options(s, 2, 5, 2, 2, false, null, tmp, 1, Precision.BF16);
    ModelBench.Side java =
        new ModelBench.Side(
            "DJL", 2, ms(2000), ms(512), ms(6400), ms(32000), ms(2000), vitPeakKb, 2048 * 1024);
    return new ModelBench.Result(
        o,
        303_000_000L,
        109_529_856L,
        java,
        null,
        6,
        26,
        "cpu",
        2,
        true,
        100 * 1024,
        200 * 1024,
        new MachineProbe.Machine(2048, 100.0, 1L << 30, 20.0, 30.0),
        decode16,
        decode16 == null ? "not yet" : "BF16",
        Map.of(8, ms(2000), 16, ms(8000), 32, ms(30000)),
        Map.of(8, ms(100), 16, ms(110), 32, ms(120)),
        "test window",
        List.of(24.0, 26.0, 40.0),
        decode16 == null ? List.of() : List.of(22.0));
  }

  @Test
  void requiredKeysWithNullsForWhatWasNotMeasured() throws Exception {
    ModelBench.Result r = result(null, -1);
    Path file = tmp.resolve("b.json");
    BenchJson.write(r, file);
    JsonNode n = new ObjectMapper().readTree(file.toFile());
    List<String> names = new ArrayList<>();
    n.fieldNames().forEachRemaining(names::add);
    assertEquals(BenchJson.REQUIRED, names.subList(0, BenchJson.REQUIRED.size()));
    assertTrue(n.get("decodeTokPerS16").isNull());
    assertTrue(n.get("peakRssMiB").get("vit").isNull(), "an unreadable peak is null");
    assertEquals(2048.0, n.get("peakRssMiB").get("llm").asDouble(), 0);
    // 128 tokens in 6.4 s
    assertEquals(20.0, n.get("decodeTokPerS").asDouble(), 1e-9);
    assertEquals(1000.0, n.get("prefillTokPerS").get("512").asDouble(), 1e-9);
    assertEquals(576.0, n.get("prefillTokPerS").get("1152").asDouble(), 1e-9);
    assertEquals(144.0, n.get("prefillTokPerS").get("4608").asDouble(), 1e-9);
    assertEquals(3, n.get("prefillFloorTokPerS").size());
    assertEquals(
        Floors.prefillFloorTokPerS(ModelBench.Sizes.full().text(), 4608, 100.0),
        n.get("prefillFloorTokPerS").get("4608").asDouble(),
        1e-9);
    // the machine's bandwidth is the faster of the two reads (30 GB/s, libtorch) ...
    assertEquals(30.0, n.get("bandwidthGBs").asDouble(), 0);
    // ... but decode is held to the reads made beside its samples: median of 24, 26, 40
    assertEquals(26.0, n.get("decodeBandwidthGBs").asDouble(), 0);
    assertEquals(3, n.get("decodeReadGBsSamples").size());
    assertEquals(
        26e9 / Floors.decodeBytesPerToken(ModelBench.Sizes.full().text(), 4, 512, 128),
        n.get("decodeFloorTokPerS").asDouble(),
        1e-9);
    assertEquals(100.0, n.get("ttftMs").get("8").asDouble(), 0);
    assertEquals(30000.0, n.get("ttftMsFullPrefill").get("32").asDouble(), 0);
    assertEquals(2.0, n.get("vitSecondsPerFrame").asDouble(), 0);
    assertEquals(16.0, n.get("decoTimeRatio").asDouble(), 0);
    assertTrue(n.get("pytorchReference").isNull());
    assertEquals(false, n.get("quick").asBoolean());
    // the Llama phase holds at least its fp32 weights and its largest KV cache: the 32-frame
    // window and the question, 4628 positions of 73728 bytes (the "about 740 MiB")
    assertEquals(
        (109_529_856L * 4 + 73_728L * 4628) / 1048576.0,
        n.get("peakRssFloorMiB").get("llm").asDouble(),
        1e-9);
    assertEquals(743.2, n.get("peakRssFloorMiB").get("llm").asDouble(), 0.1);
  }

  @Test
  void sixteenBitDecodeIsWrittenWhenMeasured() {
    ObjectNode n = BenchJson.toJson(result(ms(3200), 1024));
    assertEquals(40.0, n.get("decodeTokPerS16").asDouble(), 1e-9);
    assertEquals(1.0, n.get("peakRssMiB").get("vit").asDouble(), 0);
    assertEquals(
        22e9 / Floors.decodeBytesPerToken(ModelBench.Sizes.full().text(), 2, 512, 128),
        n.get("decodeFloorTokPerS16").asDouble(),
        1e-9);
  }

  @Test
  void withoutPairedReadsDecodeIsHeldToTheMachineProbe() {
    ModelBench.Result paired = result(null, 1024);
    ModelBench.Result r =
        new ModelBench.Result(
            paired.options(),
            paired.visionParams(),
            paired.textParams(),
            paired.java(),
            null,
            paired.framesFitFull(),
            paired.framesFitDeco(),
            paired.cpuModel(),
            paired.nproc(),
            true,
            paired.javaRssBeforeVitKb(),
            paired.javaRssBeforeLlamaKb(),
            paired.machine(),
            null,
            "not yet",
            paired.ttftFull(),
            paired.ttftLive(),
            paired.liveWindow(),
            List.of(),
            List.of());
    assertEquals(30.0, BenchFigures.of(r).decodeBandwidthGBs(), 0);
  }

  @Test
  void plotIsWrittenFromTheRun() throws Exception {
    System.setProperty("java.awt.headless", "true");
    Path png = tmp.resolve("p/ttft.png");
    TtftPlot.write(result(null, -1), png);
    java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
    assertEquals(860, img.getWidth());
    assertEquals("1.5 s", TtftPlot.label(1500));
    assertEquals("30 s", TtftPlot.label(30_000));
    assertEquals("120 ms", TtftPlot.label(120));
  }
}
