package io.decostream.cli;

import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.llava.DebugForward;
import io.decostream.nn.llava.DebugForwardModel;
import io.decostream.nn.llava.families.Families;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import io.decostream.nn.safetensors.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code deco model forward}: a debugging tool for comparing this implementation with another one
 * (HF transformers) tensor by tensor. Runs {@link DebugForwardModel#forwardDebug} (any supported
 * family) on processor outputs read from a safetensors file and writes every intermediate to
 * another.
 */
@Command(
    name = "forward",
    mixinStandardHelpOptions = true,
    description = {
      "Run a model pack (llava_next_video, llava or llava_onevision) on given inputs and write its intermediates "
          + "(for comparing with another implementation).",
      "Inputs (--inputs): pixel_values_videos F32 [1,F,3,S,S] (or, for llava, pixel_values [F,3,S,S]: one image "
          + "per frame), already normalised; input_ids I64 [1,T] with the placeholder already expanded: "
          + "llava_next_video F*M copies of video_token_index, llava F*N copies of image_token_index, "
          + "llava_onevision F*M+1 copies of video_token_index.",
      "Output (--out): F32 vision_features [F,N,Dv] (vision_feature_layer after the select strategy), "
          + "pooled_features and projected_features in the family's own order (llava_next_video: pool then "
          + "project, [F,M,Dv] and [F,M,Dt]; llava: no pooling, [F,N,Dv] and [F,N,Dt]; llava_onevision: project "
          + "then bilinear pool, [F,M,Dt] and [F,N,Dt]), logits [T,V] (every prompt position), and I64 greedy_ids "
          + "[K'] (new tokens only, greedy; K' = K unless an EOS id is generated first, which is kept as the last "
          + "id and ends generation, as HF generate does)."
    })
final class ModelForwardCommand implements Callable<Integer> {

  @Option(
      names = "--model",
      required = true,
      description = "Model pack directory (config.json, *.safetensors, " + "tokenizer.json).")
  Path model;

  @Option(names = "--inputs", required = true, description = "Input safetensors file.")
  Path inputs;

  @Option(names = "--out", required = true, description = "Output safetensors file.")
  Path out;

  @Option(
      names = "--grounding",
      description =
          "Also write R-GAE maps of the greedy tokens: F32 text_to_query "
              + "[K, F*M] (each token's raw row over the visual positions in sequence order) and text_to_patch [K, F, N] "
              + "(through the family's Query-to-Patch matrices, row-major patch grid).")
  boolean grounding;

  @Option(
      names = "--new-tokens",
      defaultValue = "12",
      description = "Greedy tokens to generate, K (default ${DEFAULT-VALUE}).")
  int newTokens;

  @Override
  public Integer call() {
    if (newTokens < 0) {
      throw new IllegalArgumentException("--new-tokens must be >= 0, got " + newTokens);
    }
    ModelFamily family = ModelFamily.detect(model);
    if (!Files.isRegularFile(inputs)) {
      throw new IllegalArgumentException("--inputs " + inputs + " is not a file");
    }
    Inputs in = readInputs(family);
    DebugForward r = forward(in);
    write(r);
    System.out.printf(
        "wrote %s (%s): %d frames, vision %s -> pooled %s, projected %s, T=%d, V=%d, greedy_ids %s%n",
        out,
        r.family(),
        r.frames(),
        Arrays.toString(r.visionShape()),
        Arrays.toString(r.pooledShape()),
        Arrays.toString(r.projectedShape()),
        r.seqLen(),
        r.vocab(),
        Arrays.toString(r.greedyIds()));
    return 0;
  }

  /** The processor outputs of --inputs: normalised frames, their count, and the prompt's ids. */
  private record Inputs(float[] pixels, int frames, int[] ids) {}

  /**
   * Reads and checks --inputs against the command's contract: pixel_values_videos [1,F,3,S,S]
   * (pixel_values [F,3,S,S] for llava's one image per frame) as F32, and input_ids [1,T] as I64.
   */
  private Inputs readInputs(ModelFamily family) {
    try (SafeTensors in = SafeTensors.open(inputs)) {
      String pxName =
          in.contains("pixel_values_videos") || family != ModelFamily.LLAVA
              ? "pixel_values_videos"
              : "pixel_values";
      TensorInfo px = require(in, pxName);
      long[] ps = px.shape();
      boolean images = pxName.equals("pixel_values");
      checkPixels(px, pxName, images);
      TensorInfo ii = require(in, "input_ids");
      long[] is = ii.shape();
      if (is.length != 2 || is[0] != 1 || is[1] < 1) {
        throw new IllegalArgumentException(
            "input_ids must be [1, T] with T >= 1, got " + Arrays.toString(is));
      }
      if (!ii.dtype().isReadableAsLong()) {
        throw new IllegalArgumentException("input_ids must be I64, got " + ii.dtype());
      }
      int frames = Math.toIntExact(images ? ps[0] : ps[1]);
      float[] pixels = in.readFloats(pxName);
      return new Inputs(pixels, frames, tokenIds(in.readLongs("input_ids")));
    }
  }

  /** The pixel tensor is batch 1 of square F32 frames, in the layout of its name. */
  private static void checkPixels(TensorInfo px, String pxName, boolean images) {
    long[] ps = px.shape();
    long[] frameShape =
        images
            ? (ps.length == 4 ? Arrays.copyOfRange(ps, 1, 4) : null)
            : (ps.length == 5 && ps[0] == 1 ? Arrays.copyOfRange(ps, 2, 5) : null);
    if (frameShape == null || frameShape[1] != frameShape[2]) {
      throw new IllegalArgumentException(
          pxName
              + " must be "
              + (images ? "[F, 3, S, S]" : "[1, F, 3, S, S]")
              + " (batch 1, square frames), got "
              + Arrays.toString(ps));
    }
    if (!px.dtype().isReadableAsFloat()) {
      throw new IllegalArgumentException(pxName + " must be F32, got " + px.dtype());
    }
  }

  /** input_ids as the int token ids the model takes; a negative or too large id is refused. */
  private static int[] tokenIds(long[] raw) {
    int[] ids = new int[raw.length];
    for (int i = 0; i < raw.length; i++) {
      if (raw[i] < 0 || raw[i] > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "input_ids[" + i + "] = " + raw[i] + " is not a valid token id");
      }
      ids[i] = (int) raw[i];
    }
    return ids;
  }

  /**
   * Loads the pack and runs the debug forward, once the frames are known to match the vision
   * tower's image size (the command does not resize).
   */
  private DebugForward forward(Inputs in) {
    try (DebugForwardModel m = Families.load(model)) {
      int size = m.imageSize();
      if (in.pixels().length != (long) in.frames() * m.imageChannels() * size * size) {
        throw new IllegalArgumentException(
            "the frames are not "
                + m.imageChannels()
                + "x"
                + size
                + "x"
                + size
                + " (the vision tower's image_size); resize and normalise them first");
      }
      return m.forwardDebug(in.pixels(), in.frames(), in.ids(), newTokens, grounding);
    }
  }

  /**
   * Writes the intermediates named in the command's description to --out, with the R-GAE maps when
   * --grounding asked for them.
   */
  private void write(DebugForward r) {
    long[] greedy = Arrays.stream(r.greedyIds()).asLongStream().toArray();
    SafeTensorsWriter w =
        new SafeTensorsWriter()
            .addF32("vision_features", r.visionShape(), r.visionFeatures())
            .addF32("pooled_features", r.pooledShape(), r.pooledFeatures())
            .addF32("projected_features", r.projectedShape(), r.projectedFeatures())
            .addF32("logits", new long[] {r.seqLen(), r.vocab()}, r.logits())
            .addI64("greedy_ids", new long[] {greedy.length}, greedy)
            .metadata("model", model.toString())
            .metadata("grounding", Boolean.toString(grounding))
            .metadata("family", r.family())
            .metadata("new_tokens", Integer.toString(newTokens));
    if (grounding && r.textToQuery() != null) {
      int k = r.greedyIds().length;
      long visual = k == 0 ? 0 : r.textToQuery().length / k;
      long n = k == 0 ? 0 : r.textToPatch().length / ((long) k * r.frames());
      w.addF32("text_to_query", new long[] {k, visual}, r.textToQuery())
          .addF32("text_to_patch", new long[] {k, r.frames(), n}, r.textToPatch());
    }
    try {
      Path parent = out.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the directory of " + out, e);
    }
    w.write(out);
  }

  private static TensorInfo require(SafeTensors in, String name) {
    if (!in.contains(name)) {
      throw new IllegalArgumentException(
          "--inputs has no tensor '" + name + "' (has " + in.names() + ")");
    }
    return in.info(name);
  }
}
