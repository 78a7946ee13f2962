package io.decostream.shapes;

/**
 * The nine positions of issue 5: the cell of a 3x3 grid over the frame that holds a shape's centre.
 *
 * <p>Boundary rule: column {@code c = floor(3 * x / width)} and row {@code r = floor(3 * y /
 * height)}, clamped to 0..2, i.e. every cell is half-open {@code [k/3, (k+1)/3)} and the last one
 * also holds the right/bottom edge. A centre exactly on the first third line belongs to the middle
 * column.
 */
public enum GridCell {
  TOP_LEFT("top left"),
  TOP("top"),
  TOP_RIGHT("top right"),
  LEFT("left"),
  CENTER("center"),
  RIGHT("right"),
  BOTTOM_LEFT("bottom left"),
  BOTTOM("bottom"),
  BOTTOM_RIGHT("bottom right");

  private final String words;

  GridCell(String words) {
    this.words = words;
  }

  /** The answer to "where is ...?": e.g. "top left", "center". */
  public String words() {
    return words;
  }

  /** Row 0 (top) .. 2 (bottom). */
  public int row() {
    return ordinal() / 3;
  }

  /** Column 0 (left) .. 2 (right). */
  public int col() {
    return ordinal() % 3;
  }

  /** The cell at {@code row}, {@code col} (each 0..2). */
  public static GridCell at(int row, int col) {
    if (row < 0 || row > 2 || col < 0 || col > 2) {
      throw new IllegalArgumentException("row and col must be in 0..2, got " + row + "," + col);
    }
    return values()[row * 3 + col];
  }

  /**
   * The cell holding point ({@code x}, {@code y}) of a {@code width} x {@code height} frame (see
   * the class comment for boundaries).
   */
  public static GridCell of(double x, double y, double width, double height) {
    if (!(width > 0 && height > 0)) {
      throw new IllegalArgumentException(
          "frame size must be positive, got " + width + "x" + height);
    }
    return at(index(y, height), index(x, width));
  }

  private static int index(double v, double extent) {
    int i = (int) Math.floor(3.0 * v / extent);
    return Math.max(0, Math.min(2, i));
  }

  /**
   * Distance from ({@code x}, {@code y}) to the nearest inner grid line (x or y = 1/3 or 2/3 of the
   * frame), in the same units: how far a centre is from changing cell.
   */
  public static double distanceToBoundary(double x, double y, double width, double height) {
    double dx = Math.min(Math.abs(x - width / 3.0), Math.abs(x - 2.0 * width / 3.0));
    double dy = Math.min(Math.abs(y - height / 3.0), Math.abs(y - 2.0 * height / 3.0));
    return Math.min(dx, dy);
  }

  /**
   * The cell named by an answer (case-insensitive, trimmed, final period ignored; "centre"
   * accepted).
   */
  public static GridCell fromWords(String words) {
    String w = Answers.normalize(words);
    if (w.equals("centre")) {
      return CENTER;
    }
    for (GridCell c : values()) {
      if (c.words.equals(w)) {
        return c;
      }
    }
    throw new IllegalArgumentException("unknown position '" + words + "'");
  }
}
