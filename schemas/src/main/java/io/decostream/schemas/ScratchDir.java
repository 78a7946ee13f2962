package io.decostream.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A temporary directory removed with everything in it on close: the state directory of a stage's
 * warm-up run (issue 22: the frames stage and the encoder run their own topology on synthetic input
 * before they start, with state nobody keeps).
 */
public record ScratchDir(Path path) implements AutoCloseable {

  /** A new directory under the system's temporary directory, named {@code prefix} + a suffix. */
  public static ScratchDir create(String prefix) {
    try {
      return new ScratchDir(Files.createTempDirectory(prefix));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a temporary directory " + prefix + "*", e);
    }
  }

  /** Deletes the tree; a file left behind is harmless and does not fail the caller. */
  @Override
  public void close() {
    try (Stream<Path> s = Files.walk(path)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException ignored) {
      // a temporary directory left behind is harmless; the caller's result stands
    }
  }
}
