package io.decostream.nn.llava;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.clip.ClipImageProcessor;
import io.decostream.nn.clip.ClipVisionTower;
import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.LlavaKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * How every LLaVA family opens its pack: the directory check, config.json read by the family's
 * config record, a manager that owns the weights, the checkpoint and its key layout ({@link
 * LlavaKeys}), then the family's own binding (its tower, {@link LanguageParts}, extras); whatever
 * was opened is closed again when a step fails. Also the checks and parts the families share.
 *
 * <p>Part of the families' shared base: public for the family packages ({@code
 * io.decostream.nn.llava.nextvideo}, {@code .onevision}, {@code .llava15}), not an API for other
 * modules.
 */
public final class PackOpening {

  private PackOpening() {}

  /** A pack's checkpoint, open: what a family binds its parts from. */
  public record Opened(Path dir, NDManager manager, CheckpointWeights weights, LlavaKeys keys) {}

  /** A family's binding of its parts. */
  @FunctionalInterface
  public interface Binder<C, T> {
    /**
     * Binds the parts of {@code pack}; every resource it opens goes to the front of {@code opened},
     * which is closed if this throws.
     */
    T bind(C config, Opened pack, List<AutoCloseable> opened);
  }

  /**
   * Opens {@code dir}: reads its config with {@code readConfig}, opens the checkpoint and hands
   * both to {@code binder}.
   *
   * @throws IllegalArgumentException if {@code dir} is not a directory or its config is unreadable
   */
  public static <C, T> T open(Path dir, Function<Path, C> readConfig, Binder<C, T> binder) {
    Objects.requireNonNull(dir, "packDir");
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("model pack " + dir + " is not a directory");
    }
    C config = readConfig.apply(dir);
    NDManager manager = NDManager.newBaseManager();
    List<AutoCloseable> opened = new ArrayList<>();
    opened.add(manager);
    try {
      CheckpointWeights weights = CheckpointWeights.open(dir, manager);
      opened.add(0, weights);
      return binder.bind(
          config, new Opened(dir, manager, weights, LlavaKeys.detect(weights)), opened);
    } catch (RuntimeException e) {
      LanguageParts.closeAll(opened, e);
      throw e;
    }
  }

  /** The CLIP side of the CLIP families (spec §1.2–§1.3): tower and processor. */
  public record Clip(ClipVisionTower tower, ClipImageProcessor processor) {}

  /**
   * Binds the CLIP tower up to hidden state {@code hiddenIndex} (layers above it are bound but
   * never run; the tower's tree must be used completely) and reads the processor
   * (preprocessor_config.json when present, else a square resize to the tower's size).
   */
  public static Clip clip(
      Opened pack,
      ClipVisionConfig vision,
      int hiddenIndex,
      boolean dropCls,
      List<AutoCloseable> opened) {
    ClipVisionTower tower =
        new ClipVisionTower(
            pack.weights().scoped(pack.keys().visionPrefix()), vision, hiddenIndex, dropCls);
    opened.add(0, tower);
    pack.weights().scoped(pack.keys().visionTowerPrefix()).assertAllUsed();
    int size = vision.imageSize();
    ClipImageProcessor processor =
        Files.isRegularFile(pack.dir().resolve("preprocessor_config.json"))
            ? ClipImageProcessor.fromPreprocessorConfig(pack.dir())
            : ClipImageProcessor.square(size);
    checkImageSize("crops", processor.cropWidth(), processor.cropHeight(), size);
    return new Clip(tower, processor);
  }

  /** The processor's output must be the tower's input size. */
  public static void checkImageSize(String verb, int width, int height, int size) {
    if (height != size || width != size) {
      throw new IllegalArgumentException(
          "preprocessor_config.json "
              + verb
              + " to "
              + width
              + "x"
              + height
              + " but the vision tower takes "
              + size
              + "x"
              + size);
    }
  }
}
