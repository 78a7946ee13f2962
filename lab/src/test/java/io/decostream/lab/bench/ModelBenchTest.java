package io.decostream.lab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.weights.Precision;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sanity of the benchmark's result record in --quick mode (no timing assertions: the CPU is
 * shared).
 */
public class ModelBenchTest {

  @TempDir Path tmp;

  private static void assertSane(ModelBench.Side side, int repeats, int decoRepeats) {
    for (ModelBench.Stat st : List.of(side.vitPerFrame(), side.prefill(), side.decode())) {
      assertEquals(repeats, st.samplesMs().size());
      assertTrue(
          st.samplesMs().stream().allMatch(ms -> ms > 0 && Double.isFinite(ms)), side + ": " + st);
      assertTrue(st.minMs() <= st.medianMs());
    }
    for (ModelBench.Stat st : List.of(side.decoFull(), side.decoCompressed())) {
      assertEquals(decoRepeats, st.samplesMs().size());
      assertTrue(st.medianMs() > 0);
    }
    assertTrue(side.threads() >= 1);
  }

  @Test
  void quickRunJavaOnlyGivesSaneRecord() {
    ModelBench.Sizes s = ModelBench.Sizes.quick();
    List<String> log = new ArrayList<>();
    ModelBench.Result r =
        ModelBench.run(
            new ModelBench.Options(s, 1, 2, 1, 2, false, null, tmp, 7, Precision.BF16), log::add);
    assertSane(r.java(), 2, 1);
    assertNull(r.python());
    assertEquals(2, r.java().threads());
    assertEquals((4096 - 256) / 576, r.framesFitFull());
    assertEquals((4096 - 256) / 144, r.framesFitDeco());
    assertEquals(6, r.framesFitFull());
    assertEquals(26, r.framesFitDeco());
    // quick CLIP: 64 hidden, 3 layers of 4*64*64+4*64 + 2*64*128+128+64 + 4*64, embeddings and
    // norms
    long layer = 4L * 64 * 64 + 4 * 64 + 2L * 64 * 128 + 128 + 64 + 4 * 64;
    assertEquals(64 + 64L * 3 * 14 * 14 + 17L * 64 + 2 * 64 + 3 * layer + 2 * 64, r.visionParams());
    assertEquals(256L * 64 + 2 * (64 + 4L * 64 * 64 + 64 + 3L * 64 * 128) + 64, r.textParams());
    assertTrue(log.stream().anyMatch(l -> l.contains("DeCo prefill of 1152")), log.toString());
    // the machine's own rates, measured in the run
    assertTrue(r.machine().gflops() > 0 && r.machine().bandwidthGBs() > 0, r.machine().toString());
    assertEquals(512, r.machine().gemmN());
    // time to first token on 8, 16, 32 frames, both ways, sampled as asked
    for (var m : List.of(r.ttftFull(), r.ttftLive())) {
      assertEquals(List.of(8, 16, 32), List.copyOf(m.keySet()));
      m.values().forEach(st -> assertTrue(st.medianMs() > 0));
    }
    assertEquals(1, r.ttftFull().get(32).samplesMs().size(), "full re-prefill: deco repeats");
    assertEquals(2, r.ttftLive().get(32).samplesMs().size(), "live window: repeats");
    assertNotNull(r.liveWindow());
    // the 16-bit decode ran on the default 16-bit weights, BF16
    assertNotNull(r.decode16());
    assertTrue(r.decode16Note().contains("(BF16)"), r.decode16Note());
    assertTrue(
        Files.notExists(tmp.resolve("bench-vision.safetensors")), "temp weights are deleted");
  }

  @Test
  void quickRunWithPyTorchReferenceWhenAvailable() throws Exception {
    Path py = Path.of("/usr/bin/python3");
    Process p = new ProcessBuilder(py.toString(), "-c", "import torch, numpy").start();
    org.junit.jupiter.api.Assumptions.assumeTrue(
        p.waitFor() == 0, "Debian python3-torch is not installed");
    ModelBench.Result r =
        ModelBench.run(
            new ModelBench.Options(
                ModelBench.Sizes.quick(), 1, 2, 1, 2, true, py.toString(), tmp, 7, Precision.BF16),
            l -> {});
    assertNotNull(r.python());
    assertSane(r.python(), 2, 1);
    assertEquals(2, r.python().threads());
    assertTrue(r.python().vitPeakRssKb() > 0 && r.python().llamaPeakRssKb() > 0);
  }

  @Test
  void missingPythonIsReportedNotThrown() {
    String why = ModelBench.pythonTorchMissing(tmp.resolve("no-such-python").toString());
    assertNotNull(why);
    assertTrue(why.contains("cannot run"), why);
  }

  @Test
  void framesThatFitIsFloorAndValidated() {
    assertEquals(6, ModelBench.framesThatFit(4096, 256, 576));
    assertEquals(26, ModelBench.framesThatFit(4096, 256, 144));
    assertEquals(3840, ModelBench.framesThatFit(4096, 256, 1));
    assertThrows(IllegalArgumentException.class, () -> ModelBench.framesThatFit(256, 256, 144));
    assertThrows(IllegalArgumentException.class, () -> ModelBench.framesThatFit(4096, 256, 0));
  }

  @Test
  void statMedianAndRateAndValidation() {
    ModelBench.Stat st = new ModelBench.Stat(List.of(30.0, 10.0, 20.0, 40.0));
    assertEquals(25.0, st.medianMs(), 1e-12);
    assertEquals(10.0, st.minMs(), 1e-12);
    assertEquals(40.0, st.perSecond(1), 1e-9);
    assertThrows(IllegalArgumentException.class, () -> new ModelBench.Stat(List.of()));
    ModelBench.Sizes q = ModelBench.Sizes.quick();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new ModelBench.Sizes(
                    q.vision(),
                    99,
                    q.text(),
                    16,
                    4,
                    2,
                    576,
                    144,
                    4096,
                    256,
                    List.of(8),
                    20,
                    64,
                    1 << 20));
    assertTrue(e.getMessage().contains("featureLayer"), e.getMessage());
  }
}
