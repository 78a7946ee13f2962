package io.decostream.projector;

import java.util.Locale;

/**
 * How visual tokens are compressed before the projector MLP.
 *
 * <ul>
 *   <li>{@link #AVG}: adaptive average pooling — the DeCo compressor (models.md §3.2) and the
 *       LLaVA-NeXT-Video "average" spatial pooler (§3.3).
 *   <li>{@link #MAX}: adaptive max pooling — LLaVA-NeXT-Video {@code spatial_pool_mode="max"}.
 *   <li>{@link #NONE}: no compression (plain LLaVA-1.5 mlp2x_gelu, §3.1): identity on the grid.
 * </ul>
 */
public enum PoolingMode {
  AVG,
  MAX,
  NONE;

  /**
   * Parses a pooling mode name, case-insensitively: {@code "avg"} / {@code "average"} (the HF
   * config spelling), {@code "max"}, {@code "none"}.
   *
   * @throws IllegalArgumentException for null, blank or unknown names
   */
  public static PoolingMode parse(String name) {
    if (name == null) {
      throw new IllegalArgumentException(
          "pooling mode must not be null; expected avg, average, max or none");
    }
    switch (name.trim().toLowerCase(Locale.ROOT)) {
      case "avg":
      case "average":
        return AVG;
      case "max":
        return MAX;
      case "none":
        return NONE;
      default:
        throw new IllegalArgumentException(
            "unknown pooling mode '" + name + "'; expected avg, average, max or none");
    }
  }

  /** The canonical lower-case name accepted by {@link #parse(String)}. */
  public String spec() {
    return name().toLowerCase(Locale.ROOT);
  }
}
