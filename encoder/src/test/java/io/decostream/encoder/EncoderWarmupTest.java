package io.decostream.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.metrics.StageMetrics;
import io.decostream.nn.image.RgbImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class EncoderWarmupTest {

  /** Records every image it is given, answers like the topology test's stand-in ViT. */
  static final class SeeingVision extends EncoderTopologyTest.FakeVision {
    final List<RgbImage> seen = new ArrayList<>();

    @Override
    public List<float[]> features(List<RgbImage> images) {
      seen.addAll(images);
      return super.features(images);
    }
  }

  @Test
  void everySyntheticFrameGoesThroughTheStagesTopologyInItsMicroBatchesAndLeavesNoTrace()
      throws Exception {
    SeeingVision vision = new SeeingVision();
    List<Integer> progress = new ArrayList<>();
    long dirsBefore = warmupDirs();
    EncoderWarmup.Result r =
        EncoderWarmup.run(
            EncoderConfig.defaults().withBatch(4, 50), vision, 10, 64, 48, progress::add);
    assertEquals(10, r.frames());
    assertEquals(List.of(4, 4, 2), vision.batchSizes, "the configured micro-batches");
    assertEquals(List.of(4, 8, 10), progress);
    for (RgbImage img : vision.seen) {
      assertEquals(64, img.width());
      assertEquals(48, img.height());
    }
    // the square moves: consecutive frames differ
    assertFalse(
        java.util.Arrays.equals(vision.seen.get(0).rgb(), vision.seen.get(1).rgb()),
        "frames 0 and 1 are the same image");
    assertNull(
        StageMetrics.registry().find("deco.frames").tag("stream", EncoderWarmup.STREAM).counter(),
        "the warm-up stream shows in the metrics");
    assertEquals(dirsBefore, warmupDirs(), "the warm-up's state directory is left behind");
  }

  @Test
  void aModelThatCannotEncodeAPlainFrameStopsTheStartWithTheReason() {
    EncoderTopologyTest.FakeVision broken =
        new EncoderTopologyTest.FakeVision() {
          @Override
          public List<float[]> features(List<RgbImage> images) {
            throw new IllegalArgumentException("input too small for the patch grid");
          }
        };
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                EncoderWarmup.run(
                    EncoderConfig.defaults().withBatch(2, 50), broken, 3, 32, 32, n -> {}));
    assertTrue(e.getMessage().contains("input too small for the patch grid"), e.getMessage());
    assertTrue(e.getMessage().contains("32x32"), e.getMessage());
  }

  @Test
  void noFramesMeansNoModelCall() {
    SeeingVision vision = new SeeingVision();
    assertEquals(
        0, EncoderWarmup.run(EncoderConfig.defaults(), vision, 0, 336, 336, n -> {}).frames());
    assertTrue(vision.seen.isEmpty());
    assertThrows(
        IllegalArgumentException.class,
        () -> EncoderWarmup.run(EncoderConfig.defaults(), vision, -1, 336, 336, n -> {}));
  }

  private static long warmupDirs() throws IOException {
    try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return s.filter(p -> p.getFileName().toString().startsWith("deco-encoder-warmup")).count();
    }
  }
}
