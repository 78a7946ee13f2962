package io.decostream.frames;

import io.decostream.schemas.VideoChunk;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.Frame;
import org.bytedeco.javacv.FrameGrabber;

/**
 * Decodes one {@link VideoChunk} in memory with FFmpeg (the first half of the frames stage): {@code
 * FFmpegFrameGrabber(new ByteArrayInputStream(data))} with the chunk's container and one decoder
 * thread; RGB24 output, made only for the frames a visitor asks for ({@link RgbConverter}), frames
 * larger than maxWidth x maxHeight scaled down preserving the aspect ratio.
 *
 * <p>Every frame gets an absolute timestamp: {@code chunk.startMicros + (frameTs -
 * videoStartTime)}, where videoStartTime is the container's start time of the video stream (not the
 * first decoded frame's time), so a chunk whose first frames are missing keeps its frames at the
 * right times.
 *
 * <p>Bounded against hostile or broken input (any failure is a {@link ChunkRejected}; issue 18
 * point 7's corpus exercises each): only the containers in {@link #CONTAINERS} (no playlist or
 * concat demuxers that could open other files), a claimed or decoded time span over
 * maxChunkSeconds, more bytes than maxChunkBytes, negative sequence or start, MPEG-TS that is not
 * whole 188-byte packets with sync bytes (truncated, bit errors, not TS), a declared codec the
 * bytes do not hold, coded frames (decoder or header) over {@link #MAX_CODED_DIMENSION}, more than
 * {@link #MAX_FRAMES_PER_SECOND} frames per second of chunk, decoding longer than maxDecodeMillis
 * (checked between frames, and cut from outside when FFmpeg does not return), undecodable bytes,
 * zero frames.
 *
 * <p>Stateless and thread-safe; each call opens its own decoder.
 */
public final class ChunkDecoder {

  /** Containers accepted in VideoChunk.container (FFmpeg demuxer names). */
  public static final Set<String> CONTAINERS = Set.of("mpegts", "mp4", "mov", "matroska", "webm");

  /** Largest coded width or height accepted before scaling. */
  public static final int MAX_CODED_DIMENSION = 8192;

  /** Frame-count bound: more frames than this per second of maxChunkSeconds is rejected. */
  public static final int MAX_FRAMES_PER_SECOND = 240;

  /** A decoded frame: row-major packed R,G,B bytes. */
  public record RgbFrame(int width, int height, byte[] rgb) {
    public RgbFrame {
      if (width <= 0 || height <= 0 || rgb == null || rgb.length != width * height * 3) {
        throw new IllegalArgumentException(
            "RGB frame " + width + "x" + height + " needs " + (width * height * 3) + " bytes");
      }
    }
  }

  /** A decoded frame with its absolute stream time. */
  public record DecodedFrame(long timestampMicros, RgbFrame image) {}

  /**
   * Sees every decoded frame in order. {@code image.get()} converts the current frame to RGB and is
   * only valid during the call, so frames that are not sampled cost no conversion.
   */
  @FunctionalInterface
  public interface FrameVisitor {
    void frame(long timestampMicros, Supplier<RgbFrame> image) throws Exception;
  }

  /**
   * What one decode did.
   *
   * @param frames frames decoded
   * @param firstMicros absolute time of the first frame
   * @param lastMicros absolute time of the last frame
   * @param codedWidth coded width
   * @param codedHeight coded height
   * @param outWidth width of the RGB frames (after scaling)
   * @param outHeight height of the RGB frames (after scaling)
   * @param millis wall-clock decode time
   */
  public record Stats(
      int frames,
      long firstMicros,
      long lastMicros,
      int codedWidth,
      int codedHeight,
      int outWidth,
      int outHeight,
      double millis) {}

  private final FramesConfig config;

  public ChunkDecoder(FramesConfig config) {
    this.config = Objects.requireNonNull(config, "config");
  }

  /**
   * The output size for a coded size: scaled down to fit maxWidth x maxHeight, aspect kept, never
   * up.
   */
  public static int[] fit(int width, int height, int maxWidth, int maxHeight) {
    if (width <= maxWidth && height <= maxHeight) {
      return new int[] {width, height};
    }
    double s = Math.min(maxWidth / (double) width, maxHeight / (double) height);
    return new int[] {
      Math.max(1, (int) Math.round(width * s)), Math.max(1, (int) Math.round(height * s))
    };
  }

  /**
   * Decodes every frame into memory (tests and small chunks; the topology uses the visitor form).
   */
  public List<DecodedFrame> decodeAll(VideoChunk chunk) throws ChunkRejected {
    List<DecodedFrame> out = new ArrayList<>();
    decode(chunk, (ts, img) -> out.add(new DecodedFrame(ts, img.get())));
    return out;
  }

  /**
   * Decodes the chunk, calling {@code visitor} for each frame in presentation order.
   *
   * <p>The decode runs on a worker thread with a deadline of maxDecodeMillis (issue 18 point 7: "a
   * decoder that hangs is cut at its bound"): FFmpeg can spin inside one call on hostile input,
   * where the check between frames never runs. At the deadline the caller gets a rejection ("decode
   * exceeded N s"), the input stream FFmpeg reads from starts failing, the visitor is no longer
   * called and the worker is interrupted; a worker stuck in native code is abandoned (daemon).
   */
  public Stats decode(VideoChunk chunk, FrameVisitor visitor) throws ChunkRejected {
    Objects.requireNonNull(chunk, "chunk");
    Objects.requireNonNull(visitor, "visitor");
    long t0 = System.nanoTime();
    String container = checkClaims(chunk);
    ByteBuffer data = chunk.getData();
    byte[] bytes = new byte[data.remaining()];
    data.duplicate().get(bytes);
    if (container.equals("mpegts")) {
      checkTransportStream(chunk, bytes);
    }
    AtomicBoolean cancelled = new AtomicBoolean();
    Future<Stats> run =
        WORKERS.submit(() -> decodeOnWorker(chunk, container, bytes, visitor, t0, cancelled));
    try {
      // a little grace over the bound so the in-loop check (with its frame count) usually fires
      return run.get(config.maxDecodeMillis() + DEADLINE_GRACE_MILLIS, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      cancelled.set(true);
      run.cancel(true);
      throw new ChunkRejected(
          String.format(
              Locale.ROOT,
              "decode exceeded %s s on chunk %d (the decoder was cut at its bound)",
              seconds(config.maxDecodeMillis()),
              chunk.getSequence()));
    } catch (InterruptedException e) {
      cancelled.set(true);
      run.cancel(true);
      Thread.currentThread().interrupt();
      throw new ChunkRejected("interrupted while decoding chunk " + chunk.getSequence(), e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof ChunkRejected r) {
        throw r;
      }
      if (c instanceof RuntimeException r) {
        throw r;
      }
      if (c instanceof Error err) {
        throw err;
      }
      throw new ChunkRejected("decoding chunk " + chunk.getSequence() + " failed: " + c, c);
    }
  }

  /** The decode itself, on a worker thread of {@link #WORKERS}. */
  private Stats decodeOnWorker(
      VideoChunk chunk,
      String container,
      byte[] bytes,
      FrameVisitor visitor,
      long t0,
      AtomicBoolean cancelled)
      throws ChunkRejected, InterruptedException {
    FaultHooks.maybeHang(bytes);
    avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    long deadline = t0 + config.maxDecodeMillis() * 1_000_000L;
    FrameVisitor guarded =
        (ts, img) -> {
          if (cancelled.get()) {
            throw new ChunkRejected("decode of chunk " + chunk.getSequence() + " was cut");
          }
          visitor.frame(ts, img);
        };
    try (FFmpegFrameGrabber g =
        new FFmpegFrameGrabber(new CancellableInputStream(bytes, cancelled, deadline))) {
      g.setFormat(container);
      // the decoded picture as it is (Frame.opaque); RgbConverter makes RGB of the sampled ones
      g.setImageMode(FrameGrabber.ImageMode.RAW);
      // One decoder thread (issue 22 point 2): the stage decodes many streams' chunks at once on
      // its
      // own threads, and a 1 s chunk is too short for FFmpeg's frame threads to pay for their start
      // and hand-offs; measured on 336x336 H.264 chunks of 8 frames, 5.4-6.5 ms of CPU a chunk with
      // FFmpeg's default threading against 2.6-3.4 with one thread.
      g.setVideoOption("threads", "1");
      // the grabber's timestamps come from each frame's pts, never from a probed frame rate: skip
      // the probe's frame-rate estimate (0.3-0.5 ms of the ~3 ms a chunk costs)
      g.setOption("fpsprobesize", "0");
      open(g, chunk, container);
      checkCodec(chunk, g);
      int cw = g.getImageWidth();
      int ch = g.getImageHeight();
      checkCodedSize(chunk, g, cw, ch);
      int[] out = fit(cw, ch, config.maxWidth(), config.maxHeight());
      Grabbed run;
      try (RgbConverter rgb = new RgbConverter(out[0], out[1])) {
        run = grabAll(g, rgb, chunk, guarded, deadline);
      }
      return new Stats(
          run.frames(),
          run.first(),
          run.last(),
          cw,
          ch,
          out[0],
          out[1],
          (System.nanoTime() - t0) / 1e6);
    } catch (FrameGrabber.Exception e) {
      throw overDeadline(chunk, deadline, cancelled, -1)
          .orElse(
              new ChunkRejected(
                  "FFmpeg failed on chunk " + chunk.getSequence() + ": " + clean(e), e));
    } catch (ChunkRejected e) {
      // past the deadline the input reads as ended: whatever FFmpeg then says, the cause is time
      throw overDeadline(chunk, deadline, cancelled, -1).orElse(e);
    }
  }

  /** The time-bound rejection when the deadline has passed (n frames done, -1 unknown). */
  private java.util.Optional<ChunkRejected> overDeadline(
      VideoChunk chunk, long deadline, AtomicBoolean cancelled, int n) {
    if (!cancelled.get() && System.nanoTime() <= deadline) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(
        new ChunkRejected(
            String.format(
                Locale.ROOT,
                "decode exceeded %s s on chunk %d%s",
                seconds(config.maxDecodeMillis()),
                chunk.getSequence(),
                n >= 0 ? " (" + n + " frames done)" : "")));
  }

  /** Grace over maxDecodeMillis before the caller stops waiting for the worker. */
  static final long DEADLINE_GRACE_MILLIS = 250;

  /**
   * Decoder threads: daemon, so one abandoned in native code after its deadline never keeps the JVM
   * alive; a new thread is made when all are busy.
   */
  private static final ExecutorService WORKERS =
      Executors.newCachedThreadPool(
          new ThreadFactory() {
            private final AtomicInteger n = new AtomicInteger();

            @Override
            public Thread newThread(Runnable r) {
              Thread t = new Thread(r, "chunk-decoder-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            }
          });

  /**
   * The bytes FFmpeg reads; once the decode is cut (or past its deadline) every read is the end of
   * the input, so a demuxer looping over its input stops at its next read.
   */
  private static final class CancellableInputStream extends ByteArrayInputStream {
    private final AtomicBoolean cancelled;
    private final long deadline;

    CancellableInputStream(byte[] bytes, AtomicBoolean cancelled, long deadline) {
      super(bytes);
      this.cancelled = cancelled;
      this.deadline = deadline;
    }

    private boolean cut() {
      return cancelled.get() || System.nanoTime() > deadline;
    }

    @Override
    public synchronized int read(byte[] b, int off, int len) {
      return cut() ? -1 : super.read(b, off, len);
    }

    @Override
    public synchronized int read() {
      return cut() ? -1 : super.read();
    }
  }

  static String seconds(long millis) {
    return millis % 1000 == 0
        ? Long.toString(millis / 1000)
        : String.format(Locale.ROOT, "%.3f", millis / 1000.0);
  }

  /**
   * MPEG-TS structure, checked before FFmpeg (which skips damaged packets silently and decodes what
   * is left): a whole number of 188-byte packets (ingest never cuts a packet; a chunk cut short is
   * truncated), each starting with the 0x47 sync byte (a damaged packet means bit errors; a chunk
   * that is not TS at all fails on the first packet: the declared container is wrong).
   */
  static void checkTransportStream(VideoChunk chunk, byte[] bytes) throws ChunkRejected {
    if ((bytes[0] & 0xFF) != 0x47) {
      throw new ChunkRejected(
          "chunk "
              + chunk.getSequence()
              + " declares container mpegts but its bytes do not start with the TS sync byte"
              + " 0x47 (wrong container, or not video)");
    }
    if (bytes.length % TS_PACKET != 0) {
      throw new ChunkRejected(
          "chunk "
              + chunk.getSequence()
              + " is truncated: "
              + bytes.length
              + " bytes is not a whole number of 188-byte MPEG-TS packets");
    }
    for (int i = 0; i < bytes.length; i += TS_PACKET) {
      if ((bytes[i] & 0xFF) != 0x47) {
        throw new ChunkRejected(
            "chunk "
                + chunk.getSequence()
                + " is corrupt: MPEG-TS packet "
                + (i / TS_PACKET)
                + " (byte "
                + i
                + ") has no sync byte (bit errors or spliced data)");
      }
    }
  }

  private static final int TS_PACKET = 188;

  /**
   * The bounds checked before FFmpeg sees a byte: an allowed demuxer (so no playlist or concat
   * demuxer can open other files), some data, and a claimed duration and size within the limits.
   * Returns the container name FFmpeg is told to use.
   */
  private String checkClaims(VideoChunk chunk) throws ChunkRejected {
    long maxSpan = Math.round(config.maxChunkSeconds() * 1e6);
    String container =
        chunk.getContainer() == null ? "" : chunk.getContainer().toLowerCase(Locale.ROOT);
    if (!CONTAINERS.contains(container)) {
      throw new ChunkRejected(
          "unsupported container '" + chunk.getContainer() + "' (accepted: " + CONTAINERS + ")");
    }
    ByteBuffer data = chunk.getData();
    if (data == null || !data.hasRemaining()) {
      throw new ChunkRejected("chunk " + chunk.getSequence() + " has no data");
    }
    if (chunk.getDurationMicros() < 0 || chunk.getDurationMicros() > maxSpan) {
      throw new ChunkRejected(
          String.format(
              Locale.ROOT,
              "chunk %d claims %.3f s, over the %.3f s limit",
              chunk.getSequence(),
              chunk.getDurationMicros() / 1e6,
              config.maxChunkSeconds()));
    }
    if (chunk.getSequence() < 0) {
      throw new ChunkRejected("chunk sequence " + chunk.getSequence() + " is negative");
    }
    if (chunk.getStartMicros() < 0) {
      throw new ChunkRejected(
          "chunk " + chunk.getSequence() + " has a negative start time " + chunk.getStartMicros());
    }
    if (!(chunk.getFrameRate() >= 0 && chunk.getFrameRate() <= MAX_FRAMES_PER_SECOND)) {
      throw new ChunkRejected(
          "chunk "
              + chunk.getSequence()
              + " claims "
              + chunk.getFrameRate()
              + " fps (accepted: 0 for unknown up to "
              + MAX_FRAMES_PER_SECOND
              + ")");
    }
    if (data.remaining() > config.maxChunkBytes()) {
      throw new ChunkRejected(
          "chunk "
              + chunk.getSequence()
              + " is "
              + data.remaining()
              + " bytes, over the "
              + config.maxChunkBytes()
              + " byte limit");
    }
    if (chunk.getWidth() < 0
        || chunk.getHeight() < 0
        || chunk.getWidth() > MAX_CODED_DIMENSION
        || chunk.getHeight() > MAX_CODED_DIMENSION) {
      throw new ChunkRejected(
          "chunk "
              + chunk.getSequence()
              + " claims "
              + chunk.getWidth()
              + "x"
              + chunk.getHeight()
              + ", outside 0.."
              + MAX_CODED_DIMENSION
              + " pixels");
    }
    return container;
  }

  /**
   * Opens the demuxer and decoder; bytes FFmpeg cannot open, or a container without a video stream,
   * are the "undecodable bytes" rejection.
   */
  private static void open(FFmpegFrameGrabber g, VideoChunk chunk, String container)
      throws ChunkRejected {
    try {
      g.start();
    } catch (Exception e) {
      throw new ChunkRejected(
          "cannot open chunk "
              + chunk.getSequence()
              + " as "
              + container
              + " (corrupt or not video): "
              + clean(e),
          e);
    }
    if (g.getVideoStream() < 0) {
      throw new ChunkRejected(
          "chunk "
              + chunk.getSequence()
              + " has no video stream (corrupt or not "
              + container
              + ")");
    }
  }

  /**
   * The coded size the stream really has (the chunk's claim was checked before opening): usable,
   * and within MAX_CODED_DIMENSION before any scaling. Both the decoder's size and the size the
   * container/bitstream header declares are checked: FFmpeg refuses to allocate a frame for a
   * hostile 16384x16384 header, so the decoder may report 0x0 where the header claims the giant
   * size, and the reason must name the header's claim.
   */
  private static void checkCodedSize(VideoChunk chunk, FFmpegFrameGrabber g, int cw, int ch)
      throws ChunkRejected {
    AVStream st = g.getFormatContext().streams(g.getVideoStream());
    int hw = st != null && st.codecpar() != null ? st.codecpar().width() : 0;
    int hh = st != null && st.codecpar() != null ? st.codecpar().height() : 0;
    if (Math.max(cw, hw) > MAX_CODED_DIMENSION || Math.max(ch, hh) > MAX_CODED_DIMENSION) {
      throw new ChunkRejected(
          "chunk "
              + chunk.getSequence()
              + " declares video of "
              + Math.max(cw, hw)
              + "x"
              + Math.max(ch, hh)
              + ", over the "
              + MAX_CODED_DIMENSION
              + "x"
              + MAX_CODED_DIMENSION
              + " decode limit");
    }
    if (cw <= 0 || ch <= 0) {
      // FFmpeg zeroes a size its decoder refuses (ff_set_dimensions): e.g. a 16k x 16k header
      throw new ChunkRejected(
          "chunk "
              + chunk.getSequence()
              + " has no usable video size ("
              + cw
              + "x"
              + ch
              + "): the decoder refused the frame size its headers declare (invalid or"
              + " giant, e.g. 16384x16384)");
    }
  }

  /**
   * The declared codec (VideoChunk.codec, blank = unknown) must be what the bytes hold: a chunk
   * whose description disagrees with its content is rejected rather than trusted.
   */
  private static void checkCodec(VideoChunk chunk, FFmpegFrameGrabber g) throws ChunkRejected {
    String declared = chunk.getCodec() == null ? "" : chunk.getCodec().trim();
    if (declared.isEmpty()) {
      return;
    }
    AVStream st = g.getFormatContext().streams(g.getVideoStream());
    String actual =
        st != null && st.codecpar() != null
            ? avcodec.avcodec_get_name(st.codecpar().codec_id()).getString()
            : "";
    String decoder = String.valueOf(g.getVideoCodecName());
    if (!declared.equalsIgnoreCase(actual) && !declared.equalsIgnoreCase(decoder)) {
      throw new ChunkRejected(
          "chunk "
              + chunk.getSequence()
              + " declares codec '"
              + declared
              + "' but its bytes hold "
              + (actual.isEmpty() ? decoder : actual)
              + " (description does not match the content)");
    }
  }

  /** Frames handed to the visitor and the absolute times of the first and last of them. */
  private record Grabbed(int frames, long first, long last) {}

  /**
   * The decode loop: each frame is timed from the video stream's start (the class comment's
   * absolute timestamp), checked against the decode-time, time-span and frame-count bounds, and
   * handed to the visitor. Zero frames is a rejection.
   */
  private Grabbed grabAll(
      FFmpegFrameGrabber g, RgbConverter rgb, VideoChunk chunk, FrameVisitor visitor, long deadline)
      throws ChunkRejected {
    long maxSpan = Math.round(config.maxChunkSeconds() * 1e6);
    int maxFrames =
        (int)
            Math.min(
                Integer.MAX_VALUE, Math.ceil(config.maxChunkSeconds() * MAX_FRAMES_PER_SECOND));
    long base = videoStartMicros(g);
    int n = 0;
    long first = 0;
    long last = 0;
    while (true) {
      checkDeadline(chunk, deadline, n);
      Frame f = grabNext(g, chunk, n);
      if (f == null) {
        break;
      }
      if (!(f.opaque instanceof AVFrame)) {
        continue;
      }
      if (base == Long.MIN_VALUE) {
        // the container does not know its start time: the first frame is time zero
        base = f.timestamp;
      }
      long rel = f.timestamp - base;
      if (rel > maxSpan) {
        throw new ChunkRejected(
            String.format(
                Locale.ROOT,
                "chunk %d decodes to more than the %.3f s limit (frame at %.3f s)",
                chunk.getSequence(),
                config.maxChunkSeconds(),
                rel / 1e6));
      }
      if (++n > maxFrames) {
        throw new ChunkRejected(
            "chunk " + chunk.getSequence() + " has more than " + maxFrames + " frames");
      }
      long abs = chunk.getStartMicros() + rel;
      if (n == 1) {
        first = abs;
      }
      last = abs;
      visit(visitor, chunk, rgb, f, abs, n);
    }
    if (n == 0) {
      throw new ChunkRejected(
          "chunk "
              + chunk.getSequence()
              + " decoded to zero video frames (corrupt or"
              + " truncated before the first complete frame)");
    }
    return new Grabbed(n, first, last);
  }

  /** The decode-time bound, checked between frames (n frames done so far). */
  private void checkDeadline(VideoChunk chunk, long deadline, int n) throws ChunkRejected {
    if (System.nanoTime() > deadline) {
      throw new ChunkRejected(
          String.format(
              Locale.ROOT,
              "decode exceeded %s s on chunk %d (%d frames done)",
              seconds(config.maxDecodeMillis()),
              chunk.getSequence(),
              n));
    }
  }

  /**
   * The next decoded frame, or null at the end; a decoder error mid-chunk is a rejection. In the
   * grabber's RAW mode there is no RGB conversion: the decoded picture is in {@code Frame.opaque}
   * and converted only if the visitor asks for it.
   */
  private static Frame grabNext(FFmpegFrameGrabber g, VideoChunk chunk, int n)
      throws ChunkRejected {
    try {
      return g.grabImage();
    } catch (Exception e) {
      throw new ChunkRejected(
          "decode error in chunk " + chunk.getSequence() + " after " + n + " frames: " + clean(e),
          e);
    }
  }

  /**
   * Hands frame n to the visitor with a lazy RGB conversion; a visitor's own rejection passes
   * through, any other failure rejects the chunk.
   */
  private static void visit(
      FrameVisitor visitor, VideoChunk chunk, RgbConverter rgb, Frame f, long abs, int n)
      throws ChunkRejected {
    try {
      visitor.frame(abs, () -> rgb.convert((AVFrame) f.opaque));
    } catch (ChunkRejected e) {
      throw e;
    } catch (Exception e) {
      throw new ChunkRejected(
          "processing frame " + n + " of chunk " + chunk.getSequence() + " failed: " + e, e);
    }
  }

  /** An FFmpeg exception's message without JavaCV's hint about FFmpegLogCallback. */
  static String clean(Throwable e) {
    String m = String.valueOf(e.getMessage());
    int i = m.indexOf(" (For more details");
    m = i >= 0 ? m.substring(0, i) : m;
    // JavaCV names the input by its Java object and suggests setFormat(): noise in a reason
    return m.replaceAll(" \"[A-Za-z0-9_.$]+@[0-9a-f]+\"", "")
        .replace(" (Has setFormat() been called?)", "");
  }

  /**
   * Start time of the video stream in microseconds, or MIN_VALUE when the container does not know
   * it.
   */
  private static long videoStartMicros(FFmpegFrameGrabber g) {
    AVStream st = g.getFormatContext().streams(g.getVideoStream());
    if (st != null && st.start_time() != avutil.AV_NOPTS_VALUE) {
      return Math.round(st.start_time() * 1e6 * st.time_base().num() / st.time_base().den());
    }
    long fmt = g.getFormatContext().start_time();
    return fmt != avutil.AV_NOPTS_VALUE ? fmt : Long.MIN_VALUE;
  }
}
