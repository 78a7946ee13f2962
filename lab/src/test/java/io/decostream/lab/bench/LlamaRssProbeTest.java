package io.decostream.lab.bench;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The Llama phase's RSS probe runs in a JVM of its own and reports its start and peak. */
class LlamaRssProbeTest {
  @TempDir Path dir;

  @Test
  @Timeout(180)
  void theChildReportsItsOwnStartAndPeak() {
    Path text = dir.resolve("text.safetensors");
    ModelBench.writeText(ModelBench.Sizes.quick(), text, 5);
    List<String> log = new ArrayList<>();
    LlamaRssProbe.Result r = LlamaRssProbe.inChild(text, true, 1, log::add);
    assertNotNull(r, () -> "probe failed: " + log);
    assertTrue(r.startKb() > 0, r::toString);
    // the peak covers at least what the child held when it began, plus the model it then loaded
    assertTrue(r.peakKb() > r.startKb(), r::toString);
  }

  @Test
  @Timeout(60)
  void aChildThatCannotRunGivesNullAndSaysWhy() {
    List<String> log = new ArrayList<>();
    LlamaRssProbe.Result r =
        LlamaRssProbe.inChild(dir.resolve("missing.safetensors"), true, 1, log::add);
    assertTrue(r == null, String.valueOf(r));
    assertTrue(log.size() == 1 && log.get(0).contains("probe failed"), log.toString());
  }
}
