package io.decostream.projector;

import java.util.Locale;
import java.util.Objects;

/**
 * Per-stream visual token compressor: the parameter-free pooling that DeCo puts before the
 * projector MLP (models.md §3.2: 24x24 = 576 CLIP patch tokens → 12x12 = 144), or the
 * LLaVA-NeXT-Video spatial pooler (§3.3), or no compression.
 *
 * <p>{@code NONE} is the identity. It either names a grid ({@code none:24}, then {@link #compress}
 * checks that the input has exactly that grid) or carries {@code 0x0}, meaning "whatever grid comes
 * in" ({@code none}).
 *
 * @param mode pooling mode
 * @param outH output grid rows (> 0; 0 only for {@code NONE} with any grid)
 * @param outW output grid columns (> 0; 0 only for {@code NONE} with any grid)
 */
public record TokenCompressor(PoolingMode mode, int outH, int outW) {

  public TokenCompressor {
    Objects.requireNonNull(mode, "mode");
    boolean anyGrid = mode == PoolingMode.NONE && outH == 0 && outW == 0;
    if (!anyGrid && (outH <= 0 || outW <= 0)) {
      throw new IllegalArgumentException(
          "output grid must be positive for mode "
              + mode.spec()
              + ", got "
              + outH
              + "x"
              + outW
              + (mode == PoolingMode.NONE ? " (use 0x0 for an identity on any grid)" : ""));
    }
  }

  /**
   * The DeCo compressor: adaptive average pooling to {@code outGrid x outGrid} (paper default 12).
   */
  public static TokenCompressor deco(int outGrid) {
    return new TokenCompressor(PoolingMode.AVG, outGrid, outGrid);
  }

  /** Identity compressor on any grid. */
  public static TokenCompressor none() {
    return new TokenCompressor(PoolingMode.NONE, 0, 0);
  }

  /**
   * Parses a per-stream spec, case-insensitive, surrounding blanks ignored:
   *
   * <ul>
   *   <li>{@code "12"} or {@code "12x12"} — average pooling (DeCo default mode);
   *   <li>{@code "avg:12"}, {@code "average:12x10"}, {@code "max:12x12"} — mode and grid ({@code N}
   *       means {@code NxN});
   *   <li>{@code "none"} — identity on any grid; {@code "none:24"} — identity, input must be 24x24.
   * </ul>
   *
   * @throws IllegalArgumentException with the offending text for anything else
   */
  public static TokenCompressor parse(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException(
          "empty token compressor spec; expected e.g. avg:12, max:12x12, none, 12");
    }
    String s = spec.trim().toLowerCase(Locale.ROOT);
    int colon = s.indexOf(':');
    PoolingMode mode;
    String grid;
    if (colon >= 0) {
      mode = parseMode(s.substring(0, colon).trim(), spec);
      grid = s.substring(colon + 1).trim();
    } else if (!s.isEmpty() && Character.isDigit(s.charAt(0))) {
      mode = PoolingMode.AVG;
      grid = s;
    } else {
      mode = parseMode(s, spec);
      if (mode != PoolingMode.NONE) {
        throw new IllegalArgumentException(
            "token compressor spec '"
                + spec
                + "' needs an output grid, e.g. "
                + mode.spec()
                + ":12 or "
                + mode.spec()
                + ":12x12");
      }
      return none();
    }
    int[] hw = parseGrid(grid, spec);
    return new TokenCompressor(mode, hw[0], hw[1]);
  }

  private static PoolingMode parseMode(String name, String spec) {
    try {
      return PoolingMode.parse(name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "bad token compressor spec '"
              + spec
              + "': "
              + e.getMessage()
              + " (format: [avg|average|max|none:]N or NxM)",
          e);
    }
  }

  private static int[] parseGrid(String grid, String spec) {
    String[] parts = grid.split("x", -1);
    if (parts.length < 1 || parts.length > 2) {
      throw new IllegalArgumentException(
          "bad grid '" + grid + "' in token compressor spec '" + spec + "'; expected N or NxM");
    }
    try {
      int h = Integer.parseInt(parts[0].trim());
      int w = parts.length == 2 ? Integer.parseInt(parts[1].trim()) : h;
      if (h <= 0 || w <= 0) {
        throw new IllegalArgumentException(
            "grid must be positive in token compressor spec '" + spec + "'");
      }
      return new int[] {h, w};
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "bad grid '" + grid + "' in token compressor spec '" + spec + "'; expected N or NxM", e);
    }
  }

  /**
   * Canonical spec that {@link #parse} maps back to an equal compressor, e.g. {@code avg:12x12}.
   */
  public String spec() {
    if (isAnyGrid()) {
      return "none";
    }
    return mode.spec() + ":" + outH + "x" + outW;
  }

  /** True for the identity that accepts any input grid. */
  public boolean isAnyGrid() {
    return mode == PoolingMode.NONE && outH == 0;
  }

  /**
   * Output tokens per frame, {@code outH*outW}.
   *
   * @throws IllegalStateException for {@code none} on any grid (use {@link #tokens(int, int)})
   */
  public int tokens() {
    if (isAnyGrid()) {
      throw new IllegalStateException(
          "compressor 'none' keeps the input grid; call tokens(inH, inW)");
    }
    return outH * outW;
  }

  /** Output tokens per frame for an {@code inH x inW} input grid. */
  public int tokens(int inH, int inW) {
    return isAnyGrid() ? inH * inW : outH * outW;
  }

  /**
   * Compresses one frame's patch features {@code [inH*inW, dim]} (row-major tokens, CLS dropped) to
   * {@code [tokens, dim]}. Pure Java and exact to torch (see {@link AdaptivePool2d}).
   */
  public float[] compress(float[] features, int inH, int inW, int dim) {
    return AdaptivePool2d.pool(features, inH, inW, dim, gridH(inH), gridW(inW), mode);
  }

  /**
   * Query-to-Patch matrix {@code [tokens, inH*inW]} for R-GAE (§7.6): identity for NONE, the
   * averaging matrix for AVG, the fraction-of-channels argmax matrix for MAX (uses the frame's
   * features; ignored otherwise and may be null).
   */
  public float[] queryToPatch(float[] features, int inH, int inW, int dim) {
    int oh = gridH(inH);
    int ow = gridW(inW);
    switch (mode) {
      case NONE:
        {
          if (oh != inH || ow != inW) {
            throw new IllegalArgumentException(
                "compressor "
                    + spec()
                    + " requires an input grid of "
                    + oh
                    + "x"
                    + ow
                    + ", got "
                    + inH
                    + "x"
                    + inW);
          }
          int p = inH * inW;
          float[] m = new float[p * p];
          for (int i = 0; i < p; i++) {
            m[i * p + i] = 1f;
          }
          return m;
        }
      case AVG:
        return AdaptivePool2d.averagingMatrix(inH, inW, oh, ow);
      case MAX:
        return AdaptivePool2d.maxSelectionMatrix(features, inH, inW, dim, oh, ow);
      default:
        throw new IllegalStateException("unhandled mode " + mode);
    }
  }

  private int gridH(int inH) {
    return isAnyGrid() ? inH : outH;
  }

  private int gridW(int inW) {
    return isAnyGrid() ? inW : outW;
  }

  @Override
  public String toString() {
    return spec();
  }
}
