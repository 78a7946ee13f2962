package io.decostream.schemas;

import java.util.Locale;
import java.util.Objects;

/**
 * The one check of a token budget (issue 21 point 4, issue 18 point 7), in plain Java on the stream
 * side so that every writer and reader of the control topic makes the same one: the encoder (its
 * control validator and budget store), {@code deco budget} and the web console, which must not
 * reach the model modules (LayeringTest, the console's enforcer rule).
 *
 * <p>The spec grammar is the projector's {@code TokenCompressor.parse} (which the model side keeps,
 * as it may not import the schemas): {@code N}, {@code NxM}, {@code avg|average|max:N[xM]}, {@code
 * none}, {@code none:N[xM]}, case-insensitive, blanks around ignored. The encoder's test checks
 * that both accept the same specs with the same canonical form.
 *
 * @param mode {@code avg}, {@code max} or {@code none}
 * @param outH output grid rows (0 only for {@code none} on any grid)
 * @param outW output grid columns (0 only for {@code none} on any grid)
 */
public record BudgetSpec(String mode, int outH, int outW) {

  /** Longest stream id accepted (stream ids are short names; this bounds log lines and keys). */
  public static final int MAX_STREAM_ID_CHARS = 256;

  /** Longest compressor spec accepted, e.g. {@code average:12x12}. */
  public static final int MAX_SPEC_CHARS = 64;

  public BudgetSpec {
    Objects.requireNonNull(mode, "mode");
    if (!mode.equals("avg") && !mode.equals("max") && !mode.equals("none")) {
      throw new IllegalArgumentException(
          "unknown pooling mode '" + mode + "'; expected avg, average, max or none");
    }
    boolean anyGrid = mode.equals("none") && outH == 0 && outW == 0;
    if (!anyGrid && (outH <= 0 || outW <= 0)) {
      throw new IllegalArgumentException(
          "output grid must be positive for mode " + mode + ", got " + outH + "x" + outW);
    }
  }

  /** True for {@code none}: the identity on whatever grid comes in. */
  public boolean isAnyGrid() {
    return mode.equals("none") && outH == 0;
  }

  /** Canonical spec, e.g. {@code avg:12x12} or {@code none}: the projector parses it back. */
  public String spec() {
    return isAnyGrid() ? "none" : mode + ":" + outH + "x" + outW;
  }

  /**
   * Tokens per frame, {@code outH*outW}.
   *
   * @throws IllegalStateException for {@code none} on any grid (use {@link #tokens(int, int)})
   */
  public int tokens() {
    if (isAnyGrid()) {
      throw new IllegalStateException("budget 'none' keeps the input grid; call tokens(inH, inW)");
    }
    return outH * outW;
  }

  /** Tokens per frame for an {@code inH x inW} patch grid. */
  public int tokens(int inH, int inW) {
    return isAnyGrid() ? inH * inW : outH * outW;
  }

  /**
   * Parses and checks a budget spec for a vision tower of {@code patchGrid x patchGrid} patches
   * ({@code patchGrid} 0: unknown, only the spec's form is checked).
   *
   * @throws IllegalArgumentException with the reason it is refused
   */
  public static BudgetSpec parse(String spec, int patchGrid) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException(
          "empty token budget; expected e.g. avg:12, avg:8, avg:6, max:12, none");
    }
    if (spec.length() > MAX_SPEC_CHARS) {
      throw new IllegalArgumentException(
          "token budget spec is " + spec.length() + " characters (at most " + MAX_SPEC_CHARS + ")");
    }
    if (hasControlCharacters(spec)) {
      throw new IllegalArgumentException(
          "token budget spec " + printable(spec) + " contains control characters");
    }
    BudgetSpec c = syntax(spec);
    if (patchGrid > 0 && !c.isAnyGrid()) {
      if (c.outH() > patchGrid || c.outW() > patchGrid) {
        throw new IllegalArgumentException(
            "token budget "
                + c.spec()
                + " asks for a "
                + c.outH()
                + "x"
                + c.outW()
                + " grid, larger than the vision tower's "
                + patchGrid
                + "x"
                + patchGrid
                + " patch grid (at most "
                + patchGrid * patchGrid
                + " tokens per frame)");
      }
      // none:N only names the identity on an N x N input: any other N would fail every frame
      if (c.mode().equals("none") && (c.outH() != patchGrid || c.outW() != patchGrid)) {
        throw new IllegalArgumentException(
            "token budget "
                + c.spec()
                + " keeps the patch grid, which is "
                + patchGrid
                + "x"
                + patchGrid
                + "; use none or none:"
                + patchGrid);
      }
    }
    return c;
  }

  /** The grammar alone (TokenCompressor.parse's, with its messages). */
  private static BudgetSpec syntax(String spec) {
    String s = spec.trim().toLowerCase(Locale.ROOT);
    int colon = s.indexOf(':');
    String mode;
    String grid;
    if (colon >= 0) {
      mode = mode(s.substring(0, colon).trim(), spec);
      grid = s.substring(colon + 1).trim();
    } else if (!s.isEmpty() && Character.isDigit(s.charAt(0))) {
      mode = "avg";
      grid = s;
    } else {
      mode = mode(s, spec);
      if (!mode.equals("none")) {
        throw new IllegalArgumentException(
            "token compressor spec '"
                + spec
                + "' needs an output grid, e.g. "
                + mode
                + ":12 or "
                + mode
                + ":12x12");
      }
      return new BudgetSpec("none", 0, 0);
    }
    String[] parts = grid.split("x", -1);
    if (parts.length > 2) {
      throw new IllegalArgumentException(
          "bad grid '" + grid + "' in token compressor spec '" + spec + "'; expected N or NxM");
    }
    int h;
    int w;
    try {
      h = Integer.parseInt(parts[0].trim());
      w = parts.length == 2 ? Integer.parseInt(parts[1].trim()) : h;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "bad grid '" + grid + "' in token compressor spec '" + spec + "'; expected N or NxM", e);
    }
    if (h <= 0 || w <= 0) {
      throw new IllegalArgumentException(
          "grid must be positive in token compressor spec '" + spec + "'");
    }
    return new BudgetSpec(mode, h, w);
  }

  private static String mode(String name, String spec) {
    switch (name) {
      case "avg":
      case "average":
        return "avg";
      case "max":
        return "max";
      case "none":
        return "none";
      default:
        throw new IllegalArgumentException(
            "bad token compressor spec '"
                + spec
                + "': unknown pooling mode '"
                + name
                + "'; expected avg, average, max or none (format: [avg|average|max|none:]N or NxM)");
    }
  }

  /**
   * A checked control record: {@code control} and {@code spec} when accepted, else {@code reason}
   * (streamId may then be null).
   */
  public record Verdict(BudgetControl control, BudgetSpec spec, String streamId, String reason) {
    public boolean accepted() {
      return reason == null;
    }

    static Verdict refuse(String streamId, String reason) {
      return new Verdict(null, null, streamId, reason);
    }
  }

  /**
   * Checks one record of the control (or budgets) topic: a BudgetControl keyed by its stream id,
   * with a printable, non-empty stream id and a spec {@link #parse} accepts.
   */
  public static Verdict check(
      Topic<BudgetControl> topic, String sourceTopic, byte[] key, byte[] value, int patchGrid) {
    Objects.requireNonNull(topic, "topic");
    String keyId = DeadLetters.streamIdOf(key);
    if (value == null) {
      return Verdict.refuse(
          keyId,
          "tombstone on the control topic: a token budget cannot be deleted;"
              + " send the default (e.g. avg:12) instead");
    }
    BudgetControl control;
    try {
      control = topic.valueSerde().deserializer().deserialize(sourceTopic, value);
    } catch (RuntimeException e) {
      return Verdict.refuse(keyId, "not a BudgetControl record: " + e.getMessage());
    }
    if (control == null) {
      return Verdict.refuse(keyId, "empty value on the control topic");
    }
    String id = control.getStreamId();
    String bad = streamIdProblem(id);
    if (bad != null) {
      return Verdict.refuse(id == null || id.isBlank() ? keyId : null, bad);
    }
    if (keyId == null) {
      return Verdict.refuse(
          id, "budget for stream " + id + " has no key (the key must be the stream id)");
    }
    if (!keyId.equals(id)) {
      return Verdict.refuse(
          id,
          "budget's key "
              + printable(keyId)
              + " is not its stream id "
              + id
              + " (the key must be the stream id)");
    }
    try {
      BudgetSpec c = parse(control.getCompressor(), patchGrid);
      return new Verdict(control, c, id, null);
    } catch (IllegalArgumentException e) {
      return Verdict.refuse(id, "bad token budget for stream " + id + ": " + e.getMessage());
    }
  }

  /** Why a stream id cannot carry a budget, or null when it can. */
  public static String streamIdProblem(String id) {
    if (id == null || id.isBlank()) {
      return "budget for an empty stream id";
    }
    if (id.length() > MAX_STREAM_ID_CHARS) {
      return "stream id of "
          + id.length()
          + " characters (at most "
          + MAX_STREAM_ID_CHARS
          + ") in a budget";
    }
    if (hasControlCharacters(id)) {
      return "stream id " + printable(id) + " contains control characters";
    }
    return null;
  }

  public static boolean hasControlCharacters(String s) {
    return s.codePoints().anyMatch(Character::isISOControl);
  }

  /** The text quoted, with control characters as \\uXXXX, so a log line stays one line. */
  public static String printable(String s) {
    StringBuilder sb = new StringBuilder("'");
    s.codePoints()
        .limit(80)
        .forEach(
            cp -> {
              if (Character.isISOControl(cp)) {
                sb.append(String.format("\\u%04x", cp));
              } else {
                sb.appendCodePoint(cp);
              }
            });
    if (s.codePointCount(0, s.length()) > 80) {
      sb.append("...");
    }
    return sb.append('\'').toString();
  }
}
