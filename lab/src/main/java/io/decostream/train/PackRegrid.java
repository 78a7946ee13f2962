package io.decostream.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.decostream.nn.safetensors.DType;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import io.decostream.projector.Bilinear2d;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * Re-grids a {@code llava_next_video} pack's vision input: a new input size (so a new patch grid)
 * and a new spatial pool stride, keeping every trained weight. The one weight tied to the grid, the
 * ViT's learned position embedding, is resized the way HF's {@code interpolate_pos_encoding} does
 * (class position kept, the patch grid resampled with {@code F.interpolate}; here bilinear,
 * align_corners=False, exact via {@link Bilinear2d}). Used to move a trained demo model to a finer
 * token grid (more pooled tokens per frame) without starting over.
 */
public final class PackRegrid {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String POSITIONS = "vision_model.embeddings.position_embedding.weight";

  private PackRegrid() {}

  /** What changed, for the caller to print. */
  public record Result(
      int oldGrid, int newGrid, int oldTokensPerFrame, int newTokensPerFrame, int maxPositions) {}

  /**
   * Writes {@code target}: {@code source} with {@code vision_config.image_size = imageSize}, {@code
   * spatial_pool_stride = poolStride}, {@code text_config.max_position_embeddings = maxPositions}
   * (kept when 0), the processor's resize and crop set to {@code imageSize}, and the position
   * embedding resampled.
   */
  public static Result regrid(
      Path source, Path target, int imageSize, int poolStride, int maxPositions) {
    try {
      ObjectNode config = (ObjectNode) JSON.readTree(source.resolve("config.json").toFile());
      ObjectNode vision = (ObjectNode) config.get("vision_config");
      ObjectNode text = (ObjectNode) config.get("text_config");
      int patch = vision.get("patch_size").asInt();
      int oldSize = vision.get("image_size").asInt();
      int oldStride = config.path("spatial_pool_stride").asInt(2);
      if (imageSize < patch || imageSize % patch != 0) {
        throw new IllegalArgumentException(
            "image size " + imageSize + " must be a positive multiple of the patch size " + patch);
      }
      int oldGrid = oldSize / patch;
      int newGrid = imageSize / patch;
      if (poolStride < 1 || newGrid % poolStride != 0) {
        throw new IllegalArgumentException(
            "pool stride " + poolStride + " must divide the new patch grid side " + newGrid);
      }
      int newTokens = (newGrid / poolStride) * (newGrid / poolStride);
      int oldTokens = (oldGrid / oldStride) * (oldGrid / oldStride);
      if (maxPositions < 0) {
        throw new IllegalArgumentException(
            "max positions must be positive (or 0 to keep), got " + maxPositions);
      }
      int positions =
          maxPositions == 0 ? text.get("max_position_embeddings").asInt() : maxPositions;
      vision.put("image_size", imageSize);
      config.put("spatial_pool_stride", poolStride);
      text.put("max_position_embeddings", positions);

      writeConfigs(source, target, config, imageSize);
      writeWeights(source, target, oldGrid, newGrid);
      return new Result(oldGrid, newGrid, oldTokens, newTokens, positions);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot re-grid " + source + " into " + target + ": " + e.getMessage(), e);
    }
  }

  /**
   * The pack's JSON files into {@code target}, with the edited config.json and the processor's
   * resize and crop set to the new input size (so frames reach the ViT at the new grid).
   */
  private static void writeConfigs(Path source, Path target, ObjectNode config, int imageSize)
      throws IOException {
    Files.createDirectories(target);
    try (Stream<Path> files = Files.list(source)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).toList()) {
        Files.copy(f, target.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    JSON.writerWithDefaultPrettyPrinter()
        .writeValue(target.resolve("config.json").toFile(), config);
    Path processor = target.resolve("preprocessor_config.json");
    if (Files.isRegularFile(processor)) {
      ObjectNode p = (ObjectNode) JSON.readTree(processor.toFile());
      if (p.get("size") instanceof ObjectNode size) {
        // the size keeps its form: {shortest_edge} or {height, width} (no crop, whole frame)
        if (size.has("height") || size.has("width")) {
          size.put("height", imageSize);
          size.put("width", imageSize);
        } else {
          size.put("shortest_edge", imageSize);
        }
      }
      if (p.get("crop_size") instanceof ObjectNode crop) {
        crop.put("height", imageSize);
        crop.put("width", imageSize);
      }
      JSON.writerWithDefaultPrettyPrinter().writeValue(processor.toFile(), p);
    }
  }

  /**
   * Every weight copied as F32, except the position embedding, checked to match the old grid and
   * resampled to the new one; a pack without it is refused.
   */
  private static void writeWeights(Path source, Path target, int oldGrid, int newGrid) {
    SafeTensorsWriter w = new SafeTensorsWriter();
    boolean found = false;
    try (SafeTensors st = SafeTensors.open(source.resolve("model.safetensors"))) {
      for (String name : st.names()) {
        long[] shape = st.info(name).shape();
        float[] data = st.readFloats(name);
        if (name.endsWith(POSITIONS)) {
          int dim = (int) shape[1];
          if (shape[0] != (long) oldGrid * oldGrid + 1) {
            throw new IllegalArgumentException(
                name
                    + " has "
                    + shape[0]
                    + " rows, expected "
                    + (oldGrid * oldGrid + 1)
                    + " for a "
                    + oldGrid
                    + "x"
                    + oldGrid
                    + " grid");
          }
          data = resample(data, dim, oldGrid, newGrid);
          shape = new long[] {(long) newGrid * newGrid + 1, dim};
          found = true;
        }
        w.add(name, DType.F32, shape, data);
      }
      st.metadata().forEach(w::metadata);
    }
    if (!found) {
      throw new IllegalArgumentException(source + " has no tensor named *" + POSITIONS);
    }
    w.write(target.resolve("model.safetensors"));
  }

  /**
   * {@code [1 + g*g, dim]} position table → {@code [1 + n*n, dim]}: class row kept, the grid
   * resampled.
   */
  static float[] resample(float[] table, int dim, int oldGrid, int newGrid) {
    float[] grid = new float[oldGrid * oldGrid * dim];
    System.arraycopy(table, dim, grid, 0, grid.length);
    float[] resized = Bilinear2d.interpolate(grid, oldGrid, oldGrid, dim, newGrid, newGrid);
    float[] out = new float[dim + resized.length];
    System.arraycopy(table, 0, out, 0, dim);
    System.arraycopy(resized, 0, out, dim, resized.length);
    return out;
  }
}
