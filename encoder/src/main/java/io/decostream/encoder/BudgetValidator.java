package io.decostream.encoder;

import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.BudgetControl;
import io.decostream.schemas.BudgetSpec;
import io.decostream.schemas.Topic;

/**
 * The encoder's side of the one token-budget check (issue 21 point 4, issue 18 point 7): the
 * control topic's validator and the global budget store's update processor call it. The check
 * itself is {@link BudgetSpec} (schemas), which {@code deco budget} and the web console make too,
 * so a budget they send is exactly a budget every encoder instance applies; this class only turns
 * an accepted spec into the projector's {@link TokenCompressor}.
 */
public final class BudgetValidator {

  /** Longest stream id accepted. */
  public static final int MAX_STREAM_ID_CHARS = BudgetSpec.MAX_STREAM_ID_CHARS;

  /** Longest compressor spec accepted, e.g. {@code average:12x12}. */
  public static final int MAX_SPEC_CHARS = BudgetSpec.MAX_SPEC_CHARS;

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
  }

  /**
   * Parses and checks a compressor spec for a vision tower of {@code patchGrid x patchGrid} patches
   * ({@code patchGrid} 0: unknown, only the spec's form is checked).
   *
   * @throws IllegalArgumentException with the reason it is refused
   */
  public static TokenCompressor compressor(String spec, int patchGrid) {
    return TokenCompressor.parse(BudgetSpec.parse(spec, patchGrid).spec());
  }

  /** {@link BudgetSpec#check}, with the accepted spec as a compressor. */
  public static Verdict check(
      Topic<BudgetControl> topic, String sourceTopic, byte[] key, byte[] value, int patchGrid) {
    BudgetSpec.Verdict v = BudgetSpec.check(topic, sourceTopic, key, value, patchGrid);
    if (!v.accepted()) {
      return new Verdict(null, null, v.streamId(), v.reason());
    }
    return new Verdict(v.control(), TokenCompressor.parse(v.spec().spec()), v.streamId(), null);
  }

  /** The text quoted, with control characters as \\uXXXX, so a log line stays one line. */
  static String printable(String s) {
    return BudgetSpec.printable(s);
  }
}
