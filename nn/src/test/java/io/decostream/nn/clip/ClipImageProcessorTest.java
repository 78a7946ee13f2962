package io.decostream.nn.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.image.PilBicubic;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.safetensors.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Golden test against Pillow 9.4 + numpy (golden/clip_preprocess/make_fixture.py), spec §1.2 / §8.
 */
class ClipImageProcessorTest {

  @TempDir Path tmp;

  static Path golden(String rel) throws Exception {
    return Path.of(
        ClipImageProcessorTest.class.getResource("/golden/clip_preprocess/" + rel).toURI());
  }

  static RgbImage png(String rel) throws Exception {
    return RgbImage.fromBufferedImage(ImageIO.read(golden(rel).toFile()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"wide_down", "tall_up", "square", "odd_small", "odd_tall"})
  void matchesPillowAndNumpy(String name) throws Exception {
    try (SafeTensors st = SafeTensors.open(golden("expected.safetensors"))) {
      JsonNode meta = new ObjectMapper().readTree(st.metadata().get(name));
      RgbImage src = png(name + ".png");
      assertEquals(meta.get("width").asInt(), src.width());
      assertEquals(meta.get("height").asInt(), src.height());
      int s = meta.get("shortest_edge").asInt();
      int ch = meta.get("crop_h").asInt();
      int cw = meta.get("crop_w").asInt();
      ClipImageProcessor p =
          new ClipImageProcessor(
              s,
              ch,
              cw,
              1.0 / 255,
              ClipImageProcessor.OPENAI_CLIP_MEAN,
              ClipImageProcessor.OPENAI_CLIP_STD);

      // uint8 stage (resize + crop): exact
      RgbImage want = png(name + "_crop.png");
      RgbImage got = p.resizeAndCrop(src);
      assertEquals(want.width(), got.width());
      assertEquals(want.height(), got.height());
      int mismatches = 0;
      int maxDiff = 0;
      for (int i = 0; i < want.rgb().length; i++) {
        int d = Math.abs((want.rgb()[i] & 0xFF) - (got.rgb()[i] & 0xFF));
        if (d != 0) {
          mismatches++;
          maxDiff = Math.max(maxDiff, d);
        }
      }
      assertEquals(
          0, mismatches, name + ": uint8 values differ from PIL (max diff " + maxDiff + ")");

      // float stage: the per-channel table covers every value; full tensors where stored
      float[] lut = st.readFloats("lut");
      for (int c = 0; c < 3; c++) {
        for (int v = 0; v < 256; v++) {
          assertEquals(
              lut[c * 256 + v], p.normalize(v, c), 1e-6, "normalize(" + v + ", " + c + ")");
        }
      }
      float[] pixels = p.preprocess(src);
      assertEquals(3 * ch * cw, pixels.length);
      if (st.contains(name + "_pixels")) {
        assertArrayEquals(new long[] {3, ch, cw}, st.info(name + "_pixels").shape());
        float[] ref = st.readFloats(name + "_pixels");
        double max = 0;
        for (int i = 0; i < ref.length; i++) {
          max = Math.max(max, Math.abs(ref[i] - pixels[i]));
        }
        assertTrue(max <= 1e-6, name + ": max abs diff " + max);
      } else {
        // CHW layout check against the uint8 stage
        int plane = ch * cw;
        for (int i = 0; i < plane; i += 97) {
          for (int c = 0; c < 3; c++) {
            assertEquals(
                lut[c * 256 + (want.rgb()[3 * i + c] & 0xFF)], pixels[c * plane + i], 1e-6);
          }
        }
      }
    }
  }

  @Test
  void resizeRuleTruncatesTheLongSide() {
    ClipImageProcessor p = ClipImageProcessor.clip336();
    assertArrayEquals(new int[] {448, 336}, p.resizedSize(500, 375));
    assertArrayEquals(new int[] {336, 504}, p.resizedSize(333, 500)); // 336*500/333 = 504.5 -> 504
    assertArrayEquals(new int[] {597, 336}, p.resizedSize(640, 360)); // 597.33 -> 597
    assertArrayEquals(new int[] {336, 336}, p.resizedSize(10, 10));
  }

  @Test
  void readsPreprocessorConfig() throws IOException {
    Path f = tmp.resolve("preprocessor_config.json");
    Files.writeString(
        f,
        new ObjectMapper()
            .writeValueAsString(
                Map.of(
                    "size",
                    Map.of("shortest_edge", 224),
                    "crop_size",
                    Map.of("height", 224, "width", 200),
                    "image_mean",
                    new double[] {0.5, 0.5, 0.5},
                    "image_std",
                    new double[] {0.25, 0.5, 1.0},
                    "resample",
                    3,
                    "rescale_factor",
                    0.00392156862745098)));
    ClipImageProcessor p = ClipImageProcessor.fromPreprocessorConfig(tmp);
    assertEquals(224, p.shortestEdge());
    assertEquals(200, p.cropWidth());
    assertArrayEquals(new float[] {0.25f, 0.5f, 1f}, p.std());
    assertEquals(
        new ClipImageProcessor(
            224,
            224,
            200,
            0.00392156862745098,
            new float[] {0.5f, 0.5f, 0.5f},
            new float[] {0.25f, 0.5f, 1f}),
        p);
    assertEquals((255 / 255f - 0.5f) / 0.25f, p.normalize(255, 0));
    Files.writeString(f, "{\"resample\": 2}");
    assertThrows(
        IllegalArgumentException.class, () -> ClipImageProcessor.fromPreprocessorConfig(f));
    assertThrows(IllegalArgumentException.class, () -> new RgbImage(2, 2, new byte[11]));
  }

  private Path writeConfig(String name, Map<String, Object> config) throws IOException {
    Path f = tmp.resolve(name);
    Files.writeString(f, new ObjectMapper().writeValueAsString(config));
    return f;
  }

  /** {@code width x height}, left 10% pure red, right 10% pure blue, gray between. */
  private static RgbImage redLeftBlueRight(int width, int height) {
    byte[] rgb = new byte[3 * width * height];
    int band = width / 10;
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int o = 3 * (y * width + x);
        if (x < band) {
          rgb[o] = (byte) 255;
        } else if (x >= width - band) {
          rgb[o + 2] = (byte) 255;
        } else {
          rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte) 128;
        }
      }
    }
    return new RgbImage(width, height, rgb);
  }

  @Test
  void heightWidthSizeWithoutCropResizesTheWholeImage() throws IOException {
    Path f =
        writeConfig(
            "exact.json",
            Map.of(
                "size",
                Map.of("height", 168, "width", 168),
                "do_center_crop",
                false,
                "crop_size",
                Map.of("height", 224, "width", 224), // unused without the crop
                "resample",
                3));
    ClipImageProcessor p = ClipImageProcessor.fromPreprocessorConfig(f);
    assertEquals(new ClipImageProcessor.Resize.Exact(168, 168), p.resize());
    assertEquals(168, p.cropHeight());
    assertEquals(168, p.cropWidth());
    assertArrayEquals(new int[] {168, 168}, p.resizedSize(640, 360));
    assertThrows(IllegalStateException.class, p::shortestEdge);

    RgbImage src = redLeftBlueRight(640, 360);
    RgbImage out = p.resizeAndCrop(src);
    assertEquals(168, out.width());
    assertEquals(168, out.height());
    float[] px = p.preprocess(src);
    int plane = 168 * 168;
    assertEquals(3 * plane, px.length);
    for (int y = 0; y < 168; y++) {
      int first = y * 168;
      int last = y * 168 + 167;
      // red at the left edge, blue at the right edge (within two 8-bit levels)
      assertTrue(px[first] > p.normalize(253, 0), "R at (0," + y + ") " + px[first]);
      assertTrue(px[plane + first] < p.normalize(2, 1), "G at (0," + y + ")");
      assertTrue(px[2 * plane + first] < p.normalize(2, 2), "B at (0," + y + ")");
      assertTrue(px[last] < p.normalize(2, 0), "R at (167," + y + ")");
      assertTrue(px[plane + last] < p.normalize(2, 1), "G at (167," + y + ")");
      assertTrue(px[2 * plane + last] > p.normalize(253, 2), "B at (167," + y + ") " + px[last]);
    }

    // the shortest-edge form with its center crop cuts both bands off
    float[] cropped = ClipImageProcessor.square(168).preprocess(src);
    assertEquals(p.normalize(128, 0), cropped[0], 1e-6);
    assertEquals(p.normalize(128, 2), cropped[2 * plane + 167], 1e-6);
  }

  @Test
  void squareInputIsTheSameForBothSizeForms() throws IOException {
    ClipImageProcessor exact =
        ClipImageProcessor.fromPreprocessorConfig(
            writeConfig(
                "exact.json",
                Map.of("size", Map.of("height", 168, "width", 168), "do_center_crop", false)));
    ClipImageProcessor shortest =
        ClipImageProcessor.fromPreprocessorConfig(
            writeConfig(
                "shortest.json",
                Map.of(
                    "size",
                    Map.of("shortest_edge", 168),
                    "do_center_crop",
                    true,
                    "crop_size",
                    Map.of("height", 168, "width", 168))));
    assertEquals(ClipImageProcessor.square(168), shortest);
    byte[] rgb = new byte[3 * 250 * 250];
    new java.util.Random(7).nextBytes(rgb);
    RgbImage src = new RgbImage(250, 250, rgb);
    assertArrayEquals(shortest.preprocess(src), exact.preprocess(src));
  }

  @Test
  void heightWidthSizeWithCenterCrop() throws IOException {
    ClipImageProcessor p =
        ClipImageProcessor.fromPreprocessorConfig(
            writeConfig(
                "exact_crop.json",
                Map.of(
                    "size",
                    Map.of("height", 120, "width", 200),
                    "crop_size",
                    Map.of("height", 100, "width", 100))));
    assertEquals(
        new ClipImageProcessor(
            new ClipImageProcessor.Resize.Exact(120, 200),
            100,
            100,
            1.0 / 255,
            ClipImageProcessor.OPENAI_CLIP_MEAN,
            ClipImageProcessor.OPENAI_CLIP_STD),
        p);
    RgbImage src = redLeftBlueRight(640, 360);
    RgbImage out = p.resizeAndCrop(src);
    assertEquals(100, out.width());
    assertEquals(100, out.height());
    assertArrayEquals(
        PilBicubic.resize(src, 200, 120).crop(50, 10, 100, 100).rgb(), out.rgb()); // HF offsets

    // a crop larger than the resized image is refused, as for shortest_edge
    ClipImageProcessor tooBig =
        new ClipImageProcessor(
            new ClipImageProcessor.Resize.Exact(120, 200),
            168,
            168,
            1.0 / 255,
            ClipImageProcessor.OPENAI_CLIP_MEAN,
            ClipImageProcessor.OPENAI_CLIP_STD);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> tooBig.preprocess(src));
    assertTrue(e.getMessage().contains("smaller than the crop"), e.getMessage());
  }

  @Test
  void refusesOtherSizeForms() throws IOException {
    for (Map<String, Object> size :
        List.<Map<String, Object>>of(
            Map.of("longest_edge", 224),
            Map.of("height", 224),
            Map.of("shortest_edge", 224, "height", 224, "width", 224))) {
      Path f = writeConfig("bad.json", Map.of("size", size));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> ClipImageProcessor.fromPreprocessorConfig(f));
      assertTrue(e.getMessage().contains("{\"shortest_edge\": N}"), e.getMessage());
      assertTrue(e.getMessage().contains("{\"height\": H, \"width\": W}"), e.getMessage());
    }
    // without the crop the shortest-edge form's output would follow each image's aspect
    Path f =
        writeConfig(
            "nocrop.json", Map.of("size", Map.of("shortest_edge", 224), "do_center_crop", false));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ClipImageProcessor.fromPreprocessorConfig(f));
    assertTrue(e.getMessage().contains("do_center_crop=false"), e.getMessage());
  }
}
