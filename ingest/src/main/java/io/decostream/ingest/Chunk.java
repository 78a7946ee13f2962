package io.decostream.ingest;

/**
 * One self-contained piece of video cut by the {@link Chunker}: decodable on its own (it starts on
 * a keyframe and carries its own parameter sets), with timestamps inside restarting at 0.
 *
 * @param sequence chunk number within the stream, 0, 1, 2, ... without gaps (also across loops and
 *     reconnects)
 * @param startMicros presentation time of the chunk's first frame relative to the stream start;
 *     after a reconnect to a live source it jumps by the time the source was away
 * @param durationMicros time from this chunk's first frame to the next chunk's first frame (for the
 *     last chunk: to the end of its last frame)
 * @param container FFmpeg format name of {@code data}: always "mpegts"
 * @param codec codec inside, e.g. "h264" or "mpeg4"
 * @param width coded width in pixels
 * @param height coded height in pixels
 * @param frameRate nominal source frame rate (0 when unknown)
 * @param frames number of video frames (packets) in the chunk
 * @param remuxed true when the source packets were copied, false when re-encoded
 * @param data the MPEG-TS bytes
 */
public record Chunk(
    long sequence,
    long startMicros,
    long durationMicros,
    String container,
    String codec,
    int width,
    int height,
    double frameRate,
    int frames,
    boolean remuxed,
    byte[] data) {

  /** End of the chunk relative to the stream start. */
  public long endMicros() {
    return startMicros + durationMicros;
  }

  @Override
  public String toString() {
    return "Chunk[#"
        + sequence
        + " start="
        + startMicros
        + "us dur="
        + durationMicros
        + "us "
        + codec
        + " "
        + width
        + "x"
        + height
        + " "
        + frames
        + " frames "
        + data.length
        + " bytes"
        + (remuxed ? " remuxed" : " re-encoded")
        + "]";
  }
}
