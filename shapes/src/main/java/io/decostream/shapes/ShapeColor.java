package io.decostream.shapes;

import java.util.Locale;

/**
 * The six named colours of ShapesWorld with the nominal RGB values of issue 5's table; a shape's
 * actual colour varies by up to {@link ShapesWorld#COLOR_JITTER} per channel around these.
 */
public enum ShapeColor {
  RED(220, 30, 30),
  GREEN(40, 180, 60),
  BLUE(40, 80, 220),
  YELLOW(230, 210, 40),
  WHITE(235, 235, 235),
  PURPLE(150, 60, 190);

  private final Rgb nominal;

  ShapeColor(int r, int g, int b) {
    this.nominal = new Rgb(r, g, b);
  }

  /** The table's nominal colour. */
  public Rgb nominal() {
    return nominal;
  }

  /** The colour as it appears in questions, answers and captions ("red", "green", ...). */
  public String word() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The colour named by {@code word} (case-insensitive, trimmed; "colour" spellings are the same
   * words).
   */
  public static ShapeColor fromWord(String word) {
    String w = Answers.normalize(word);
    for (ShapeColor c : values()) {
      if (c.word().equals(w)) {
        return c;
      }
    }
    throw new IllegalArgumentException(
        "unknown colour '" + word + "' (expected red, green, blue, yellow, white or purple)");
  }
}
