package io.decostream.shapes;

/**
 * How a shape moves for the whole clip: one of four directions at a constant speed, or not at all.
 * Image coordinates: x grows to the right, y grows downwards, so UP is -y.
 */
public enum Motion {
  LEFT(-1, 0, "left"),
  RIGHT(1, 0, "right"),
  UP(0, -1, "up"),
  DOWN(0, 1, "down"),
  STILL(0, 0, "not moving");

  private final int dx;
  private final int dy;
  private final String word;

  Motion(int dx, int dy, String word) {
    this.dx = dx;
    this.dy = dy;
    this.word = word;
  }

  /** Unit step along x (-1, 0 or 1). */
  public int dx() {
    return dx;
  }

  /** Unit step along y (-1, 0 or 1; +1 is down). */
  public int dy() {
    return dy;
  }

  /** The answer to "which way is ... moving?": left / right / up / down / not moving. */
  public String word() {
    return word;
  }

  /** The motion named by an answer word (case-insensitive, trimmed, final period ignored). */
  public static Motion fromWord(String word) {
    String w = Answers.normalize(word);
    for (Motion m : values()) {
      if (m.word.equals(w)) {
        return m;
      }
    }
    throw new IllegalArgumentException(
        "unknown motion '" + word + "' (expected left, right, up, down or not moving)");
  }
}
