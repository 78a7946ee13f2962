package io.decostream.ingest;

import java.util.Objects;

/**
 * How a {@link Chunker} reads and cuts a source.
 *
 * @param source a file path, an rtsp:// (or rtsps://, http(s)://, srt://) URL, or a V4L2 device
 *     /dev/videoN
 * @param chunkSeconds target chunk length in seconds (0.2..10). Chunks are cut on keyframes when
 *     remuxing, so with a keyframe interval longer than this every chunk is one keyframe interval
 *     long
 * @param realtime pace emission at the source rate: a chunk is handed over no earlier than the
 *     wall-clock time its last frame would have been captured (for files; live sources pace
 *     themselves)
 * @param loop at the end of a file start again, with start times continuing to increase (files
 *     only)
 * @param maxChunks stop after this many chunks (0 = no limit)
 * @param mode AUTO (try remuxing into MPEG-TS; on any failure re-encode), REMUX (remux or fail) or
 *     REENCODE
 * @param live RTSP transport, reconnect backoff and give-up time for live sources
 */
public record ChunkerOptions(
    String source,
    double chunkSeconds,
    boolean realtime,
    boolean loop,
    long maxChunks,
    Mode mode,
    LiveOptions live) {

  /** Whether packets are copied or frames re-encoded. */
  public enum Mode {
    AUTO,
    REMUX,
    REENCODE
  }

  public ChunkerOptions {
    if (source == null || source.isBlank()) {
      throw new IllegalArgumentException(
          "source must be a file path, an rtsp:// URL or /dev/videoN");
    }
    if (!(chunkSeconds >= 0.2 && chunkSeconds <= 10)) {
      throw new IllegalArgumentException("chunkSeconds must be in 0.2..10, got " + chunkSeconds);
    }
    if (maxChunks < 0) {
      throw new IllegalArgumentException(
          "maxChunks must be >= 0 (0 = unlimited), got " + maxChunks);
    }
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(live, "live");
    if (loop && Chunker.isLive(source)) {
      throw new IllegalArgumentException(
          "loop is only possible for files, not for live source " + source);
    }
  }

  /** Options with the default {@link LiveOptions}. */
  public ChunkerOptions(
      String source,
      double chunkSeconds,
      boolean realtime,
      boolean loop,
      long maxChunks,
      Mode mode) {
    this(source, chunkSeconds, realtime, loop, maxChunks, mode, LiveOptions.defaults());
  }

  /** 1 s chunks, no pacing, no loop, no limit, AUTO mode, default live options. */
  public static ChunkerOptions of(String source) {
    return new ChunkerOptions(source, 1.0, false, false, 0, Mode.AUTO);
  }

  public ChunkerOptions withLive(LiveOptions l) {
    return new ChunkerOptions(source, chunkSeconds, realtime, loop, maxChunks, mode, l);
  }

  public ChunkerOptions withChunkSeconds(double s) {
    return new ChunkerOptions(source, s, realtime, loop, maxChunks, mode, live);
  }

  public ChunkerOptions withRealtime(boolean r) {
    return new ChunkerOptions(source, chunkSeconds, r, loop, maxChunks, mode, live);
  }

  public ChunkerOptions withLoop(boolean l) {
    return new ChunkerOptions(source, chunkSeconds, realtime, l, maxChunks, mode, live);
  }

  public ChunkerOptions withMaxChunks(long n) {
    return new ChunkerOptions(source, chunkSeconds, realtime, loop, n, mode, live);
  }

  public ChunkerOptions withMode(Mode m) {
    return new ChunkerOptions(source, chunkSeconds, realtime, loop, maxChunks, m, live);
  }
}
