package io.decostream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.config.LlavaNextVideoConfig;
import io.decostream.nn.llava.DebugForward;
import io.decostream.nn.llava.LlavaNextVideo;
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
 * {@code deco model forward}: a debugging tool for comparing this implementation with another one (HF
 * transformers) tensor by tensor. Runs {@link LlavaNextVideo#forwardDebug} on processor outputs read from a
 * safetensors file and writes every intermediate to another.
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
    description = {
        "Run a llava_next_video model pack on given inputs and write its intermediates (for comparing with another "
            + "implementation).",
        "Inputs (--inputs): pixel_values_videos F32 [1,F,3,S,S] (already normalised) and input_ids I64 [1,T] "
            + "(the <video> token already expanded to F*M copies of video_token_index).",
        "Output (--out): F32 vision_features [F,N,Dv] (CLIP vision_feature_layer, CLS dropped), pooled_features "
            + "[F,M,Dv] (spatial_pool_mode/stride pooling, before the projector), projected_features [F,M,Dt], "
            + "logits [T,V] (every prompt position), and I64 greedy_ids [K'] (new tokens only, greedy; K' = K "
            + "unless an EOS id is generated first, which is kept as the last id and ends generation, as HF "
            + "generate does)."})
final class ModelForwardCommand implements Callable<Integer> {

  @Option(names = "--model", required = true, description = "Model pack directory (config.json, *.safetensors, "
      + "tokenizer.json).")
  Path model;

  @Option(names = "--inputs", required = true, description = "Input safetensors file.")
  Path inputs;

  @Option(names = "--out", required = true, description = "Output safetensors file.")
  Path out;

  @Option(names = "--new-tokens", defaultValue = "12",
      description = "Greedy tokens to generate, K (default ${DEFAULT-VALUE}).")
  int newTokens;

  @Override
  public Integer call() {
    if (newTokens < 0) {
      throw new IllegalArgumentException("--new-tokens must be >= 0, got " + newTokens);
    }
    checkFamily(model);
    float[] pixels;
    int frames;
    int[] ids;
    if (!Files.isRegularFile(inputs)) {
      throw new IllegalArgumentException("--inputs " + inputs + " is not a file");
    }
    try (SafeTensors in = SafeTensors.open(inputs)) {
      TensorInfo px = require(in, "pixel_values_videos");
      long[] ps = px.shape();
      if (ps.length != 5 || ps[0] != 1 || ps[2] != 3 || ps[3] != ps[4]) {
        throw new IllegalArgumentException("pixel_values_videos must be [1, F, 3, S, S] (batch 1, square frames), got "
            + Arrays.toString(ps));
      }
      if (!px.dtype().isReadableAsFloat()) {
        throw new IllegalArgumentException("pixel_values_videos must be F32, got " + px.dtype());
      }
      TensorInfo ii = require(in, "input_ids");
      long[] is = ii.shape();
      if (is.length != 2 || is[0] != 1 || is[1] < 1) {
        throw new IllegalArgumentException("input_ids must be [1, T] with T >= 1, got " + Arrays.toString(is));
      }
      if (!ii.dtype().isReadableAsLong()) {
        throw new IllegalArgumentException("input_ids must be I64, got " + ii.dtype());
      }
      frames = Math.toIntExact(ps[1]);
      pixels = in.readFloats("pixel_values_videos");
      long[] raw = in.readLongs("input_ids");
      ids = new int[raw.length];
      for (int i = 0; i < raw.length; i++) {
        if (raw[i] < 0 || raw[i] > Integer.MAX_VALUE) {
          throw new IllegalArgumentException("input_ids[" + i + "] = " + raw[i] + " is not a valid token id");
        }
        ids[i] = (int) raw[i];
      }
    }
    DebugForward r;
    try (LlavaNextVideo m = LlavaNextVideo.load(model, LlavaNextVideo.Part.ALL)) {
      int size = m.config().visionConfig().imageSize();
      if (pixels.length != (long) frames * 3 * size * size) {
        throw new IllegalArgumentException("pixel_values_videos frames are not " + size + "x" + size
            + " (the vision tower's image_size); resize and normalise them first");
      }
      r = m.forwardDebug(pixels, frames, ids, newTokens);
    }
    long[] greedy = Arrays.stream(r.greedyIds()).asLongStream().toArray();
    SafeTensorsWriter w = new SafeTensorsWriter()
        .addF32("vision_features", new long[] {r.frames(), r.visionTokens(), r.visionDim()}, r.visionFeatures())
        .addF32("pooled_features", new long[] {r.frames(), r.pooledTokens(), r.visionDim()}, r.pooledFeatures())
        .addF32("projected_features", new long[] {r.frames(), r.pooledTokens(), r.textDim()}, r.projectedFeatures())
        .addF32("logits", new long[] {r.seqLen(), r.vocab()}, r.logits())
        .addI64("greedy_ids", new long[] {greedy.length}, greedy)
        .metadata("model", model.toString())
        .metadata("new_tokens", Integer.toString(newTokens));
    try {
      Path parent = out.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the directory of " + out, e);
    }
    w.write(out);
    System.out.printf("wrote %s: %d frames x %d -> %d tokens, T=%d, V=%d, greedy_ids %s%n", out, r.frames(),
        r.visionTokens(), r.pooledTokens(), r.seqLen(), r.vocab(), Arrays.toString(r.greedyIds()));
    return 0;
  }

  /** Only llava_next_video packs are supported: say so plainly for any other config.json model_type. */
  static void checkFamily(Path dir) {
    Path cfg = dir.resolve("config.json");
    if (!Files.isRegularFile(cfg)) {
      throw new IllegalArgumentException("--model " + dir + " has no config.json");
    }
    JsonNode type;
    try {
      type = new ObjectMapper().readTree(cfg.toFile()).path("model_type");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + cfg + ": " + e.getMessage(), e);
    }
    if (!LlavaNextVideoConfig.MODEL_TYPE.equals(type.asText(null))) {
      throw new IllegalArgumentException("unsupported model family '" + (type.isMissingNode() ? "" : type.asText())
          + "' (config.json model_type); `deco model forward` supports " + LlavaNextVideoConfig.MODEL_TYPE);
    }
  }

  private static TensorInfo require(SafeTensors in, String name) {
    if (!in.contains(name)) {
      throw new IllegalArgumentException("--inputs has no tensor '" + name + "' (has " + in.names() + ")");
    }
    return in.info(name);
  }
}
