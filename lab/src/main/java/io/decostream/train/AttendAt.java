package io.decostream.train;

/**
 * Where the attention loss of {@code deco train --attend-at} looks from ({@link VideoQaForward}).
 */
public enum AttendAt {
  /**
   * The position that predicts the first answer token; the lookup head is in the second-to-last
   * layer.
   */
  ANSWER,
  /**
   * The question's last naming word (the kind in "what color is the circle?"); the lookup head is
   * in layer 1, so the word's own embedding (and, via layer 0, the word before it) forms the query,
   * and later layers can carry what it read to the answer.
   */
  WORD,
  /**
   * As WORD, plus two more heads of the lookup's layer at the naming word: one on the object's
   * tokens in the latest frame only, one on them in the first frame only. Position is the cell in
   * the latest frame, and motion is where the object is last against where it was first; a lookup
   * over all frames averages both away, and the motion answers wrong on multi-shape windows were
   * mostly another shape's motion (docs/shapes-model.md). With the two ends read by heads of their
   * own, the word's state holds both places rather than their average.
   */
  ENDS
}
