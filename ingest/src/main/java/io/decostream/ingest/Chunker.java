package io.decostream.ingest;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.bytedeco.ffmpeg.avcodec.AVCodecParameters;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avdevice;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cuts any source FFmpeg can open (a file, an rtsp:// URL, a V4L2 camera /dev/videoN) into
 * self-contained MPEG-TS chunks of about {@link ChunkerOptions#chunkSeconds()} each: the ingest
 * step of the pipeline (design.md, module ingest), feeding the video-chunks topic.
 *
 * <h2>Remux or re-encode</h2>
 *
 * When the codec can be carried in MPEG-TS (h264, hevc, mpeg4, mpeg1/2video) the compressed packets
 * are copied without re-encoding; every chunk starts on a keyframe, so it decodes on its own (for
 * H.264/HEVC FFmpeg's MPEG-TS muxer converts to Annex B and repeats the parameter sets; for MPEG-4
 * Part 2 the global header is put in front of each chunk's keyframe). A chunk is cut at the first
 * keyframe at or after the target length, so <b>chunks are only as short as the source's keyframe
 * interval allows</b>: with keyframes every 2 s and 1 s chunks requested, every chunk is 2 s long.
 * The first remuxed chunk is test-decoded; if it does not decode, the chunker falls back to
 * re-encoding. Other codecs (raw webcam video, MJPEG, VP8/VP9, ...) are decoded and re-encoded with
 * H.264 (openh264) or MPEG-4, one keyframe per chunk. Audio is dropped: the pipeline is video-only.
 *
 * <h2>Time</h2>
 *
 * Start times are relative to the first emitted frame of the stream (0 for the first chunk) and
 * keep increasing across loops. Timestamps inside each chunk restart at 0.
 *
 * <p>Not thread-safe except for {@link #stop()}, which may be called from any thread (e.g. a
 * shutdown hook).
 */
public final class Chunker {

  private static final Logger LOG = LoggerFactory.getLogger(Chunker.class);

  /** Codecs whose packets are copied into MPEG-TS without re-encoding. */
  public static final Set<String> REMUXABLE =
      Set.of("h264", "hevc", "mpeg4", "mpeg2video", "mpeg1video");

  /** The container of every chunk. */
  public static final String CONTAINER = "mpegts";

  private static final Pattern LIVE_URL =
      Pattern.compile("^(rtsps?|rtmps?|srt|udp|tcp|https?)://.*", Pattern.CASE_INSENSITIVE);

  private final ChunkerOptions options;
  private final AtomicBoolean stopped = new AtomicBoolean();

  // run state
  private long sequence;
  private long emitted;
  private long loopOffsetMicros;
  private long lastEndMicros;
  private long passOriginMicros;
  private long wallStartNanos;
  private boolean remuxVerified;

  public Chunker(ChunkerOptions options) {
    this.options = Objects.requireNonNull(options, "options");
  }

  /** Whether {@code source} is a live source (camera or network URL) rather than a file. */
  public static boolean isLive(String source) {
    return source.startsWith("/dev/video") || LIVE_URL.matcher(source).matches();
  }

  /** Asks {@link #run(ChunkSink)} to return soon; a partly filled chunk is dropped. Any thread. */
  public void stop() {
    stopped.set(true);
  }

  /** Whether {@link #stop()} was called. */
  public boolean isStopped() {
    return stopped.get();
  }

  /** Number of chunks handed to the sink so far. */
  public long emittedChunks() {
    return emitted;
  }

  /**
   * Reads the source and hands every chunk to {@code sink}, until the end of the source (without
   * loop), {@link ChunkerOptions#maxChunks()} chunks, or {@link #stop()}.
   *
   * @throws IllegalArgumentException if the source cannot be opened or has no video
   * @throws Exception whatever the sink throws, or an FFmpeg failure while reading
   */
  public void run(ChunkSink sink) throws Exception {
    Objects.requireNonNull(sink, "sink");
    avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    wallStartNanos = System.nanoTime();
    ChunkerOptions.Mode mode = options.mode();
    boolean firstPass = true;
    while (!stopped.get() && !limitReached()) {
      Pass result;
      try (FFmpegFrameGrabber g = open(options.source())) {
        String codec = g.getVideoCodecName();
        ChunkerOptions.Mode m = resolve(mode, codec);
        passOriginMicros = Long.MIN_VALUE;
        long emittedBefore = emitted;
        result = m == ChunkerOptions.Mode.REMUX ? remuxPass(g, sink, codec) : reencodePass(g, sink);
        if (result == Pass.REMUX_FAILED) {
          LOG.warn(
              "remuxing {} ({}) into MPEG-TS gave an undecodable chunk; re-encoding instead",
              options.source(),
              codec);
          mode = ChunkerOptions.Mode.REENCODE;
          if (isLive(options.source())) {
            // cannot rewind a live source: keep reading it, re-encoding from here on
            passOriginMicros = Long.MIN_VALUE;
            result = reencodePass(g, sink);
          } else {
            continue; // reopen the file from the start, nothing was emitted yet
          }
        }
        if (emitted == emittedBefore && firstPass && result == Pass.END) {
          throw new IllegalArgumentException(
              "source " + options.source() + " has no decodable video");
        }
      }
      firstPass = false;
      loopOffsetMicros = lastEndMicros;
      if (result != Pass.END || !options.loop()) {
        break;
      }
    }
  }

  /** Convenience for tests and tools: all chunks of a (non-looping) source in a list. */
  public static java.util.List<Chunk> readAll(ChunkerOptions options) throws Exception {
    if (options.loop() && options.maxChunks() == 0) {
      throw new IllegalArgumentException("readAll of a looping source needs maxChunks");
    }
    java.util.List<Chunk> out = new java.util.ArrayList<>();
    new Chunker(options).run(out::add);
    return out;
  }

  /**
   * Decodes {@code data} in the given container on its own and returns the number of video frames,
   * or 0 when nothing decodes (used to verify remuxed chunks).
   */
  public static int countDecodableFrames(byte[] data, String container) {
    avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    try (FFmpegFrameGrabber d = new FFmpegFrameGrabber(new ByteArrayInputStream(data))) {
      d.setFormat(container);
      d.start();
      if (d.getVideoStream() < 0) {
        return 0;
      }
      int n = 0;
      while (d.grabImage() != null) {
        n++;
      }
      return n;
    } catch (Exception e) {
      return 0;
    }
  }

  private enum Pass {
    END,
    STOPPED,
    REMUX_FAILED
  }

  private ChunkerOptions.Mode resolve(ChunkerOptions.Mode mode, String codec) {
    boolean canRemux = codec != null && REMUXABLE.contains(codec);
    return switch (mode) {
      case AUTO -> canRemux ? ChunkerOptions.Mode.REMUX : ChunkerOptions.Mode.REENCODE;
      case REENCODE -> ChunkerOptions.Mode.REENCODE;
      case REMUX -> {
        if (!canRemux) {
          throw new IllegalArgumentException(
              "codec "
                  + codec
                  + " of "
                  + options.source()
                  + " cannot be remuxed into MPEG-TS (remuxable: "
                  + REMUXABLE
                  + "); use AUTO or REENCODE");
        }
        yield ChunkerOptions.Mode.REMUX;
      }
    };
  }

  private boolean limitReached() {
    return options.maxChunks() > 0 && emitted >= options.maxChunks();
  }

  static FFmpegFrameGrabber open(String source) {
    FFmpegFrameGrabber g = new FFmpegFrameGrabber(source);
    if (source.startsWith("/dev/video")) {
      avdevice.avdevice_register_all();
      g.setFormat("video4linux2");
    } else if (source.regionMatches(true, 0, "rtsp", 0, 4)) {
      g.setOption("rtsp_transport", "tcp");
      g.setOption("timeout", "10000000"); // socket timeout 10 s (microseconds)
    } else if (!isLive(source) && !Files.isRegularFile(Path.of(source))) {
      closeQuietly(g);
      throw new IllegalArgumentException("source file not found: " + source);
    }
    try {
      g.start();
    } catch (Exception e) {
      closeQuietly(g);
      String m = String.valueOf(e.getMessage());
      int i = m.indexOf(" (For more details");
      throw new IllegalArgumentException(
          "FFmpeg cannot open source " + redact(source) + ": " + (i >= 0 ? m.substring(0, i) : m),
          e);
    }
    if (g.getVideoStream() < 0 || g.getImageWidth() <= 0 || g.getImageHeight() <= 0) {
      closeQuietly(g);
      throw new IllegalArgumentException("source " + redact(source) + " has no video stream");
    }
    return g;
  }

  /** The source with any user:password@ removed (it travels in every VideoChunk and in logs). */
  public static String redact(String source) {
    return source.replaceFirst("^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", "$1");
  }

  private static void closeQuietly(FFmpegFrameGrabber g) {
    try {
      g.close();
    } catch (Exception ignored) {
      // nothing more to release
    }
  }

  // ---------------------------------------------------------------- remux

  private Pass remuxPass(FFmpegFrameGrabber g, ChunkSink sink, String codec) throws Exception {
    int vi = g.getVideoStream();
    AVStream st = g.getFormatContext().streams(vi);
    AVRational tb = st.time_base();
    double fps = g.getVideoFrameRate();
    long target = Math.round(options.chunkSeconds() * 1e6);
    long halfFrame = fps > 0 ? Math.round(0.5e6 / fps) : 0;
    long frameDur = fps > 0 ? Math.round(1e6 / fps) : 0;
    boolean prependHeader =
        codec.equals("mpeg4") || codec.equals("mpeg2video") || codec.equals("mpeg1video");
    RemuxWriter cur = null;
    try {
      AVPacket pk;
      while (!stopped.get() && (pk = g.grabPacket()) != null) {
        if (pk.stream_index() != vi) {
          continue;
        }
        long ts = pk.pts() != avutil.AV_NOPTS_VALUE ? pk.pts() : pk.dts();
        if (ts == avutil.AV_NOPTS_VALUE) {
          return Pass.REMUX_FAILED; // no timestamps to cut on: let the decoder assign them
        }
        long us = Math.round(ts * 1e6 * tb.num() / tb.den());
        boolean key = (pk.flags() & avcodec.AV_PKT_FLAG_KEY) != 0;
        if (cur == null) {
          if (!key) {
            continue; // joined mid-GOP (live source): wait for a keyframe
          }
          if (passOriginMicros == Long.MIN_VALUE) {
            passOriginMicros = us;
          }
          cur = new RemuxWriter(g, ts, us, prependHeader ? st.codecpar() : null);
        } else if (key && us - cur.startUs >= target - halfFrame) {
          byte[] data = cur.finish();
          RemuxWriter done = cur;
          cur = null;
          if (!remuxVerified) {
            if (countDecodableFrames(data, CONTAINER) == 0) {
              return Pass.REMUX_FAILED;
            }
            remuxVerified = true;
          }
          if (!emit(sink, done.startUs, us, codec, g, fps, done.frames, true, data)) {
            return Pass.STOPPED;
          }
          cur = new RemuxWriter(g, ts, us, prependHeader ? st.codecpar() : null);
        }
        long durUs = pk.duration() > 0 ? Math.round(pk.duration() * 1e6 * tb.num() / tb.den()) : 0;
        cur.write(pk, us, durUs, key);
      }
      if (stopped.get()) {
        return Pass.STOPPED;
      }
      if (cur != null && cur.frames > 0) {
        byte[] data = cur.finish();
        if (!remuxVerified) {
          if (countDecodableFrames(data, CONTAINER) == 0) {
            return Pass.REMUX_FAILED;
          }
          remuxVerified = true;
        }
        long last = cur.lastUs + Math.max(frameDur, cur.lastDurUs);
        if (!emit(sink, cur.startUs, last, codec, g, fps, cur.frames, true, data)) {
          return Pass.STOPPED;
        }
      }
      return Pass.END;
    } finally {
      if (cur != null) {
        cur.close();
      }
    }
  }

  /** One remuxed chunk being written: packets copied into an in-memory MPEG-TS muxer. */
  private static final class RemuxWriter implements AutoCloseable {
    final ByteArrayOutputStream bos = new ByteArrayOutputStream(256 * 1024);
    final FFmpegFrameRecorder rec;
    final long basePts;
    final long startUs;
    final AVCodecParameters headerPar;
    long lastUs;
    long lastDurUs;
    int frames;
    boolean finished;

    RemuxWriter(FFmpegFrameGrabber g, long basePts, long startUs, AVCodecParameters headerPar)
        throws Exception {
      this.basePts = basePts;
      this.startUs = startUs;
      this.headerPar = headerPar;
      rec = new FFmpegFrameRecorder(bos, g.getImageWidth(), g.getImageHeight(), 0);
      rec.setFormat(CONTAINER);
      rec.start(g.getFormatContext());
    }

    void write(AVPacket pk, long us, long durUs, boolean key) throws Exception {
      lastUs = Math.max(lastUs, us);
      lastDurUs = durUs;
      // timestamps inside a chunk restart at 0 (VideoChunk.startMicros carries the offset)
      if (pk.pts() != avutil.AV_NOPTS_VALUE) {
        pk.pts(pk.pts() - basePts);
      }
      if (pk.dts() != avutil.AV_NOPTS_VALUE) {
        pk.dts(pk.dts() - basePts);
      }
      frames++;
      if (key && headerPar != null && headerPar.extradata_size() > 0 && frames == 1) {
        writeWithHeader(pk);
      } else {
        rec.recordPacket(pk);
      }
    }

    /**
     * MPEG-4 Part 2 / MPEG-1/2 from MP4 keep their sequence header only in the container's global
     * header: put it in front of the chunk's first keyframe so the chunk decodes alone.
     */
    private void writeWithHeader(AVPacket pk) throws Exception {
      int es = headerPar.extradata_size();
      int ps = pk.size();
      byte[] extra = new byte[es];
      headerPar.extradata().position(0).get(extra);
      byte[] body = new byte[ps];
      pk.data().position(0).get(body);
      if (ps >= es && Arrays.equals(Arrays.copyOf(body, es), extra)) {
        rec.recordPacket(pk); // header already in band
        return;
      }
      AVPacket np = avcodec.av_packet_alloc();
      try {
        if (avcodec.av_new_packet(np, es + ps) < 0) {
          throw new IllegalStateException("cannot allocate a packet of " + (es + ps) + " bytes");
        }
        BytePointer d = np.data();
        d.position(0).put(extra, 0, es);
        d.position(es).put(body, 0, ps);
        d.position(0);
        avcodec.av_packet_copy_props(np, pk);
        np.stream_index(pk.stream_index());
        np.pts(pk.pts());
        np.dts(pk.dts());
        np.duration(pk.duration());
        np.flags(pk.flags());
        rec.recordPacket(np);
      } finally {
        avcodec.av_packet_free(np);
      }
    }

    byte[] finish() throws Exception {
      finished = true;
      rec.stop();
      return bos.toByteArray();
    }

    @Override
    public void close() {
      try {
        rec.close();
      } catch (Exception e) {
        if (!finished) {
          LOG.debug("closing an unfinished chunk muxer: {}", e.getMessage());
        }
      }
    }
  }

  // ---------------------------------------------------------------- re-encode

  private Pass reencodePass(FFmpegFrameGrabber g, ChunkSink sink) throws Exception {
    double srcFps = g.getVideoFrameRate();
    double fps = srcFps > 0 && srcFps <= 240 ? srcFps : 30;
    long target = Math.round(options.chunkSeconds() * 1e6);
    long halfFrame = Math.round(0.5e6 / fps);
    int w = g.getImageWidth() & ~1;
    int h = g.getImageHeight() & ~1;
    String encoder = SyntheticVideo.h264EncoderName();
    String codec = encoder.equals("libopenh264") ? "h264" : "mpeg4";
    ReencodeWriter cur = null;
    try {
      Frame f;
      long lastUs = Long.MIN_VALUE;
      while (!stopped.get() && (f = g.grabImage()) != null) {
        long us = f.timestamp;
        if (lastUs != Long.MIN_VALUE && us <= lastUs) {
          us = lastUs + 1; // keep time strictly increasing for sources without timestamps
        }
        lastUs = us;
        if (passOriginMicros == Long.MIN_VALUE) {
          passOriginMicros = us;
        }
        if (cur == null) {
          cur = new ReencodeWriter(w, h, fps, encoder, us);
        } else if (us - cur.startUs >= target - halfFrame) {
          byte[] data = cur.finish();
          ReencodeWriter done = cur;
          cur = null;
          if (!emit(sink, done.startUs, us, codec, w, h, srcFps, done.frames, false, data)) {
            return Pass.STOPPED;
          }
          cur = new ReencodeWriter(w, h, fps, encoder, us);
        }
        cur.write(f, us);
      }
      if (stopped.get()) {
        return Pass.STOPPED;
      }
      if (cur != null && cur.frames > 0) {
        byte[] data = cur.finish();
        long end = cur.lastUs + Math.round(1e6 / fps);
        if (!emit(sink, cur.startUs, end, codec, w, h, srcFps, cur.frames, false, data)) {
          return Pass.STOPPED;
        }
      }
      return Pass.END;
    } finally {
      if (cur != null) {
        cur.close();
      }
    }
  }

  /** One re-encoded chunk: a fresh encoder per chunk, so each chunk starts with a keyframe. */
  private static final class ReencodeWriter implements AutoCloseable {
    final ByteArrayOutputStream bos = new ByteArrayOutputStream(256 * 1024);
    final FFmpegFrameRecorder rec;
    final long startUs;
    final double fps;
    long lastUs;
    long lastFrameNumber = -1;
    int frames;
    boolean finished;

    ReencodeWriter(int w, int h, double fps, String encoder, long startUs) throws Exception {
      this.startUs = startUs;
      this.fps = fps;
      rec = new FFmpegFrameRecorder(bos, w, h, 0);
      rec.setFormat(CONTAINER);
      rec.setVideoCodecName(encoder);
      rec.setFrameRate(fps);
      rec.setGopSize(Math.max(1, (int) Math.round(fps * 10)));
      rec.setPixelFormat(avutil.AV_PIX_FMT_YUV420P);
      rec.setVideoBitrate((int) Math.min(20_000_000, Math.max(500_000, w * (long) h * fps * 0.2)));
      if (!encoder.equals("libopenh264")) {
        rec.setVideoQuality(4);
      }
      rec.start();
    }

    void write(Frame f, long us) throws Exception {
      long n = Math.round((us - startUs) * fps / 1e6);
      if (n <= lastFrameNumber) {
        n = lastFrameNumber + 1;
      }
      lastFrameNumber = n;
      lastUs = us;
      rec.setFrameNumber((int) n);
      rec.record(f);
      frames++;
    }

    byte[] finish() throws Exception {
      finished = true;
      rec.stop();
      return bos.toByteArray();
    }

    @Override
    public void close() {
      try {
        rec.close();
      } catch (Exception e) {
        if (!finished) {
          LOG.debug("closing an unfinished chunk encoder: {}", e.getMessage());
        }
      }
    }
  }

  // ---------------------------------------------------------------- emission

  private boolean emit(
      ChunkSink sink,
      long startUs,
      long endUs,
      String codec,
      FFmpegFrameGrabber g,
      double fps,
      int frames,
      boolean remuxed,
      byte[] data)
      throws Exception {
    return emit(
        sink,
        startUs,
        endUs,
        codec,
        g.getImageWidth(),
        g.getImageHeight(),
        fps,
        frames,
        remuxed,
        data);
  }

  /** Hands one chunk to the sink (after pacing); false when the run must end. */
  private boolean emit(
      ChunkSink sink,
      long startUs,
      long endUs,
      String codec,
      int w,
      int h,
      double fps,
      int frames,
      boolean remuxed,
      byte[] data)
      throws Exception {
    long start = loopOffsetMicros + (startUs - passOriginMicros);
    long duration = Math.max(0, endUs - startUs);
    Chunk c =
        new Chunk(
            sequence,
            start,
            duration,
            CONTAINER,
            codec,
            w,
            h,
            fps > 0 ? fps : 0,
            frames,
            remuxed,
            data);
    if (options.realtime() && !pace(c.endMicros())) {
      return false;
    }
    if (stopped.get()) {
      return false;
    }
    sink.accept(c);
    sequence++;
    emitted++;
    lastEndMicros = c.endMicros();
    if (LOG.isDebugEnabled()) {
      LOG.debug(String.format(Locale.ROOT, "%s", c));
    }
    return !limitReached();
  }

  /** Sleeps until the chunk's wall-clock due time; false if stopped meanwhile. */
  private boolean pace(long streamMicros) {
    long due = wallStartNanos + streamMicros * 1000L;
    while (!stopped.get()) {
      long wait = due - System.nanoTime();
      if (wait <= 0) {
        return true;
      }
      try {
        Thread.sleep(Math.min(100, Math.max(1, wait / 1_000_000L)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stopped.set(true);
        return false;
      }
    }
    return false;
  }
}
