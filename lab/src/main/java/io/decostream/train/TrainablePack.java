package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.clip.ClipImageProcessor;
import io.decostream.nn.clip.ClipVisionTower;
import io.decostream.nn.config.LlavaNextVideoConfig;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.LlavaKeys;
import io.decostream.nn.weights.WeightBinder;
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
 * A {@code llava_next_video} pack opened for training: every tensor of its checkpoint becomes a
 * leaf NDArray that records gradients, bound by HF name into the very blocks inference uses (the
 * CLIP tower, the projector MLP, the decoder {@link LlamaModel} whose batched forward trains), so
 * what is trained is what the loader serves. {@link #save} writes the pack back (same names, F32)
 * with its config, tokenizer and processor files.
 */
final class TrainablePack implements AutoCloseable {

  private final Path source;
  private final LlavaNextVideoConfig config;
  private final NDManager manager;
  private final CheckpointWeights weights;
  private final ClipVisionTower tower;
  private final MlpProjector projector;
  private final LlamaModel llm;
  private final PackTokenizer tokenizer;
  private final ClipImageProcessor processor;
  private final Map<String, NDArray> params = new LinkedHashMap<>();
  private final LlavaKeys keys;

  private TrainablePack(Path source) {
    this.source = source;
    this.config = LlavaNextVideoConfig.read(source);
    this.manager = NDManager.newBaseManager();
    this.weights = CheckpointWeights.open(source, manager);
    this.keys = LlavaKeys.detect(weights);
    this.tower =
        new ClipVisionTower(
            weights.scoped(keys.visionPrefix()),
            config.visionConfig(),
            config.visionHiddenStateIndex(),
            true);
    WeightBinder proj = weights.scoped(keys.projectorPrefix());
    int dv = config.visionConfig().hiddenSize();
    int dt = config.textConfig().hiddenSize();
    this.projector =
        new MlpProjector(
            proj.bind("linear_1.weight", dt, dv),
            proj.bind("linear_1.bias", dt),
            proj.bind("linear_2.weight", dt, dt),
            proj.bind("linear_2.bias", dt));
    this.llm =
        new LlamaModel(
            config.textConfig(),
            weights.scoped(keys.languageModelPrefix()),
            keys.lmHeadTied() ? null : weights,
            keys.lmHeadName());
    weights.assertAllUsed();
    for (String name : weights.tensors().names()) {
      NDArray p = weights.bind(name, weights.tensors().info(name).shape());
      p.setRequiresGradient(true);
      params.put(name, p);
    }
    this.tokenizer = PackTokenizer.load(source);
    this.processor =
        Files.isRegularFile(source.resolve("preprocessor_config.json"))
            ? ClipImageProcessor.fromPreprocessorConfig(source)
            : ClipImageProcessor.square(config.visionConfig().imageSize());
  }

  /** Opens {@code dir} (a llava_next_video pack) for training. */
  static TrainablePack open(Path dir) {
    return new TrainablePack(dir);
  }

  LlavaNextVideoConfig config() {
    return config;
  }

  NDManager manager() {
    return manager;
  }

  ClipVisionTower tower() {
    return tower;
  }

  MlpProjector projector() {
    return projector;
  }

  LlamaModel llm() {
    return llm;
  }

  PackTokenizer tokenizer() {
    return tokenizer;
  }

  ClipImageProcessor processor() {
    return processor;
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
          if (name.startsWith(keys.languageModelPrefix()) || name.equals(keys.lmHeadName())) {
            out.put(name, p);
          }
        });
    return out;
  }

  /** Whether a tensor belongs to the vision tower (neither the LLM's nor the projector's). */
  boolean isVision(String name) {
    return !name.startsWith(keys.languageModelPrefix())
        && !name.equals(keys.lmHeadName())
        && !name.startsWith(keys.projectorPrefix());
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
      if (!dir.toAbsolutePath().normalize().equals(source.toAbsolutePath().normalize())) {
        try (Stream<Path> files = Files.list(source)) {
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
    tokenizer.close();
    llm.close();
    tower.close();
    weights.close();
    manager.close();
  }
}
