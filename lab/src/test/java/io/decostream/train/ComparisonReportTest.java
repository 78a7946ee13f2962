package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ComparisonReportTest {

  private static ProjectorComparison.RunResult run(
      String variant,
      long seed,
      int tokens,
      int paper,
      int colorRight,
      int countRight,
      double lastLoss) {
    Map<String, Integer> correct =
        new LinkedHashMap<>(Map.of("color", colorRight, "count", countRight));
    Map<String, Integer> asked = new LinkedHashMap<>(Map.of("color", 10, "count", 10));
    return new ProjectorComparison.RunResult(
        variant,
        seed,
        1000,
        5000,
        tokens,
        paper,
        0.25,
        correct,
        asked,
        List.of(new double[] {10, 2.0}, new double[] {20, 1.0}, new double[] {30, lastLoss}),
        List.of(new double[] {20, 0.5, 0.25, 0.1}, new double[] {30, lastLoss, 0.5, 0.2}));
  }

  @Test
  void tablesAverageOverSeedsAndCountFramesPerWindow() {
    String md =
        ComparisonReport.markdown(
            List.of(
                run("avgpool-144", 1, 9, 144, 3, 10, 0.5),
                run("avgpool-144", 2, 9, 144, 5, 10, 0.7),
                run("linear-576", 1, 81, 576, 10, 0, 0.4)));
    // (4096 - 256) / 144 = 26 frames at paper scale, / 9 = 426 in the miniature; (4096 - 256) / 576
    // = 6
    assertTrue(
        md.contains("| avgpool-144 | 9 | 144 | 26 | 426 | 1,000 | 5,000 | 0.25 | 0.600 |"), md);
    assertTrue(md.contains("| linear-576 | 81 | 576 | 6 | 47 |"), md);
    // colour pooled over seeds: (3 + 5) / 20, spread the sample deviation of 30% and 50%; overall
    // the mean of per-seed overall (65% and 75%)
    assertTrue(
        md.contains(
            "| avgpool-144 | 2 | 40.0 ± 14.1 | – | 100.0 ± 0.0 | – | – | – | **70.0** | 65.0, 75.0 |"),
        md);
    // one seed: no spread
    assertTrue(md.contains("| linear-576 | 1 | 100.0 | – | 0.0 |"), md);
    // convergence: overall / position at each check, mean over seeds (0.5 and 0.7 overall at step
    // 30)
    assertTrue(md.contains("| connector | step 20 | step 30 |"), md);
    assertTrue(md.contains("| avgpool-144 | 50.0 / 25.0 | 60.0 / 50.0 |"), md);
    assertTrue(md.contains("| linear-576 | 50.0 / 25.0 | 40.0 / 50.0 |"), md);
  }

  @Test
  void thePlotDrawsEveryVariant(@TempDir Path dir) throws Exception {
    Path png = dir.resolve("plot.png");
    ComparisonReport.plot(
        List.of(
            run("avgpool-144", 1, 9, 144, 3, 10, 0.5), run("linear-576", 1, 81, 576, 1, 1, 0.4)),
        10,
        png);
    BufferedImage img = ImageIO.read(png.toFile());
    assertEquals(960, img.getWidth());
    assertEquals(980, img.getHeight());
    // both palette colours appear (blue for the first variant, red for the second) in the loss
    // panel
    // (above y = 560) and in the accuracy panel (below y = 600)
    boolean[] blue = new boolean[2];
    boolean[] red = new boolean[2];
    for (int y = 0; y < img.getHeight(); y++) {
      for (int x = 0; x < img.getWidth(); x++) {
        int rgb = img.getRGB(x, y) & 0xffffff;
        int panel = y < 560 ? 0 : 1;
        blue[panel] |= rgb == 0x1f77b4;
        red[panel] |= rgb == 0xd62728;
      }
    }
    assertTrue(blue[0] && red[0], "loss panel");
    assertTrue(blue[1] && red[1], "accuracy panel");
  }
}
