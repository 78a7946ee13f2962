package io.decostream.train;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The connectors of the projector comparison, named after the paper's settings (tokens per frame at
 * CLIP-L/336 scale, 576 patches). The miniature keeps the ratios that matter on the demo model's
 * 9x9 patch grid: 576 → all 81 patches, 144 → 9 tokens (the 3x3 grid the position questions ask
 * about), 64 → 4 queries (64/144 of 9).
 */
public final class ComparisonVariants {

  /** A named connector builder. */
  public interface Builder {
    Connector build(NDManager m, LlavaNextVideoConfig config, long seed);
  }

  /** One variant: name, what it is, rows per frame at paper scale, and how to build it. */
  public record Variant(String name, String description, int paperTokensPerFrame, Builder builder) {
    Connector build(NDManager m, LlavaNextVideoConfig config, long seed) {
      return builder.build(m, config, seed);
    }
  }

  private static final Map<String, Variant> VARIANTS = new LinkedHashMap<>();

  static {
    add(
        new Variant(
            "linear-576",
            "no compression: every patch through the MLP",
            576,
            (m, c, seed) -> pooled(m, c, PooledConnector.Pool.NONE, 1, seed)));
    add(
        new Variant(
            "avgpool-144",
            "DeCo: AdaptiveAvgPool to the 3x3 grid, then the MLP",
            144,
            (m, c, seed) -> pooled(m, c, PooledConnector.Pool.AVG, cellStride(c), seed)));
    add(
        new Variant(
            "maxpool-144",
            "AdaptiveMaxPool to the 3x3 grid, then the MLP",
            144,
            (m, c, seed) -> pooled(m, c, PooledConnector.Pool.MAX, cellStride(c), seed)));
    BaselineConnectors.register(ComparisonVariants::add);
  }

  private ComparisonVariants() {}

  static void add(Variant v) {
    VARIANTS.put(v.name(), v);
  }

  /** The pooling stride that leaves one token per cell of the 3x3 position grid. */
  static int cellStride(LlavaNextVideoConfig c) {
    int g = c.visionConfig().gridSize();
    if (g % 3 != 0) {
      throw new IllegalArgumentException(
          "pooling to the 3x3 position grid needs a patch grid divisible by 3, got " + g + "x" + g);
    }
    return g / 3;
  }

  private static Connector pooled(
      NDManager m, LlavaNextVideoConfig c, PooledConnector.Pool pool, int stride, long seed) {
    int g = c.visionConfig().gridSize();
    if (g % stride != 0) {
      throw new IllegalArgumentException(
          "the comparison needs a patch grid divisible by " + stride + ", got " + g);
    }
    return PooledConnector.fresh(
        m, pool, g, stride, c.visionConfig().hiddenSize(), c.textConfig().hiddenSize(), seed);
  }

  /** Every variant name, in the report's order. */
  public static List<String> names() {
    return List.copyOf(VARIANTS.keySet());
  }

  /** The variant called {@code name}; a clear error listing the known ones otherwise. */
  public static Variant get(String name) {
    Variant v = VARIANTS.get(name);
    if (v == null) {
      throw new IllegalArgumentException(
          "unknown connector variant '" + name + "'; known: " + names());
    }
    return v;
  }
}
