package io.decostream.shapes;

import java.util.Locale;

/**
 * Answer comparison of issue 5: answers are compared case-insensitively, trimmed, with a final
 * period ignored. Runs of white space inside count as one space.
 */
public final class Answers {

  private Answers() {}

  /**
   * Lower case, trimmed, one final period removed, inner white space collapsed; null becomes "".
   */
  public static String normalize(String s) {
    if (s == null) {
      return "";
    }
    String t = s.strip().toLowerCase(Locale.ROOT);
    if (t.endsWith(".")) {
      t = t.substring(0, t.length() - 1).strip();
    }
    return t.replaceAll("\\s+", " ");
  }

  /** Whether {@code predicted} is the same answer as {@code expected} after {@link #normalize}. */
  public static boolean matches(String predicted, String expected) {
    return normalize(predicted).equals(normalize(expected));
  }

  /** "one", "two", "three" for 1..3 (the count answers). */
  public static String countWord(int n) {
    return switch (n) {
      case 1 -> "one";
      case 2 -> "two";
      case 3 -> "three";
      default -> throw new IllegalArgumentException("ShapesWorld counts are 1..3, got " + n);
    };
  }
}
