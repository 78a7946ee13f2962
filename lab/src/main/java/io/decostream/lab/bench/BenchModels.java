package io.decostream.lab.bench;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.Precision;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The one place the benchmark loads its Llama, at a weight precision (issue 20 points 2 and 3: the
 * fp32 decode and the 16-bit decode run the same code on the same random weights).
 */
public final class BenchModels {

  private BenchModels() {}

  /** A loaded model and the checkpoint it binds; closing releases both. */
  public record LoadedLlama(LlamaModel model, CheckpointWeights weights, Precision precision)
      implements AutoCloseable {
    @Override
    public void close() {
      try {
        model.close();
      } finally {
        weights.close();
      }
    }
  }

  /**
   * Loads the benchmark's Llama (HF names under {@code model.}, tied embeddings) from an F32
   * safetensors file, its weight matrices held at {@code precision}.
   */
  public static LoadedLlama loadLlama(
      Path file, LlamaConfig config, Precision precision, NDManager root) {
    Objects.requireNonNull(precision, "precision");
    CheckpointWeights w = CheckpointWeights.open(file, root);
    try {
      return new LoadedLlama(
          new LlamaModel(config, w.scoped("model."), null, null, precision), w, precision);
    } catch (RuntimeException e) {
      w.close();
      throw e;
    }
  }
}
