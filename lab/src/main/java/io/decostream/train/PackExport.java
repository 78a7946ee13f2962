package io.decostream.train;

import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * Copies a pack with its weights stored as F16 (half the size; the loader widens them to F32
 * exactly).
 */
public final class PackExport {

  private PackExport() {}

  public static void toF16(Path pack, Path target) {
    try {
      Files.createDirectories(target);
      try (Stream<Path> files = Files.list(pack)) {
        for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).toList()) {
          Files.copy(f, target.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
      }
      SafeTensorsWriter w = new SafeTensorsWriter();
      try (SafeTensors st = SafeTensors.open(pack.resolve("model.safetensors"))) {
        for (String name : st.names()) {
          w.add(
              name,
              io.decostream.nn.safetensors.DType.F16,
              st.info(name).shape(),
              st.readFloats(name));
        }
        st.metadata().forEach(w::metadata);
      }
      w.write(target.resolve("model.safetensors"));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot export " + pack + " to " + target + ": " + e.getMessage(), e);
    }
  }
}
