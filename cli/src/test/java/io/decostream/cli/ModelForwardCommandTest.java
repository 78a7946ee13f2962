package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * {@code deco model forward} on the end-to-end golden fixture of the nn module ({@code
 * nn/src/test/resources/golden/llava_next_video}, made by plain PyTorch, spec §1.3, §3.1, §3.3,
 * §4): the written file must hold the reference's tensors (max |diff| / max |ref| <= 1e-4) and the
 * same greedy ids.
 */
class ModelForwardCommandTest {

  /**
   * The fixture lives in the nn module's test resources; Surefire runs with the cli module as
   * working dir.
   */
  static final Path GOLDEN = Path.of("../nn/src/test/resources/golden/llava_next_video");

  static double relErr(float[] actual, float[] expected) {
    assertEquals(expected.length, actual.length, "element count");
    double maxDiff = 0;
    double maxRef = 0;
    for (int i = 0; i < expected.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((double) actual[i] - expected[i]));
      maxRef = Math.max(maxRef, Math.abs(expected[i]));
    }
    return maxDiff / maxRef;
  }

  @ParameterizedTest
  @ValueSource(strings = {"f32", "sharded"})
  void writesTheReferenceTensors(String variant, @TempDir Path tmp) {
    assertTrue(Files.isDirectory(GOLDEN), "golden fixture missing at " + GOLDEN.toAbsolutePath());
    Path out = tmp.resolve("sub/out.safetensors");
    int rc =
        new CommandLine(new ModelForwardCommand())
            .execute(
                "--model",
                GOLDEN.resolve(variant).toString(),
                "--inputs",
                GOLDEN.resolve("inputs.safetensors").toString(),
                "--out",
                out.toString());
    assertEquals(0, rc);
    try (SafeTensors got = SafeTensors.open(out);
        SafeTensors exp =
            SafeTensors.open(GOLDEN.resolve(variant).resolve("expected.safetensors"))) {
      for (String name :
          new String[] {"vision_features", "pooled_features", "projected_features", "logits"}) {
        assertArrayEquals(exp.info(name).shape(), got.info(name).shape(), name + " shape");
        assertEquals("F32", got.info(name).dtype().name(), name + " dtype");
        double err = relErr(got.readFloats(name), exp.readFloats(name));
        assertTrue(err <= 1e-4, name + " relative error " + err);
      }
      assertEquals("I64", got.info("greedy_ids").dtype().name());
      assertArrayEquals(exp.readLongs("greedy_ids"), got.readLongs("greedy_ids"));
    }
  }

  /**
   * The other two families, packs written by plain PyTorch in the HF layouts (nn
   * golden/llava_families).
   */
  @ParameterizedTest
  @ValueSource(strings = {"llava_15", "llava_onevision"})
  void writesTheReferenceTensorsForTheOtherFamilies(String pack, @TempDir Path tmp) {
    Path dir = Path.of("../nn/src/test/resources/golden/llava_families").resolve(pack);
    Path out = tmp.resolve("out.safetensors");
    int rc =
        new CommandLine(new ModelForwardCommand())
            .execute(
                "--model",
                dir.toString(),
                "--inputs",
                dir.resolve("inputs.safetensors").toString(),
                "--out",
                out.toString());
    assertEquals(0, rc);
    try (SafeTensors got = SafeTensors.open(out);
        SafeTensors exp = SafeTensors.open(dir.resolve("expected.safetensors"))) {
      for (String name :
          new String[] {"vision_features", "pooled_features", "projected_features", "logits"}) {
        assertArrayEquals(exp.info(name).shape(), got.info(name).shape(), name + " shape");
        double err = relErr(got.readFloats(name), exp.readFloats(name));
        assertTrue(err <= 1e-4, pack + " " + name + " relative error " + err);
      }
      assertArrayEquals(exp.readLongs("greedy_ids"), got.readLongs("greedy_ids"));
      assertEquals(
          pack.equals("llava_15") ? "llava" : "llava_onevision", got.metadata().get("family"));
    }
  }

  /**
   * --grounding writes the R-GAE maps; they equal the nn module's retain_grad reference
   * (golden/rgae, avg).
   */
  @Test
  void groundingWritesTextToQueryAndTextToPatch(@TempDir Path tmp) {
    Path rgae = Path.of("../nn/src/test/resources/golden/rgae/rgae.safetensors");
    Path inputs = tmp.resolve("in.safetensors");
    int k;
    try (SafeTensors ref = SafeTensors.open(rgae)) {
      long[] ids = ref.readLongs("input_ids");
      long[] expanded =
          Arrays.stream(ids)
              .flatMap(
                  id ->
                      id == 55
                          ? java.util.stream.LongStream.of(55, 55, 55, 55, 55, 55, 55, 55)
                          : java.util.stream.LongStream.of(id))
              .toArray();
      new SafeTensorsWriter()
          .addF32("pixel_values_videos", new long[] {1, 2, 3, 28, 28}, ref.readFloats("pixels"))
          .addI64("input_ids", new long[] {1, expanded.length}, expanded)
          .write(inputs);
      k = (int) ref.info("avg/greedy_ids").shape()[0];
    }
    Path out = tmp.resolve("out.safetensors");
    int rc =
        new CommandLine(new ModelForwardCommand())
            .execute(
                "--model",
                GOLDEN.resolve("f32").toString(),
                "--inputs",
                inputs.toString(),
                "--out",
                out.toString(),
                "--new-tokens",
                Integer.toString(k),
                "--grounding");
    assertEquals(0, rc);
    try (SafeTensors got = SafeTensors.open(out);
        SafeTensors ref = SafeTensors.open(rgae)) {
      assertArrayEquals(new long[] {k, 8}, got.info("text_to_query").shape());
      assertArrayEquals(new long[] {k, 2, 16}, got.info("text_to_patch").shape());
      assertTrue(
          relErr(got.readFloats("text_to_query"), ref.readFloats("avg/text_to_query")) <= 1e-4);
      assertTrue(
          relErr(got.readFloats("text_to_patch"), ref.readFloats("avg/text_to_patch")) <= 1e-4);
    }
  }

  @Test
  void newTokensOptionLimitsTheGreedyIds(@TempDir Path tmp) {
    Path out = tmp.resolve("out.safetensors");
    int rc =
        new CommandLine(new ModelForwardCommand())
            .execute(
                "--model",
                GOLDEN.resolve("bf16").toString(),
                "--inputs",
                GOLDEN.resolve("inputs.safetensors").toString(),
                "--out",
                out.toString(),
                "--new-tokens",
                "2");
    assertEquals(0, rc);
    try (SafeTensors got = SafeTensors.open(out);
        SafeTensors exp = SafeTensors.open(GOLDEN.resolve("bf16/expected.safetensors"))) {
      assertArrayEquals(Arrays.copyOf(exp.readLongs("greedy_ids"), 2), got.readLongs("greedy_ids"));
    }
  }

  /**
   * Parses args into a command and runs call() directly, so the exception (and its message) is
   * visible.
   */
  static IllegalArgumentException failure(String... args) {
    ModelForwardCommand c = new ModelForwardCommand();
    new CommandLine(c).parseArgs(args);
    return assertThrows(IllegalArgumentException.class, c::call);
  }

  @Test
  void rejectsAnUnknownModelFamily(@TempDir Path tmp) throws Exception {
    String cfg =
        Files.readString(GOLDEN.resolve("f32/config.json"))
            .replace("\"model_type\": \"llava_next_video\"", "\"model_type\": \"qwen2_vl\"");
    assertTrue(cfg.contains("qwen2_vl"));
    Files.writeString(tmp.resolve("config.json"), cfg);
    IllegalArgumentException e =
        failure(
            "--model",
            tmp.toString(),
            "--inputs",
            GOLDEN.resolve("inputs.safetensors").toString(),
            "--out",
            tmp.resolve("o.safetensors").toString());
    assertTrue(e.getMessage().contains("unsupported model family 'qwen2_vl'"), e.getMessage());
  }

  @Test
  void rejectsWrongShapesAndPlaceholderCounts(@TempDir Path tmp) {
    float[] pixels;
    long[] ids;
    try (SafeTensors in = SafeTensors.open(GOLDEN.resolve("inputs.safetensors"))) {
      pixels = in.readFloats("pixel_values_videos");
      ids = in.readLongs("input_ids");
    }
    String model = GOLDEN.resolve("f32").toString();
    String out = tmp.resolve("o.safetensors").toString();
    // input_ids without the batch dimension
    Path rank1 = tmp.resolve("rank1.safetensors");
    new SafeTensorsWriter()
        .addF32("pixel_values_videos", new long[] {1, 2, 3, 28, 28}, pixels)
        .addI64("input_ids", new long[] {ids.length}, ids)
        .write(rank1);
    IllegalArgumentException e =
        failure("--model", model, "--inputs", rank1.toString(), "--out", out);
    assertTrue(e.getMessage().contains("input_ids must be [1, T]"), e.getMessage());
    // pixels without the batch dimension
    Path px4 = tmp.resolve("px4.safetensors");
    new SafeTensorsWriter()
        .addF32("pixel_values_videos", new long[] {2, 3, 28, 28}, pixels)
        .addI64("input_ids", new long[] {1, ids.length}, ids)
        .write(px4);
    e = failure("--model", model, "--inputs", px4.toString(), "--out", out);
    assertTrue(
        e.getMessage().contains("pixel_values_videos must be [1, F, 3, S, S]"), e.getMessage());
    // a missing tensor
    Path noIds = tmp.resolve("noids.safetensors");
    new SafeTensorsWriter()
        .addF32("pixel_values_videos", new long[] {1, 2, 3, 28, 28}, pixels)
        .write(noIds);
    e = failure("--model", model, "--inputs", noIds.toString(), "--out", out);
    assertTrue(e.getMessage().contains("no tensor 'input_ids'"), e.getMessage());
    // one frame only: the 8 placeholders no longer match 1 frame x 4 pooled tokens
    Path oneFrame = tmp.resolve("oneframe.safetensors");
    new SafeTensorsWriter()
        .addF32(
            "pixel_values_videos",
            new long[] {1, 1, 3, 28, 28},
            Arrays.copyOf(pixels, pixels.length / 2))
        .addI64("input_ids", new long[] {1, ids.length}, ids)
        .write(oneFrame);
    e = failure("--model", model, "--inputs", oneFrame.toString(), "--out", out);
    assertTrue(
        e.getMessage().contains("8 placeholders") && e.getMessage().contains("need 4"),
        e.getMessage());
    // frames of the wrong size for the tower
    Path small = tmp.resolve("small.safetensors");
    new SafeTensorsWriter()
        .addF32(
            "pixel_values_videos",
            new long[] {1, 2, 3, 14, 14},
            Arrays.copyOf(pixels, 2 * 3 * 14 * 14))
        .addI64("input_ids", new long[] {1, ids.length}, ids)
        .write(small);
    e = failure("--model", model, "--inputs", small.toString(), "--out", out);
    assertTrue(e.getMessage().contains("not 3x28x28"), e.getMessage());
  }
}
