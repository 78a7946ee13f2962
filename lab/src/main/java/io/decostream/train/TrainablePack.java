package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.clip.ClipImageProcessor;
import io.decostream.nn.clip.ClipVisionTower;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoPack;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.projector.MlpProjector;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A {@code llava_next_video} pack opened for training: the pack as the one loader {@link
 * LlavaNextVideoPack} binds it for serving (the CLIP tower, the projector MLP, the decoder {@link
 * LlamaModel} whose batched forward trains), with gradients turned on for every tensor of its
 * checkpoint, so what is trained is what is served. {@link #save} writes the pack back (same names,
 * F32) with its config, tokenizer and processor files.
 */
final class TrainablePack implements AutoCloseable {

  private final LlavaNextVideoPack pack;
  private final Map<String, NDArray> params = new LinkedHashMap<>();

  private TrainablePack(Path source) {
    this.pack = LlavaNextVideoPack.open(source, LlavaNextVideo.Part.ALL);
    CheckpointWeights weights = pack.weights();
    for (String name : weights.tensors().names()) {
      // bind returns the very array a block holds: trainable = the same weights with gradients on
      NDArray p = weights.bind(name, weights.tensors().info(name).shape());
      p.setRequiresGradient(true);
      params.put(name, p);
    }
  }

  /** Opens {@code dir} (a llava_next_video pack) for training. */
  static TrainablePack open(Path dir) {
    return new TrainablePack(dir);
  }

  LlavaNextVideoConfig config() {
    return pack.config();
  }

  NDManager manager() {
    return pack.manager();
  }

  ClipVisionTower tower() {
    return pack.tower();
  }

  MlpProjector projector() {
    return pack.projector();
  }

  LlamaModel llm() {
    return pack.llm();
  }

  PackTokenizer tokenizer() {
    return pack.tokenizer();
  }

  ClipImageProcessor processor() {
    return pack.processor();
  }

  /** Every trainable tensor by HF name, in checkpoint order. */
  Map<String, NDArray> parameters() {
    return params;
  }

  /**
   * The language model's tensors (decoder, embeddings, norm, LM head): what the paper's stage 2
   * tunes.
   */
  Map<String, NDArray> languageModelParameters() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    params.forEach(
        (name, p) -> {
          if (name.startsWith(pack.keys().languageModelPrefix())
              || name.equals(pack.keys().lmHeadName())) {
            out.put(name, p);
          }
        });
    return out;
  }

  /** Whether a tensor belongs to the vision tower (neither the LLM's nor the projector's). */
  boolean isVision(String name) {
    return !name.startsWith(pack.keys().languageModelPrefix())
        && !name.equals(pack.keys().lmHeadName())
        && !name.startsWith(pack.keys().projectorPrefix());
  }

  /** Number of trainable scalars. */
  long parameterCount() {
    return params.values().stream().mapToLong(a -> a.getShape().size()).sum();
  }

  /**
   * Writes the pack to {@code dir}: the source's json files (config, tokenizer, generation and
   * processor configs) and {@code model.safetensors} with the current values (F32, same names and
   * order). The write goes to a temp file first, then is moved into place, so a crash never leaves
   * a half-written checkpoint.
   */
  void save(Path dir, Map<String, String> metadata) {
    try {
      Files.createDirectories(dir);
      if (!dir.toAbsolutePath().normalize().equals(pack.dir().toAbsolutePath().normalize())) {
        try (Stream<Path> files = Files.list(pack.dir())) {
          for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).toList()) {
            if (!f.getFileName().toString().equals("model.safetensors.index.json")
                && !f.getFileName().toString().equals("trainer_state.json")) {
              Files.copy(f, dir.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
          }
        }
      }
      SafeTensorsWriter w = new SafeTensorsWriter();
      for (Map.Entry<String, NDArray> e : params.entrySet()) {
        w.addF32(e.getKey(), e.getValue().getShape().getShape(), e.getValue().toFloatArray());
      }
      metadata.forEach(w::metadata);
      w.metadata("format", "pt");
      Path tmp = dir.resolve("model.safetensors.tmp");
      w.write(tmp);
      Files.move(
          tmp,
          dir.resolve("model.safetensors"),
          StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot save the pack to " + dir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    pack.close();
  }
}
