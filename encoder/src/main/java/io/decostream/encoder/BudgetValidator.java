package io.decostream.encoder;

import io.decostream.projector.PoolingMode;
import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.BudgetControl;
import io.decostream.schemas.DeadLetters;
import io.decostream.schemas.Topic;
import java.util.Objects;

/**
 * The one check of a token budget (issue 21 point 4, issue 18 point 7): the control topic's
 * validator, the global budget store's update processor and {@code deco budget} all call it, so a
 * budget the encoder accepts is exactly a budget every instance applies.
 */
public final class BudgetValidator {

  /** Longest stream id accepted (stream ids are short names; this bounds log lines and keys). */
  public static final int MAX_STREAM_ID_CHARS = 256;

  /** Longest compressor spec accepted, e.g. {@code average:12x12}. */
  public static final int MAX_SPEC_CHARS = 64;

  private BudgetValidator() {}

  /**
   * A checked control record: {@code control} and {@code compressor} when accepted, else {@code
   * reason} (streamId may then be null).
   */
  public record Verdict(
      BudgetControl control, TokenCompressor compressor, String streamId, String reason) {
    public boolean accepted() {
      return reason == null;
    }

    static Verdict refuse(String streamId, String reason) {
      return new Verdict(null, null, streamId, reason);
    }
  }

  /**
   * Parses and checks a compressor spec for a vision tower of {@code patchGrid x patchGrid} patches
   * ({@code patchGrid} 0: unknown, only the spec's form is checked).
   *
   * @throws IllegalArgumentException with the reason it is refused
   */
  public static TokenCompressor compressor(String spec, int patchGrid) {
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
    TokenCompressor c = TokenCompressor.parse(spec);
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
      if (c.mode() == PoolingMode.NONE && (c.outH() != patchGrid || c.outW() != patchGrid)) {
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

  /**
   * Checks one record of the control (or budgets) topic: a BudgetControl keyed by its stream id,
   * with a printable, non-empty stream id and a compressor {@link #compressor} accepts.
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
    if (id == null || id.isBlank()) {
      return Verdict.refuse(keyId, "budget for an empty stream id");
    }
    if (id.length() > MAX_STREAM_ID_CHARS) {
      return Verdict.refuse(
          null,
          "stream id of "
              + id.length()
              + " characters (at most "
              + MAX_STREAM_ID_CHARS
              + ") in a budget");
    }
    if (hasControlCharacters(id)) {
      return Verdict.refuse(null, "stream id " + printable(id) + " contains control characters");
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
      TokenCompressor c = compressor(control.getCompressor(), patchGrid);
      return new Verdict(control, c, id, null);
    } catch (IllegalArgumentException e) {
      return Verdict.refuse(id, "bad token budget for stream " + id + ": " + e.getMessage());
    }
  }

  static boolean hasControlCharacters(String s) {
    return s.codePoints().anyMatch(Character::isISOControl);
  }

  /** The text quoted, with control characters as \\uXXXX, so a log line stays one line. */
  static String printable(String s) {
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
