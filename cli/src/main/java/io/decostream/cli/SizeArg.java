package io.decostream.cli;

import java.util.Locale;

/** A size option's value: "336" is 336x336, "448x336" (or "448X336") is 448x336. */
final class SizeArg {
  private SizeArg() {}

  /** {width, height}; a value that is neither names {@code option} in its message. */
  static int[] parse(String option, String s) {
    String t = s.trim().toLowerCase(Locale.ROOT);
    try {
      int x = t.indexOf('x');
      if (x < 0) {
        int n = Integer.parseInt(t);
        return new int[] {n, n};
      }
      return new int[] {Integer.parseInt(t.substring(0, x)), Integer.parseInt(t.substring(x + 1))};
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " must be N or WxH, got '" + s + "'");
    }
  }
}
