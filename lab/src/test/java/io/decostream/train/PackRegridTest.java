package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.projector.Bilinear2d;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackRegridTest {

  private static final String POS =
      "vision_tower.vision_model.embeddings.position_embedding.weight";

  @Test
  void movesThePackToTheFinerGridAndKeepsEveryOtherWeight(@TempDir Path dir) throws Exception {
    Path src = dir.resolve("src");
    TinyPack.write(
        src, ProjectorComparisonTest.spec(), 3); // 42 px / 7 = 6x6 patches, stride 2: 3x3 tokens
    Path dst = dir.resolve("dst");
    PackRegrid.Result r = PackRegrid.regrid(src, dst, 84, 2, 300);
    assertEquals(new PackRegrid.Result(6, 12, 9, 36, 300), r);

    LlavaNextVideoConfig c = LlavaNextVideoConfig.read(dst);
    assertEquals(84, c.visionConfig().imageSize());
    assertEquals(2, c.spatialPoolStride());
    assertEquals(300, c.textConfig().maxPositionEmbeddings());
    JsonNode p = new ObjectMapper().readTree(dst.resolve("preprocessor_config.json").toFile());
    assertEquals(84, p.at("/size/shortest_edge").asInt());
    assertEquals(84, p.at("/crop_size/height").asInt());

    try (SafeTensors a = SafeTensors.open(src.resolve("model.safetensors"));
        SafeTensors b = SafeTensors.open(dst.resolve("model.safetensors"))) {
      assertEquals(a.names(), b.names());
      for (String name : a.names()) {
        if (!name.equals(POS)) {
          assertArrayEquals(a.readFloats(name), b.readFloats(name), 0f, name);
        }
      }
      int dim = (int) a.info(POS).shape()[1];
      assertArrayEquals(new long[] {145, dim}, b.info(POS).shape());
      float[] before = a.readFloats(POS);
      float[] after = b.readFloats(POS);
      // the class position is kept; the 6x6 patch rows become their bilinear resampling on 12x12
      // (torch's rule)
      assertArrayEquals(Arrays.copyOf(before, dim), Arrays.copyOf(after, dim), 0f);
      float[] expected =
          Bilinear2d.interpolate(Arrays.copyOfRange(before, dim, before.length), 6, 6, dim, 12, 12);
      assertArrayEquals(expected, Arrays.copyOfRange(after, dim, after.length), 0f);
      // upsampling by two: output patch (0,0) lies inside source patch (0,0) (clamped edge), so
      // equals it exactly
      assertArrayEquals(
          Arrays.copyOfRange(before, dim, 2 * dim), Arrays.copyOfRange(after, dim, 2 * dim), 0f);
    }
    // strict loading accepts the result: every tensor bound, with the new shapes
    try (TrainablePack pack = TrainablePack.open(dst)) {
      assertEquals(84, pack.config().visionConfig().imageSize());
    }
  }

  @Test
  void aWholeFrameSizeKeepsItsFormAndItsNoCrop(@TempDir Path dir) throws Exception {
    Path src = dir.resolve("src");
    TinyPack.write(src, ProjectorComparisonTest.spec(), 3);
    // the wide world's form: exact resize of the whole frame, no crop
    Path cfg = src.resolve("preprocessor_config.json");
    ObjectMapper json = new ObjectMapper();
    com.fasterxml.jackson.databind.node.ObjectNode p =
        (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(cfg.toFile());
    p.putObject("size").put("height", 42).put("width", 42);
    p.put("do_center_crop", false);
    json.writeValue(cfg.toFile(), p);
    Path dst = dir.resolve("dst");
    PackRegrid.regrid(src, dst, 84, 2, 300);
    JsonNode q = json.readTree(dst.resolve("preprocessor_config.json").toFile());
    assertEquals(84, q.at("/size/height").asInt());
    assertEquals(84, q.at("/size/width").asInt());
    assertTrue(q.at("/size/shortest_edge").isMissingNode(), q.toString());
    assertEquals(false, q.get("do_center_crop").asBoolean());
    // and the pack opens with it (the processor reads the exact form)
    try (TrainablePack pack = TrainablePack.open(dst)) {
      assertEquals(84, pack.processor().cropWidth());
    }
  }

  @Test
  void rejectsSizesThatDoNotFitThePatchOrThePool(@TempDir Path dir) {
    Path src = dir.resolve("src");
    TinyPack.write(src, ProjectorComparisonTest.spec(), 3);
    assertThrows(
        IllegalArgumentException.class, () -> PackRegrid.regrid(src, dir.resolve("a"), 80, 2, 0));
    assertThrows(
        IllegalArgumentException.class, () -> PackRegrid.regrid(src, dir.resolve("b"), 84, 5, 0));
  }
}
