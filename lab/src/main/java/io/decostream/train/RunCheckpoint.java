package io.decostream.train;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A stage-2 checkpoint of one comparison run (issue 23 point 1: "runs resume after interruption"),
 * so a run of an hour loses at most one check interval when a session ends. It lives in {@code
 * <run>/resume-<step>/}: every trained tensor ({@value #PARAMS}), the optimizer's moments ({@value
 * #ADAM}) and {@value #STATE} (the step, the curves so far, the time spent). The state file is
 * written last, so a directory without it is an unfinished checkpoint and ignored; older
 * checkpoints are removed only after a newer one is complete.
 */
final class RunCheckpoint {

  static final String PARAMS = "params.safetensors";
  static final String ADAM = "adam.safetensors";
  static final String STATE = "state.json";
  private static final String PREFIX = "resume-";
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What a checkpoint holds besides its tensors.
   *
   * @param settings the run's settings as {@link ProjectorComparison} keys them: a checkpoint of
   *     other settings is not resumed
   * @param step the last stage-2 step done
   * @param ema the loss EMA at that step
   * @param seconds training time so far (stage 2, checks excluded)
   * @param done stage-2 steps that updated the weights (skipped batches excluded)
   * @param curve the loss curve so far
   * @param accuracy the accuracy checks so far
   */
  record State(
      String settings,
      int step,
      double ema,
      double seconds,
      int done,
      List<double[]> curve,
      List<double[]> accuracy) {}

  /** A complete checkpoint found on disk. */
  record Found(Path dir, State state) {}

  private RunCheckpoint() {}

  /**
   * Writes the checkpoint of {@code state.step()}, then removes every older one.
   *
   * @param params every tensor stage 2 trains, by name
   */
  static void save(Path run, State state, Map<String, NDArray> params, AdamW opt) {
    Path dir = run.resolve(PREFIX + state.step());
    try {
      deleteTree(dir);
      Files.createDirectories(dir);
      RunWeights.write(dir.resolve(PARAMS), params);
      opt.save(dir.resolve(ADAM));
      Path tmp = dir.resolve(STATE + ".tmp");
      JSON.writeValue(tmp.toFile(), state);
      Files.move(tmp, dir.resolve(STATE), StandardCopyOption.ATOMIC_MOVE);
      for (Path old : checkpoints(run)) {
        if (!old.equals(dir)) {
          deleteTree(old);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a checkpoint in " + dir + ": " + e, e);
    }
  }

  /**
   * The latest complete checkpoint of these settings, or null; checkpoints of other settings are
   * removed (their steps would not continue the same schedule).
   */
  static Found latest(Path run, String settings) {
    try {
      Found best = null;
      for (Path dir : checkpoints(run)) {
        Path state = dir.resolve(STATE);
        if (!Files.isRegularFile(state)) {
          continue;
        }
        State s = JSON.readValue(state.toFile(), State.class);
        if (!s.settings().equals(settings)) {
          deleteTree(dir);
        } else if (best == null || s.step() > best.state().step()) {
          best = new Found(dir, s);
        }
      }
      return best;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the checkpoints in " + run + ": " + e, e);
    }
  }

  /** Sets {@code params} to the checkpoint's values (names and shapes must match). */
  static void loadParams(Found f, Map<String, NDArray> params) {
    RunWeights.read(f.dir().resolve(PARAMS), params);
  }

  /** Removes every checkpoint of a run (when it has finished). */
  static void clear(Path run) {
    try {
      for (Path dir : checkpoints(run)) {
        deleteTree(dir);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove the checkpoints in " + run + ": " + e, e);
    }
  }

  private static List<Path> checkpoints(Path run) throws IOException {
    if (!Files.isDirectory(run)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(run)) {
      return s.filter(p -> p.getFileName().toString().startsWith(PREFIX))
          .filter(Files::isDirectory)
          .toList();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
