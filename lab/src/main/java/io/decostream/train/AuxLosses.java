package io.decostream.train;

import java.util.Objects;

/**
 * The auxiliary losses of a training forward ({@link
 * VideoQaForward#forward(ai.djl.ndarray.NDManager, java.util.List, AuxLosses)}), each off at weight
 * 0, validated at construction.
 *
 * @param attendWeight the attention loss on questions that name one object: a lookup head on that
 *     object's tokens
 * @param at where that lookup is made
 * @param contentWeight the content loss at the naming word
 * @param contentLayer where the content loss reads the naming word: -1 its last layer, else the
 *     residual stream entering that layer (1..layers; needs {@code at} WORD or ENDS)
 * @param strayWeight the stray loss: the answer row's attention, over every head and layer, on
 *     visual tokens outside the named object
 * @param strayGrown where "outside the object" starts for the stray loss: false, outside the tokens
 *     the attention loss aims at (a token whose window the object's box covers by at least a
 *     tenth); true, by the grounding check's own measure, each token weighted by the share of its
 *     patches whose centres lie outside the box grown by one patch (a token the object only grazes
 *     then counts as mostly outside)
 * @param attendGrown what the attention loss's heads aim at: false, the tokens the object's box
 *     covers by at least a tenth; true, each token weighted by the share of its patches inside the
 *     box grown by one patch, so the heads gather on the tokens wholly inside it (the grounding
 *     check's own measure)
 * @param strayWord the stray loss also on the naming word's row (the mean of its and the answer
 *     row's mass; needs {@code at} WORD or ENDS, which select that row): R-GAE's map follows the
 *     answer's relevance into that row too
 * @param strayMax the stray loss takes, per layer and row, the head with the most mass outside the
 *     object rather than the mean of the heads: Leak found the failing cases' outside mass in one
 *     or two heads of a layer, which the mean over all of them dilutes
 * @param mapWeight the map loss: {@code -log} of the share of the answer's relevance map in the
 *     latest frame that lies inside the named object's box grown by one patch, the grounding
 *     check's own measure, with the map rolled out through the question's rows like R-GAE (spec
 *     §7.2) but with the heads' plain mean in place of their gradient-weighted one (a training loss
 *     cannot take the answer's gradient inside its own forward)
 */
public record AuxLosses(
    double attendWeight,
    AttendAt at,
    double contentWeight,
    int contentLayer,
    double strayWeight,
    boolean strayGrown,
    boolean attendGrown,
    boolean strayWord,
    boolean strayMax,
    double mapWeight) {

  /** No auxiliary loss. */
  public static final AuxLosses NONE = new AuxLosses(0, AttendAt.ANSWER, 0, -1, 0);

  /**
   * Targets and stray loss by the cover rule, the stray loss on the answer row only (before the box
   * options).
   */
  public AuxLosses(
      double attendWeight,
      AttendAt at,
      double contentWeight,
      int contentLayer,
      double strayWeight) {
    this(attendWeight, at, contentWeight, contentLayer, strayWeight, false, false, false, false, 0);
  }

  public AuxLosses {
    Objects.requireNonNull(at, "at");
    if (!(attendWeight >= 0 && contentWeight >= 0 && strayWeight >= 0 && mapWeight >= 0)
        || Double.isInfinite(attendWeight)
        || Double.isInfinite(contentWeight)
        || Double.isInfinite(strayWeight)
        || Double.isInfinite(mapWeight)) {
      throw new IllegalArgumentException(
          "loss weights must be finite and >= 0, got attend "
              + attendWeight
              + ", content "
              + contentWeight
              + ", stray "
              + strayWeight
              + ", map "
              + mapWeight);
    }
    if (contentLayer < -1 || contentLayer == 0) {
      throw new IllegalArgumentException(
          "the content layer must be -1 (the last layer) or >= 1, got " + contentLayer);
    }
    if (at == AttendAt.ANSWER && strayWord) {
      throw new IllegalArgumentException(
          "the stray loss on the naming word's row needs the lookup at word or ends, "
              + "which select that row, got "
              + at);
    }
    if (at == AttendAt.ANSWER && contentLayer > 0) {
      throw new IllegalArgumentException(
          "a content layer reads the naming word's row, which only the lookup at word "
              + "or ends selects, got "
              + at);
    }
  }

  /** Whether the lookup is made at the naming word (WORD, ENDS) rather than at the answer row. */
  boolean atWord() {
    return at != AttendAt.ANSWER;
  }
}
