package io.decostream.nn.siglip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.safetensors.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Golden test against Pillow 9.4 + numpy (golden/siglip/make_fixture.py), spec §2 preprocessing /
 * §8.
 */
class SiglipImageProcessorTest {

  @TempDir Path tmp;

  static Path golden(String rel) throws Exception {
    return Path.of(SiglipImageProcessorTest.class.getResource("/golden/siglip/" + rel).toURI());
  }

  @ParameterizedTest
  @ValueSource(strings = {"odd_down", "odd_up"})
  void matchesPillowAndNumpy(String name) throws Exception {
    try (SafeTensors st = SafeTensors.open(golden("preprocess.safetensors"))) {
      int s = Integer.parseInt(st.metadata().get("size"));
      RgbImage src = RgbImage.fromBufferedImage(ImageIO.read(golden(name + ".png").toFile()));
      assertTrue(
          src.width() != s && src.height() != s && src.width() != src.height(),
          "odd, non-square input");
      SiglipImageProcessor p = SiglipImageProcessor.square(s);

      // uint8 stage: Pillow's bicubic straight to s x s, exact
      assertArrayEquals(new long[] {s, s, 3}, st.info(name + "_resized").shape());
      byte[] want = st.readBytes(name + "_resized");
      RgbImage got = p.resize(src);
      assertEquals(s, got.width());
      assertEquals(s, got.height());
      assertArrayEquals(want, got.rgb(), name + ": uint8 values differ from PIL");

      // float stage: CHW, (u8/255 - 0.5) / 0.5
      float[] ref = st.readFloats(name + "_pixels");
      float[] pixels = p.preprocess(src);
      assertEquals(3 * s * s, pixels.length);
      double max = 0;
      for (int i = 0; i < ref.length; i++) {
        max = Math.max(max, Math.abs(ref[i] - pixels[i]));
      }
      assertTrue(max <= 1e-6, name + ": max abs diff " + max);
    }
  }

  @Test
  void readsPreprocessorConfig() throws Exception {
    Path f = tmp.resolve("preprocessor_config.json");
    ObjectMapper om = new ObjectMapper();
    // google/siglip-so400m-patch14-384 layout
    Files.writeString(
        f,
        om.writeValueAsString(
            Map.of(
                "do_normalize",
                true,
                "do_rescale",
                true,
                "do_resize",
                true,
                "image_mean",
                new double[] {0.5, 0.5, 0.5},
                "image_std",
                new double[] {0.5, 0.5, 0.5},
                "resample",
                3,
                "rescale_factor",
                0.00392156862745098,
                "size",
                Map.of("height", 384, "width", 384))));
    SiglipImageProcessor p = SiglipImageProcessor.fromPreprocessorConfig(tmp);
    assertEquals(SiglipImageProcessor.so400m384(), p);
    assertEquals(-1f, p.normalize(0, 0));
    assertEquals(1f, p.normalize(255, 2));
    Files.writeString(
        f,
        om.writeValueAsString(
            Map.of(
                "size",
                Map.of("height", 32, "width", 48),
                "image_mean",
                new double[] {0.1, 0.2, 0.3},
                "image_std",
                new double[] {0.25, 0.5, 1.0})));
    SiglipImageProcessor q = SiglipImageProcessor.fromPreprocessorConfig(f);
    assertEquals(32, q.height());
    assertEquals(48, q.width());
    assertArrayEquals(new float[] {0.1f, 0.2f, 0.3f}, q.mean());
    assertEquals(3 * 32 * 48, q.preprocess(new RgbImage(5, 7, new byte[5 * 7 * 3])).length);
    Files.writeString(f, "{\"resample\": 2}");
    assertThrows(
        IllegalArgumentException.class, () -> SiglipImageProcessor.fromPreprocessorConfig(f));
    Files.writeString(f, "{\"do_center_crop\": true}");
    assertThrows(
        IllegalArgumentException.class, () -> SiglipImageProcessor.fromPreprocessorConfig(f));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new SiglipImageProcessor(
                0, 4, 1.0 / 255, SiglipImageProcessor.HALF, SiglipImageProcessor.HALF));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new SiglipImageProcessor(
                4, 4, 1.0 / 255, SiglipImageProcessor.HALF, new float[] {0.5f, 0f, 0.5f}));
  }
}
