package io.decostream.frames;

/**
 * A video chunk the frames stage refuses: corrupt or undecodable data, no frames, longer or larger
 * than the configured limits, or over the decode-time budget. The processor turns it into a
 * DeadLetter with {@link #reason()} and the stream goes on.
 */
public final class ChunkRejected extends Exception {

  private final String reason;

  public ChunkRejected(String reason) {
    this(reason, null);
  }

  public ChunkRejected(String reason, Throwable cause) {
    super(reason, cause);
    this.reason = reason;
  }

  /** Human-readable reason (what the DeadLetter carries). */
  public String reason() {
    return reason;
  }
}
