package io.decostream.ingest;

import io.decostream.schemas.KafkaLimits;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
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
 * <h2>Remux or re-encode: decided by trying</h2>
 *
 * In AUTO mode the compressed packets are first copied into MPEG-TS without re-encoding, whatever
 * the codec; every chunk starts on a keyframe, so it decodes on its own (for H.264/HEVC FFmpeg's
 * MPEG-TS muxer converts to Annex B and repeats the parameter sets; for MPEG-4 Part 2 the global
 * header is put in front of each chunk's keyframe). A chunk is cut at the first keyframe at or
 * after the target length, so <b>chunks are only as short as the source's keyframe interval
 * allows</b>: with keyframes every 2 s and 1 s chunks requested, every chunk is 2 s long. The first
 * remuxed chunk is test-decoded. Any remux failure (issue 18 point 5) — the muxer refusing a packet
 * (e.g. {@code av_interleaved_write_frame()} on Xvid/DivX AVI with packed B-frames), packets
 * without timestamps, a test decode that yields too few frames, a chunk over the message limit —
 * switches to re-encoding for the rest of the run with a log line saying why: a file is re-read
 * from the end of the last emitted chunk, a live source keeps being read. Re-encoding decodes and
 * encodes with H.264 (openh264) or MPEG-4, one keyframe per chunk. Audio is dropped: the pipeline
 * is video-only.
 *
 * <h2>Damaged files</h2>
 *
 * A damaged file publishes what FFmpeg can read: read errors end the pass instead of failing it,
 * and what was skipped is counted in {@link #stats()} and logged (corrupt packets, jumps in the
 * timestamps, a file shorter than its declared duration).
 *
 * <h2>Live sources</h2>
 *
 * RTSP goes over TCP, UDP or AUTO (TCP first, UDP when TCP cannot be set up), see {@link
 * LiveOptions}. When a live source's connection is lost (a read error, or the end of the stream, or
 * a failed first connect) the chunker flushes the chunk in progress and reconnects with exponential
 * backoff; after {@link LiveOptions#giveUpAfter()} without a connection it throws {@link
 * SourceLostException}. Sequence numbers continue across reconnects, and the wall-clock time the
 * source was away appears as a gap in the start times (logged), so the frames stage's sampler skips
 * the missing time instead of compressing it.
 *
 * <h2>Time</h2>
 *
 * Start times are relative to the first emitted frame of the stream (0 for the first chunk) and
 * keep increasing across loops and reconnects. Timestamps inside each chunk restart at 0.
 *
 * <p>Not thread-safe except for {@link #stop()}, which may be called from any thread (e.g. a
 * shutdown hook).
 */
public final class Chunker {

  private static final Logger LOG = LoggerFactory.getLogger(Chunker.class);

  /** The container of every chunk. */
  public static final String CONTAINER = "mpegts";

  /** Largest chunk a remux may produce before re-encoding is preferred (fits a Kafka message). */
  static final int MAX_REMUXED_BYTES = KafkaLimits.MAX_PAYLOAD_BYTES - 4096;

  private static final Pattern LIVE_URL =
      Pattern.compile("^(rtsps?|rtmps?|srt|udp|tcp|https?)://.*", Pattern.CASE_INSENSITIVE);

  /**
   * What a run skipped or survived, for the summary (issue 18 point 5).
   *
   * @param reconnects successful reconnects to a live source
   * @param gapMicros total time missing from a live stream across reconnects
   * @param corruptPackets packets the demuxer flagged as corrupt (kept: the decoder conceals them)
   * @param missingFrames video frames a file's header declares that could not be read
   * @param timestampJumps jumps in a file's video timestamps (data skipped by the demuxer)
   * @param skippedMicros file time not published: timestamp jumps and a missing end
   * @param readErrors read errors that ended a file pass early
   * @param remuxFallback why remuxing was given up for re-encoding (null: it was not)
   * @param rtspTransport the RTSP transport last connected with (null: not RTSP)
   */
  public record Stats(
      long reconnects,
      long gapMicros,
      long corruptPackets,
      long missingFrames,
      long timestampJumps,
      long skippedMicros,
      long readErrors,
      String remuxFallback,
      String rtspTransport) {

    /** Whether anything of the source was skipped. */
    public boolean damaged() {
      return corruptPackets > 0
          || missingFrames > 0
          || timestampJumps > 0
          || skippedMicros > 0
          || readErrors > 0;
    }

    /** One line for a summary, empty when nothing happened worth telling. */
    public String line() {
      StringBuilder b = new StringBuilder();
      if (reconnects > 0) {
        b.append(
            String.format(
                Locale.ROOT, "; %d reconnect(s), %.1f s missing", reconnects, gapMicros / 1e6));
      }
      if (damaged()) {
        b.append(
            String.format(
                Locale.ROOT,
                "; damaged source: %.1f s skipped (%d unreadable frame(s), %d timestamp"
                    + " jump(s)), %d corrupt packet(s), %d read error(s)",
                skippedMicros / 1e6,
                missingFrames,
                timestampJumps,
                corruptPackets,
                readErrors));
      }
      if (remuxFallback != null) {
        b.append("; re-encoded (remux failed: ").append(remuxFallback).append(')');
      }
      return b.toString();
    }
  }

  private final ChunkerOptions options;
  private final AtomicBoolean stopped = new AtomicBoolean();

  /** Test hook: remuxing chunk #n fails (-1: never), to exercise the mid-file fallback. */
  long failRemuxAtSequence = -1;

  // run state
  private long sequence;
  private long emitted;
  private long loopOffsetMicros;
  private long lastEndMicros;
  private long passOriginMicros;
  private long passEmitted;
  private long passEndSrcUs;
  private long resumeSrcUs = Long.MIN_VALUE;
  private long wallStartNanos;
  private boolean remuxVerified;

  // live state
  private LiveOptions.RtspTransport workingTransport;
  private long framesRead;
  private long lastReadNanos;
  private long lostReadNanos;
  private long lastFrameDurUs;
  private boolean gapPending;
  private long downSinceNanos = -1;
  private long backoffNanos;
  private int attempts;

  // stats
  private long reconnects;
  private long gapMicros;
  private long corruptPackets;
  private long missingFrames;
  private long passFramesStart;
  private long timestampJumps;
  private long skippedMicros;
  private long readErrors;
  private String remuxFallback;
  private long loggedSkipped;
  private long loggedCorrupt;
  private long loggedErrors;

  public Chunker(ChunkerOptions options) {
    this.options = Objects.requireNonNull(options, "options");
  }

  /** Whether {@code source} is a live source (camera or network URL) rather than a file. */
  public static boolean isLive(String source) {
    return source.startsWith("/dev/video") || LIVE_URL.matcher(source).matches();
  }

  private static boolean isRtsp(String source) {
    return source.regionMatches(true, 0, "rtsp", 0, 4);
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

  /** What was skipped, reconnected and fallen back on so far. */
  public Stats stats() {
    return new Stats(
        reconnects,
        gapMicros,
        corruptPackets,
        missingFrames,
        timestampJumps,
        skippedMicros,
        readErrors,
        remuxFallback,
        workingTransport == null ? null : workingTransport.ffmpegName());
  }

  /**
   * Reads the source and hands every chunk to {@code sink}, until the end of the source (without
   * loop), {@link ChunkerOptions#maxChunks()} chunks, or {@link #stop()}. A live source is read
   * until stopped, reconnecting when its connection is lost.
   *
   * @throws IllegalArgumentException if a file cannot be opened or has no video
   * @throws SourceLostException if a live source stayed unreachable longer than the give-up time
   * @throws Exception whatever the sink throws
   */
  public void run(ChunkSink sink) throws Exception {
    Objects.requireNonNull(sink, "sink");
    avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    wallStartNanos = System.nanoTime();
    backoffNanos = options.live().reconnectInitial().toNanos();
    boolean live = isLive(options.source());
    ChunkerOptions.Mode mode = options.mode();
    boolean firstPass = true;
    boolean resume = false;
    while (!stopped.get() && !limitReached()) {
      FFmpegFrameGrabber g;
      try {
        g = live ? openLive() : open(options.source(), null);
      } catch (IllegalArgumentException e) {
        if (!live) {
          throw e;
        }
        awaitReconnect(e.getMessage());
        continue;
      }
      Pass result;
      boolean reopen = false;
      try (FFmpegFrameGrabber grabber = g) {
        String codec = g.getVideoCodecName();
        if (!resume) {
          passOriginMicros = Long.MIN_VALUE;
          passEmitted = 0;
          passEndSrcUs = Long.MIN_VALUE;
          resumeSrcUs = Long.MIN_VALUE;
        }
        resume = false;
        passFramesStart = framesRead;
        double fps = g.getVideoFrameRate();
        lastFrameDurUs = fps > 0 && fps <= 1000 ? Math.round(1e6 / fps) : 0;
        boolean tryRemux = mode != ChunkerOptions.Mode.REENCODE;
        result = tryRemux ? remuxPass(g, sink, codec) : reencodePass(g, sink);
        if (result.kind == Kind.REMUX_FAILED) {
          if (mode == ChunkerOptions.Mode.REMUX) {
            throw new IllegalArgumentException(
                "remuxing "
                    + redact(options.source())
                    + " ("
                    + codec
                    + ") into MPEG-TS failed: "
                    + result.reason
                    + "; use AUTO or REENCODE");
          }
          mode = ChunkerOptions.Mode.REENCODE;
          remuxFallback = codec + ": " + result.reason;
          String from;
          if (live) {
            from = "from here on";
          } else if (passEmitted == 0) {
            from = "from the start";
          } else {
            from =
                String.format(Locale.ROOT, "from %.3f s", (passEndSrcUs - passOriginMicros) / 1e6);
          }
          LOG.warn(
              "remuxing {} ({}) into MPEG-TS failed: {}; re-encoding {}",
              redact(options.source()),
              codec,
              result.reason,
              from);
          if (live) {
            // cannot rewind a live source: keep reading it, re-encoding from here on
            if (passEmitted == 0) {
              passOriginMicros = Long.MIN_VALUE;
            }
            result = reencodePass(g, sink);
          } else {
            // re-read the file, skipping what the emitted remuxed chunks already hold
            resumeSrcUs = passEmitted > 0 ? passEndSrcUs : Long.MIN_VALUE;
            if (passEmitted == 0) {
              passOriginMicros = Long.MIN_VALUE;
            }
            reopen = true;
          }
        }
        if (!live && !reopen && result.kind == Kind.END) {
          checkDeclaredLength(g);
        }
      }
      if (!live) {
        if (reopen) {
          resume = true;
          continue;
        }
        if (emitted == 0 && firstPass && result.kind == Kind.END) {
          throw new IllegalArgumentException(
              "source " + options.source() + " has no decodable video");
        }
        logDamage();
        firstPass = false;
        loopOffsetMicros = lastEndMicros;
        if (result.kind != Kind.END || !options.loop()) {
          break;
        }
        continue;
      }
      if (result.kind == Kind.STOPPED || stopped.get() || limitReached()) {
        break;
      }
      // a live source ended or failed: the connection is lost. Only a connection that delivered
      // video restarts the give-up clock (a source that accepts connections and then sends
      // nothing is still given up on)
      if (passEmitted > 0) {
        downSinceNanos = System.nanoTime();
        backoffNanos = options.live().reconnectInitial().toNanos();
        attempts = 0;
        LOG.warn(
            "connection to {} lost after chunk #{}: {}; reconnecting (backoff {} to {} ms, giving"
                + " up after {} s)",
            redact(options.source()),
            sequence - 1,
            result.reason,
            options.live().reconnectInitial().toMillis(),
            options.live().reconnectMax().toMillis(),
            options.live().giveUpAfter().toSeconds());
      }
      if (emitted > 0 && !gapPending) {
        gapPending = true;
        lostReadNanos = lastReadNanos;
      }
      awaitReconnect(result.reason);
    }
  }

  /**
   * Waits before the next connect attempt (exponential backoff), or gives up.
   *
   * @throws SourceLostException when the source has been unreachable for the give-up time
   */
  private void awaitReconnect(String error) throws SourceLostException {
    long now = System.nanoTime();
    if (downSinceNanos < 0) {
      downSinceNanos = now;
    }
    long down = now - downSinceNanos;
    long giveUp = options.live().giveUpAfter().toNanos();
    if (down >= giveUp) {
      LOG.error(
          "giving up on {} after {} s unreachable: {}",
          redact(options.source()),
          String.format(Locale.ROOT, "%.1f", down / 1e9),
          error);
      throw new SourceLostException(
          redact(options.source()), Duration.ofNanos(down), attempts, error);
    }
    long wait = Math.min(backoffNanos, giveUp - down);
    LOG.warn(
        "cannot read {}: {}; retrying in {} ms (unreachable for {} s, giving up after {} s)",
        redact(options.source()),
        error,
        wait / 1_000_000L,
        String.format(Locale.ROOT, "%.1f", down / 1e9),
        options.live().giveUpAfter().toSeconds());
    sleepNanos(wait);
    backoffNanos = Math.min(backoffNanos * 2, options.live().reconnectMax().toNanos());
    attempts++;
  }

  private void sleepNanos(long nanos) {
    long due = System.nanoTime() + nanos;
    while (!stopped.get()) {
      long left = due - System.nanoTime();
      if (left <= 0) {
        return;
      }
      try {
        Thread.sleep(Math.min(100, Math.max(1, left / 1_000_000L)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stopped.set(true);
        return;
      }
    }
  }

  /** The origin of a pass: the first frame used; after a reconnect, the gap is applied here. */
  private void setOrigin(long us) {
    passOriginMicros = us;
    if (gapPending) {
      gapPending = false;
      long gap = Math.max(0, (System.nanoTime() - lostReadNanos) / 1000 - lastFrameDurUs);
      loopOffsetMicros = lastEndMicros + gap;
      reconnects++;
      gapMicros += gap;
      LOG.warn(
          String.format(
              Locale.ROOT,
              "reconnected to %s after %d attempt(s): gap of %.2f s in stream time; chunk #%d"
                  + " starts at %.2f s",
              redact(options.source()),
              attempts,
              gap / 1e6,
              sequence,
              loopOffsetMicros / 1e6));
    }
  }

  /** Notes a frame read from the source (for live gap timing). */
  private void frameRead() {
    framesRead++;
    lastReadNanos = System.nanoTime();
  }

  /**
   * A file whose video stream declares more frames than could be read lost them (damaged or
   * truncated): counted from the video stream's own header (the container's overall duration is not
   * trusted: AVI audio headers often misstate it).
   */
  private void checkDeclaredLength(FFmpegFrameGrabber g) {
    AVStream st = g.getFormatContext().streams(g.getVideoStream());
    long declaredFrames = st.nb_frames();
    long read = framesRead - passFramesStart;
    if (declaredFrames <= 0 || read >= declaredFrames) {
      return;
    }
    long missing = declaredFrames - read;
    missingFrames += missing;
    long missingUs = lastFrameDurUs > 0 ? missing * lastFrameDurUs : 0;
    skippedMicros += missingUs;
    LOG.warn(
        String.format(
            Locale.ROOT,
            "%s: %d of the %d video frames its header declares could not be read (%.2f s;"
                + " damaged or truncated file)",
            redact(options.source()),
            missing,
            declaredFrames,
            missingUs / 1e6));
  }

  private void logDamage() {
    if (skippedMicros != loggedSkipped
        || corruptPackets != loggedCorrupt
        || readErrors != loggedErrors) {
      LOG.warn(
          String.format(
              Locale.ROOT,
              "%s is damaged: published what could be read; skipped %.2f s (%d unreadable"
                  + " frame(s), %d jump(s) in the timestamps), %d corrupt packet(s), %d read"
                  + " error(s)",
              redact(options.source()),
              (skippedMicros - loggedSkipped) / 1e6,
              missingFrames,
              timestampJumps,
              corruptPackets - loggedCorrupt,
              readErrors - loggedErrors));
      loggedSkipped = skippedMicros;
      loggedCorrupt = corruptPackets;
      loggedErrors = readErrors;
    }
  }

  /** A jump in a file's video timestamps: data the demuxer skipped. */
  private void checkJump(long prevUs, long us) {
    if (prevUs == Long.MIN_VALUE || lastFrameDurUs <= 0 || isLive(options.source())) {
      return;
    }
    long step = us - prevUs;
    if (step > Math.max(3 * lastFrameDurUs, 250_000L)) {
      timestampJumps++;
      skippedMicros += step - lastFrameDurUs;
      LOG.warn(
          String.format(
              Locale.ROOT,
              "%s: video jumps from %.3f s to %.3f s (data skipped)",
              redact(options.source()),
              (prevUs - passOriginMicros) / 1e6,
              (us - passOriginMicros) / 1e6));
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

  private enum Kind {
    END,
    STOPPED,
    REMUX_FAILED,
    LOST
  }

  /** How a pass over an opened source ended, and why. */
  private record Pass(Kind kind, String reason) {
    static final Pass END = new Pass(Kind.END, "end of stream");
    static final Pass STOPPED = new Pass(Kind.STOPPED, "stopped");

    static Pass remuxFailed(String why) {
      return new Pass(Kind.REMUX_FAILED, why);
    }

    static Pass lost(String why) {
      return new Pass(Kind.LOST, why);
    }
  }

  private boolean limitReached() {
    return options.maxChunks() > 0 && emitted >= options.maxChunks();
  }

  /**
   * Opens a live source; for RTSP with AUTO transport TCP first then UDP (the transport that worked
   * last time first).
   */
  private FFmpegFrameGrabber openLive() {
    String src = options.source();
    if (!isRtsp(src)) {
      return open(src, null);
    }
    LiveOptions.RtspTransport t = options.live().rtspTransport();
    if (t != LiveOptions.RtspTransport.AUTO) {
      try {
        FFmpegFrameGrabber g = open(src, t);
        workingTransport = t;
        return g;
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            e.getMessage()
                + " (RTSP transport "
                + t.ffmpegName()
                + " only; --rtsp-transport auto also tries "
                + (t == LiveOptions.RtspTransport.TCP ? "udp" : "tcp")
                + ")",
            e);
      }
    }
    List<LiveOptions.RtspTransport> order =
        workingTransport == LiveOptions.RtspTransport.UDP
            ? List.of(LiveOptions.RtspTransport.UDP, LiveOptions.RtspTransport.TCP)
            : List.of(LiveOptions.RtspTransport.TCP, LiveOptions.RtspTransport.UDP);
    List<String> errors = new ArrayList<>();
    for (LiveOptions.RtspTransport tr : order) {
      try {
        FFmpegFrameGrabber g = open(src, tr);
        if (!errors.isEmpty()) {
          LOG.warn(
              "{}: RTSP over {} failed ({}); connected over {}",
              redact(src),
              order.get(0).ffmpegName(),
              errors.get(0),
              tr.ffmpegName());
        }
        workingTransport = tr;
        return g;
      } catch (IllegalArgumentException e) {
        errors.add(tr.ffmpegName() + ": " + reason(e, src));
        if (stopped.get()) {
          break;
        }
      }
    }
    throw new IllegalArgumentException(
        OPEN_FAILED + redact(src) + " over RTSP/TCP nor UDP: " + String.join("; ", errors));
  }

  /** Opens a source; {@code transport} is the RTSP transport (null: not RTSP). */
  static FFmpegFrameGrabber open(String source, LiveOptions.RtspTransport transport) {
    LiveOptions.RtspTransport rtspTransport =
        transport == null ? LiveOptions.RtspTransport.TCP : transport;
    FFmpegFrameGrabber g = new FFmpegFrameGrabber(source);
    if (source.startsWith("/dev/video")) {
      avdevice.avdevice_register_all();
      g.setFormat("video4linux2");
    } else if (isRtsp(source)) {
      g.setOption("rtsp_transport", rtspTransport.ffmpegName());
      g.setOption("timeout", "10000000"); // socket timeout 10 s (microseconds)
    } else if (!isLive(source) && !Files.isRegularFile(Path.of(source))) {
      closeQuietly(g);
      throw new IllegalArgumentException("source file not found: " + source);
    }
    try {
      g.start();
    } catch (Exception e) {
      closeQuietly(g);
      String why = openError(e);
      if (isRtsp(source) && why.contains(" -" + EPROTONOSUPPORT + ")")) {
        // FFmpeg's word for an RTSP SETUP answered "461 Unsupported transport"
        why += ": the server refused RTSP over " + rtspTransport.ffmpegName();
      }
      throw new IllegalArgumentException(OPEN_FAILED + redact(source) + ": " + why, e);
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
        "mpeg4".equals(codec) || "mpeg2video".equals(codec) || "mpeg1video".equals(codec);
    AVCodecParameters header = prependHeader ? st.codecpar() : null;
    RemuxWriter cur = null;
    String readError = null;
    long maxUs = Long.MIN_VALUE;
    try {
      while (!stopped.get()) {
        AVPacket pk;
        try {
          pk = g.grabPacket();
        } catch (Exception e) {
          readError = ffmpegMessage(e);
          break;
        }
        if (pk == null) {
          break;
        }
        if (pk.stream_index() != vi) {
          continue;
        }
        frameRead();
        long ts = pk.pts() != avutil.AV_NOPTS_VALUE ? pk.pts() : pk.dts();
        if (ts == avutil.AV_NOPTS_VALUE) {
          if (cur == null) {
            continue; // e.g. RTP before the first sender report: wait for timed packets
          }
          return Pass.remuxFailed("video packets without timestamps");
        }
        long us = Math.round(ts * 1e6 * tb.num() / tb.den());
        if ((pk.flags() & avcodec.AV_PKT_FLAG_CORRUPT) != 0) {
          corruptPackets++;
        }
        checkJump(maxUs, us);
        maxUs = Math.max(maxUs, us);
        boolean key = (pk.flags() & avcodec.AV_PKT_FLAG_KEY) != 0;
        if (cur == null) {
          if (!key) {
            continue; // joined mid-GOP (live source): wait for a keyframe
          }
          if (passOriginMicros == Long.MIN_VALUE) {
            setOrigin(us);
          }
          try {
            cur = new RemuxWriter(g, ts, us, header);
          } catch (Exception e) {
            return Pass.remuxFailed("the MPEG-TS muxer refused the stream: " + ffmpegMessage(e));
          }
        } else if (key && us - cur.startUs >= target - halfFrame) {
          RemuxWriter done = cur;
          cur = null;
          byte[] data;
          try {
            data = done.finish();
          } catch (Exception e) {
            return Pass.remuxFailed("finishing a chunk failed: " + ffmpegMessage(e));
          } finally {
            done.close();
          }
          String bad = verify(data, done.frames);
          if (bad != null) {
            return Pass.remuxFailed(bad);
          }
          if (!emit(sink, done.startUs, us, codec, g, fps, done.frames, true, data)) {
            return Pass.STOPPED;
          }
          try {
            cur = new RemuxWriter(g, ts, us, header);
          } catch (Exception e) {
            return Pass.remuxFailed("the MPEG-TS muxer refused the stream: " + ffmpegMessage(e));
          }
        }
        long durUs = pk.duration() > 0 ? Math.round(pk.duration() * 1e6 * tb.num() / tb.den()) : 0;
        try {
          cur.write(pk, us, durUs, key);
        } catch (Exception e) {
          return Pass.remuxFailed(ffmpegMessage(e));
        }
      }
      if (stopped.get()) {
        return Pass.STOPPED;
      }
      // end of the file, or the connection lost: the chunk in progress is complete up to here
      if (cur != null && cur.frames > 0) {
        RemuxWriter done = cur;
        cur = null;
        byte[] data;
        try {
          data = done.finish();
        } catch (Exception e) {
          return Pass.remuxFailed("finishing a chunk failed: " + ffmpegMessage(e));
        } finally {
          done.close();
        }
        String bad = verify(data, done.frames);
        if (bad != null) {
          return Pass.remuxFailed(bad);
        }
        long last = done.lastUs + Math.max(frameDur, done.lastDurUs);
        if (!emit(sink, done.startUs, last, codec, g, fps, done.frames, true, data)) {
          return Pass.STOPPED;
        }
      }
      return endOfPass(readError);
    } finally {
      if (cur != null) {
        cur.close();
      }
    }
  }

  /** Why a remuxed chunk cannot be used (null: it can). */
  private String verify(byte[] data, int frames) {
    if (sequence == failRemuxAtSequence) {
      return "injected failure at chunk #" + sequence;
    }
    if (data.length > MAX_REMUXED_BYTES) {
      return String.format(
          Locale.ROOT,
          "a remuxed chunk of %.1f MB is over the %.1f MB message limit",
          data.length / 1e6,
          MAX_REMUXED_BYTES / 1e6);
    }
    if (!remuxVerified) {
      int n = countDecodableFrames(data, CONTAINER);
      if (n == 0 || 2 * n < frames) {
        return "the first remuxed chunk decodes to " + n + " of " + frames + " frames";
      }
      remuxVerified = true;
    }
    return null;
  }

  /** End of a pass: a live source's end or read error is a lost connection. */
  private Pass endOfPass(String readError) {
    if (isLive(options.source())) {
      return Pass.lost(readError != null ? readError : "end of stream");
    }
    if (readError != null) {
      readErrors++;
      LOG.warn(
          "{}: read error, publishing what was read before it: {}",
          redact(options.source()),
          readError);
    }
    return Pass.END;
  }

  /** errno EPROTONOSUPPORT on Linux. */
  private static final int EPROTONOSUPPORT = 93;

  private static final String OPEN_FAILED = "FFmpeg cannot open source ";

  private static final Pattern FFMPEG_ERROR = Pattern.compile("(\\w+)\\(\\) error (-\\d+)");

  /** "Connection refused (avformat_open_input -111)" instead of JavaCV's generic text. */
  static String openError(Exception e) {
    String m = ffmpegMessage(e);
    java.util.regex.Matcher x = FFMPEG_ERROR.matcher(m);
    if (x.find()) {
      int code = Integer.parseInt(x.group(2));
      byte[] buf = new byte[256];
      if (avutil.av_strerror(code, buf, buf.length) == 0) {
        int n = 0;
        while (n < buf.length && buf[n] != 0) {
          n++;
        }
        return new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8)
            + " ("
            + x.group(1)
            + " "
            + code
            + ")";
      }
    }
    return m;
  }

  /** The reason part of an {@link #open} failure (without "FFmpeg cannot open source X: "). */
  private static String reason(IllegalArgumentException e, String source) {
    String m = String.valueOf(e.getMessage());
    String prefix = OPEN_FAILED + redact(source) + ": ";
    return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
  }

  private static String ffmpegMessage(Exception e) {
    String m = String.valueOf(e.getMessage());
    int i = m.indexOf(" (For more details");
    m = i >= 0 ? m.substring(0, i) : m;
    return m.endsWith(".") ? m.substring(0, m.length() - 1) : m;
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
    String readError = null;
    try {
      long lastUs = Long.MIN_VALUE;
      while (!stopped.get()) {
        Frame f;
        try {
          f = g.grabImage();
        } catch (Exception e) {
          readError = ffmpegMessage(e);
          break;
        }
        if (f == null) {
          break;
        }
        frameRead();
        long us = f.timestamp;
        long prevUs = lastUs;
        if (lastUs != Long.MIN_VALUE && us <= lastUs) {
          us = lastUs + 1; // keep time strictly increasing for sources without timestamps
        }
        lastUs = us;
        if (resumeSrcUs != Long.MIN_VALUE && us < resumeSrcUs - halfFrame) {
          continue; // already published in a remuxed chunk before remuxing failed
        }
        checkJump(prevUs, us);
        if (passOriginMicros == Long.MIN_VALUE) {
          setOrigin(us);
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
      return endOfPass(readError);
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
    passEmitted++;
    passEndSrcUs = endUs;
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
