package io.decostream.nn.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.safetensors.DType;
import io.decostream.nn.safetensors.HalfFloats;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointWeightsTest {

  @TempDir Path tmp;

  private Path checkpoint() {
    Path f = tmp.resolve("model.safetensors");
    new SafeTensorsWriter()
        .addF32("enc.layers.0.fc.weight", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6})
        .add("enc.layers.0.fc.bias", DType.BF16, new long[] {2}, new float[] {0.1f, -0.2f})
        .add("enc.layers.1.fc.weight", DType.F16, new long[] {2, 3}, new float[] {1, 1, 1, 1, 1, 1})
        .addF32("enc.post.weight", new long[] {3}, new float[] {1, 1, 1})
        .addF32("head.weight", new long[] {1}, new float[] {9})
        .write(f);
    return f;
  }

  @Test
  void bindsWidensScopesAndTracksUse() {
    try (NDManager m = NDManager.newBaseManager();
        CheckpointWeights w = CheckpointWeights.open(checkpoint(), m)) {
      WeightBinder enc = w.scoped("enc");
      assertEquals("enc.", enc.prefix());
      WeightBinder l0 = enc.scoped("layers.0.");
      assertEquals("enc.layers.0.", l0.prefix());
      NDArray fc = l0.bind("fc.weight", 2, 3);
      assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, fc.toFloatArray());
      assertSame(fc, l0.bind("fc.weight", 2, 3), "held once");
      NDArray b = l0.bind("fc.bias", 2);
      assertEquals(ai.djl.ndarray.types.DataType.FLOAT32, b.getDataType());
      assertArrayEquals(
          new float[] {
            HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(0.1f)),
            HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(-0.2f))
          },
          b.toFloatArray());
      assertTrue(enc.has("post.weight"));
      assertFalse(enc.has("post.bias"));
      l0.assertAllUsed(); // everything under enc.layers.0. is bound

      WeightException unused = assertThrows(WeightException.class, enc::assertAllUsed);
      assertTrue(unused.getMessage().contains("enc.layers.1.fc.weight"), unused.getMessage());
      assertTrue(unused.getMessage().contains("enc.post.weight"), unused.getMessage());
      assertFalse(
          unused.getMessage().contains("head.weight"), "names outside the prefix are not listed");
      assertEquals(
          List.of("enc.layers.1.fc.weight", "enc.post.weight"),
          ((CheckpointWeights) enc).unusedNames());

      enc.bind("layers.1.fc.weight", 2, 3);
      enc.bind("post.weight", 3);
      enc.assertAllUsed();
      assertThrows(
          WeightException.class, w::assertAllUsed); // head.weight is still unused at the root
    }
  }

  @Test
  void missingAndMisshapedWeightsFailWithTheirNames() {
    try (NDManager m = NDManager.newBaseManager();
        CheckpointWeights w = CheckpointWeights.open(checkpoint(), m)) {
      WeightBinder l0 = w.scoped("enc.layers.0");
      WeightException missing =
          assertThrows(WeightException.class, () -> l0.bind("fc2.weight", 4, 3));
      assertTrue(missing.getMessage().contains("enc.layers.0.fc2.weight"), missing.getMessage());
      assertTrue(missing.getMessage().contains("[4, 3]"), missing.getMessage());
      WeightException shape = assertThrows(WeightException.class, () -> l0.bind("fc.weight", 3, 2));
      assertTrue(shape.getMessage().contains("enc.layers.0.fc.weight"), shape.getMessage());
      assertTrue(
          shape.getMessage().contains("[2, 3]") && shape.getMessage().contains("[3, 2]"),
          shape.getMessage());
      // a later bind with another shape of an already bound weight also fails
      l0.bind("fc.weight", 2, 3);
      assertThrows(WeightException.class, () -> l0.bind("fc.weight", 6));
    }
  }

  @Test
  void closeReleasesBoundArrays() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray a;
      try (CheckpointWeights w = CheckpointWeights.open(checkpoint(), m)) {
        a = w.bind("head.weight", 1);
        w.scoped("enc").close(); // closing a view does not release the root
        assertFalse(a.isReleased());
      }
      assertTrue(a.isReleased());
    }
  }

  private static List<String> llavaNames(boolean newLayout, boolean withHead) {
    String v = newLayout ? "model.vision_tower.vision_model." : "vision_tower.vision_model.";
    String p = newLayout ? "model.multi_modal_projector." : "multi_modal_projector.";
    String l = newLayout ? "model.language_model." : "language_model.model.";
    String h = newLayout ? "lm_head.weight" : "language_model.lm_head.weight";
    List<String> base =
        List.of(
            v + "embeddings.class_embedding",
            v + "post_layernorm.weight",
            p + "linear_1.weight",
            l + "embed_tokens.weight",
            l + "layers.0.self_attn.q_proj.weight",
            l + "norm.weight");
    return withHead
        ? java.util.stream.Stream.concat(base.stream(), java.util.stream.Stream.of(h)).toList()
        : base;
  }

  @Test
  void bothLlavaLayoutsResolve() {
    LlavaKeys old = LlavaKeys.detect(llavaNames(false, true));
    assertEquals(LlavaKeys.Layout.OLD, old.layout());
    assertEquals("vision_tower.vision_model.", old.visionPrefix());
    assertEquals("vision_tower.", old.visionTowerPrefix());
    assertEquals("multi_modal_projector.", old.projectorPrefix());
    assertEquals("language_model.model.", old.languageModelPrefix());
    assertEquals("language_model.lm_head.weight", old.lmHeadName());
    assertFalse(old.lmHeadTied());

    LlavaKeys neu = LlavaKeys.detect(llavaNames(true, true));
    assertEquals(LlavaKeys.Layout.NEW, neu.layout());
    assertEquals("model.vision_tower.vision_model.", neu.visionPrefix());
    assertEquals("model.multi_modal_projector.", neu.projectorPrefix());
    assertEquals("model.language_model.", neu.languageModelPrefix());
    assertEquals("lm_head.weight", neu.lmHeadName());

    LlavaKeys tied = LlavaKeys.detect(llavaNames(true, false));
    assertTrue(tied.lmHeadTied());
    assertEquals("model.language_model.embed_tokens.weight", tied.lmHeadName());

    WeightException none =
        assertThrows(WeightException.class, () -> LlavaKeys.detect(List.of("foo.weight")));
    assertTrue(none.getMessage().contains("foo.weight"));
    assertThrows(
        WeightException.class,
        () ->
            LlavaKeys.detect(
                List.of("vision_tower.vision_model.a", "model.vision_tower.vision_model.a")));
  }
}
