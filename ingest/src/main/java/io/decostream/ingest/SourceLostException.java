package io.decostream.ingest;

import java.time.Duration;
import java.util.Locale;

/**
 * A live source stayed unreachable longer than {@link LiveOptions#giveUpAfter()}: the chunker gave
 * up on it. {@code deco publish} exits non-zero on it so a supervisor can tell the run failed
 * (issue 18 point 5); everything read before the loss was handed to the sink.
 */
public final class SourceLostException extends Exception {

  private static final long serialVersionUID = 1L;

  private final transient Duration unreachableFor;
  private final int attempts;

  public SourceLostException(
      String source, Duration unreachableFor, int attempts, String lastError) {
    super(
        String.format(
            Locale.ROOT,
            "gave up on source %s: unreachable for %.1f s (%d reconnect attempt%s); last error: %s",
            source,
            unreachableFor.toMillis() / 1e3,
            attempts,
            attempts == 1 ? "" : "s",
            lastError));
    this.unreachableFor = unreachableFor;
    this.attempts = attempts;
  }

  /** How long the source was unreachable when the chunker gave up. */
  public Duration unreachableFor() {
    return unreachableFor;
  }

  /** Number of failed reconnect attempts. */
  public int attempts() {
    return attempts;
  }
}
