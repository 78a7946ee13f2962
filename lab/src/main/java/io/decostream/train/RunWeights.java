package io.decostream.train;

import ai.djl.ndarray.NDArray;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Map;

/**
 * The weights a comparison run trained (issue 23 point 2), kept so that the R-GAE analysis can be
 * made after training: {@code <run>/connector.safetensors} (the connector's own tensors by its
 * names) and {@code <run>/llm.safetensors} (the LLM the run tuned in stage 2, by the pack's HF
 * names). The vision tower is the base pack's, frozen in every run, so it is not copied.
 */
final class RunWeights {

  static final String CONNECTOR = "connector.safetensors";
  static final String LLM = "llm.safetensors";

  private RunWeights() {}

  /** Whether a run directory holds both files. */
  static boolean saved(Path run) {
    return Files.isRegularFile(run.resolve(CONNECTOR)) && Files.isRegularFile(run.resolve(LLM));
  }

  /** Writes both files (F32), each through a temp file so a crash leaves none half-written. */
  static void save(Path run, Map<String, NDArray> connector, Map<String, NDArray> llm) {
    write(run.resolve(CONNECTOR), connector);
    write(run.resolve(LLM), llm);
  }

  /**
   * Sets {@code connector} and {@code llm} (arrays built for the same variant and pack) to the
   * saved values; a missing, extra or misshaped tensor is an error naming it.
   */
  static void load(Path run, Map<String, NDArray> connector, Map<String, NDArray> llm) {
    if (!saved(run)) {
      throw new IllegalArgumentException(
          run
              + " holds no saved weights ("
              + CONNECTOR
              + ", "
              + LLM
              + "): the run finished before runs saved them; rerun it in a fresh directory");
    }
    read(run.resolve(CONNECTOR), connector);
    read(run.resolve(LLM), llm);
  }

  static void write(Path file, Map<String, NDArray> tensors) {
    SafeTensorsWriter w = new SafeTensorsWriter();
    tensors.forEach((n, a) -> w.addF32(n, a.getShape().getShape(), a.toFloatArray()));
    w.metadata("format", "pt");
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    w.write(tmp);
    try {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  static void read(Path file, Map<String, NDArray> into) {
    try (SafeTensors st = SafeTensors.open(file)) {
      if (!st.names().equals(into.keySet())) {
        throw new IllegalArgumentException(
            file + " holds " + st.names() + ", the model expects " + into.keySet());
      }
      for (Map.Entry<String, NDArray> e : into.entrySet()) {
        long[] want = e.getValue().getShape().getShape();
        if (!Arrays.equals(st.info(e.getKey()).shape(), want)) {
          throw new IllegalArgumentException(
              file + ": " + e.getKey() + " is not " + Arrays.toString(want));
        }
        e.getValue().set(st.readFloats(e.getKey()));
      }
    }
  }
}
