package io.decostream.projector;

/**
 * Size of a Honeybee C-Abstractor (models.md §3.6, [HB-PROJ] c-abs.yaml: depth 3, hidden 1024, 144
 * query tokens = 12×12, mlp_depth 2; blocks from [TIMM] regnet.py).
 *
 * @param visionWidth Dv, width of the input tokens
 * @param grid g: the input is a g×g token grid (row-major), {@code P = g*g}
 * @param hidden width of both RegStages (s1: Dv→hidden, s2: hidden→hidden)
 * @param depth Bottleneck blocks per RegStage; 0 degenerates to pool + readout MLP and then
 *     requires {@code hidden == visionWidth}
 * @param outGrid o: AdaptiveAvgPool2d target, output tokens {@code o*o}; {@code 1 <= o <= g}
 * @param outputWidth Dout of the readout MLP
 * @param seRatio squeeze-excitation ratio (timm default 0.25); the squeeze width of a block is
 *     {@code round(blockInputChannels * seRatio)} (Python round, half to even), must be >= 1
 */
public record CAbstractorConfig(
    int visionWidth,
    int grid,
    int hidden,
    int depth,
    int outGrid,
    int outputWidth,
    double seRatio) {

  /** timm's Bottleneck default {@code se_ratio}. */
  public static final double DEFAULT_SE_RATIO = 0.25;

  public CAbstractorConfig {
    BlockWeights.requirePositive("visionWidth", visionWidth);
    BlockWeights.requirePositive("grid", grid);
    BlockWeights.requirePositive("hidden", hidden);
    BlockWeights.requirePositive("outGrid", outGrid);
    BlockWeights.requirePositive("outputWidth", outputWidth);
    if (depth < 0) {
      throw new IllegalArgumentException("depth must be >= 0, got " + depth);
    }
    if (depth == 0 && hidden != visionWidth) {
      throw new IllegalArgumentException(
          "depth 0 has no RegStage to change the width: hidden "
              + hidden
              + " must equal visionWidth "
              + visionWidth);
    }
    if (outGrid > grid) {
      throw new IllegalArgumentException(
          "outGrid "
              + outGrid
              + " exceeds the input grid "
              + grid
              + " (the C-Abstractor compresses)");
    }
    if (!(seRatio > 0) || Double.isInfinite(seRatio)) {
      throw new IllegalArgumentException(
          "seRatio must be a positive finite number, got " + seRatio);
    }
    if (depth > 0) {
      int smallest = Math.min(visionWidth, hidden);
      if (Math.rint(smallest * seRatio) < 1) {
        throw new IllegalArgumentException(
            "seRatio " + seRatio + " gives an empty SE squeeze for " + smallest + " channels");
      }
    }
  }

  /** The Honeybee/timm defaults with {@code seRatio = 0.25}. */
  public CAbstractorConfig(
      int visionWidth, int grid, int hidden, int depth, int outGrid, int outputWidth) {
    this(visionWidth, grid, hidden, depth, outGrid, outputWidth, DEFAULT_SE_RATIO);
  }

  /** Input tokens {@code g*g}. */
  public int inputTokens() {
    return grid * grid;
  }

  /** Output tokens {@code o*o}. */
  public int outputTokens() {
    return outGrid * outGrid;
  }

  /**
   * SE squeeze width of a Bottleneck whose input has {@code inChannels} channels: timm's {@code
   * int(round(in_chs * se_ratio))} (Python 3 round = half to even = {@link Math#rint}).
   */
  public int seChannels(int inChannels) {
    return (int) Math.rint(inChannels * seRatio);
  }
}
