package io.decostream.shapes;

import java.util.Objects;
import java.util.Optional;

/**
 * The grounding check of {@code deco eval --grounding-check} (issue 5 point 6), in one place for
 * eval, the training losses and the diagnostics: the share of an answer's relevance in a frame that
 * lies inside the asked object's box grown by one patch. A patch counts inside when its centre lies
 * in the grown box; a pooled token counts by its share of such patches, since Text-to-Patch of
 * average pooling spreads a token's relevance evenly over its window (spec §7.6). The box comes
 * from ShapesWorld's ground truth: the shape the question names ({@link QaPair#subject}), at the
 * frame's time.
 */
public final class GroundingCheck {

  /** The share of a map inside the grown box that counts as grounded. */
  public static final double GROUNDED_SHARE = 0.8;

  private final Box grown;
  private final int gridWidth;
  private final int gridHeight;
  private final double patchWidth;
  private final double patchHeight;

  /**
   * @param box the object's box in the frame's pixels
   * @param frameWidth the frame's width in pixels
   * @param frameHeight the frame's height in pixels
   * @param gridWidth patches per row
   * @param gridHeight patches per column
   */
  public GroundingCheck(
      Box box, double frameWidth, double frameHeight, int gridWidth, int gridHeight) {
    Objects.requireNonNull(box, "box");
    if (!(frameWidth > 0 && frameHeight > 0) || gridWidth < 1 || gridHeight < 1) {
      throw new IllegalArgumentException(
          "a grounding check needs a frame and a patch grid, got "
              + frameWidth
              + "x"
              + frameHeight
              + " px, "
              + gridWidth
              + "x"
              + gridHeight
              + " patches");
    }
    this.gridWidth = gridWidth;
    this.gridHeight = gridHeight;
    this.patchWidth = frameWidth / gridWidth;
    this.patchHeight = frameHeight / gridHeight;
    this.grown = box.grow(Math.max(patchWidth, patchHeight));
  }

  /**
   * The check of {@code qa}'s object in {@code scene} at second {@code t}, on ShapesWorld's
   * reference frame; empty when the question names no single shape of the scene.
   */
  public static Optional<GroundingCheck> of(
      Scene scene, QaPair qa, double t, int gridWidth, int gridHeight) {
    double size = ShapesWorld.REFERENCE_SIZE;
    return qa.subject(scene)
        .map(s -> new GroundingCheck(s.referenceBox(t), size, size, gridWidth, gridHeight));
  }

  /** The object's box grown by one patch. */
  public Box grownBox() {
    return grown;
  }

  /** Per patch, row-major: whether its centre lies inside the grown box. */
  public boolean[] patchesInside() {
    boolean[] in = new boolean[gridWidth * gridHeight];
    for (int p = 0; p < in.length; p++) {
      in[p] =
          grown.contains((p % gridWidth + 0.5) * patchWidth, (p / gridWidth + 0.5) * patchHeight);
    }
    return in;
  }

  /**
   * Per pooled token of a {@code side} x {@code side} token grid, row-major: the share of its
   * window's patches inside the grown box; null where the tokens are not whole patch windows.
   */
  public float[] tokenInsideShares(int side) {
    if (side < 1 || gridWidth % side != 0 || gridHeight % side != 0) {
      return null;
    }
    int ww = gridWidth / side;
    int wh = gridHeight / side;
    boolean[] in = patchesInside();
    float[] shares = new float[side * side];
    for (int p = 0; p < in.length; p++) {
      if (in[p]) {
        shares[(p / gridWidth / wh) * side + (p % gridWidth) / ww] += 1f / (ww * wh);
      }
    }
    return shares;
  }

  /**
   * The share of a frame's relevance map (per patch, row-major; negative values count as 0) inside
   * the grown box; NaN for a map with no positive mass.
   */
  public double shareInside(float[] patchRelevance) {
    if (patchRelevance.length != gridWidth * gridHeight) {
      throw new IllegalArgumentException(
          "a map of " + patchRelevance.length + " values for " + gridWidth + "x" + gridHeight);
    }
    boolean[] in = patchesInside();
    double inside = 0;
    double total = 0;
    for (int p = 0; p < in.length; p++) {
      double v = Math.max(0, patchRelevance[p]);
      total += v;
      inside += in[p] ? v : 0;
    }
    return total > 0 ? inside / total : Double.NaN;
  }

  /**
   * The best share any map at a {@code side} x {@code side} token grid's resolution could reach:
   * all relevance on the one token whose window has the largest share of patches inside the grown
   * box. NaN where the tokens are not whole patch windows.
   */
  public double bestPooledShare(int side) {
    float[] shares = tokenInsideShares(side);
    if (shares == null) {
      return Double.NaN;
    }
    int ww = gridWidth / side;
    int wh = gridHeight / side;
    double best = 0;
    for (float s : shares) {
      // back to a count of patches, so the ceiling is the exact ratio EvalCommand always reported
      best = Math.max(best, (double) Math.round(s * ww * wh) / (ww * wh));
    }
    return best;
  }
}
