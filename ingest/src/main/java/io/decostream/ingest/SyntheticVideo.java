package io.decostream.ingest;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;
import org.bytedeco.javacv.Java2DFrameConverter;

/**
 * Makes real, small test videos with FFmpeg: moving coloured shapes on a dark background (a red
 * circle moving right, a blue square moving down, a green triangle orbiting), plus a
 * machine-readable <em>frame stamp</em> (the source frame number as a row of black/white blocks at
 * the top) so tests can check exactly which source frame a sampled frame came from, even after
 * lossy coding.
 *
 * <p>Encoding: H.264 through openh264 ("libopenh264", the LGPL FFmpeg build has no libx264),
 * falling back to MPEG-4 Part 2 when openh264 is missing (stack.md gotcha 9). Keyframes every
 * {@link Spec#gopFrames()} frames (default: one per second) so the {@link Chunker} can cut ~1 s
 * chunks without re-encoding.
 *
 * <p>Also writes deliberately broken chunks for dead-letter tests ({@link #randomBytes}, {@link
 * #truncate}).
 */
public final class SyntheticVideo {

  /** Number of bits in the frame stamp (frame numbers up to 4095). */
  public static final int STAMP_BITS = 12;

  /** Container formats the maker can write. */
  public enum Container {
    MP4("mp4"),
    MPEGTS("mpegts"),
    MATROSKA("matroska");

    private final String ffmpegName;

    Container(String ffmpegName) {
      this.ffmpegName = ffmpegName;
    }

    /** FFmpeg format name. */
    public String ffmpegName() {
      return ffmpegName;
    }
  }

  /** Video codecs the maker can write. */
  public enum Codec {
    /** H.264 via openh264, or MPEG-4 Part 2 if openh264 is not in this FFmpeg build. */
    H264,
    /** MPEG-4 Part 2 (FFmpeg's native encoder, always present). */
    MPEG4,
    /**
     * Motion JPEG (every frame a keyframe; cannot be carried in MPEG-TS, so the chunker re-encodes
     * it).
     */
    MJPEG
  }

  /**
   * What to make.
   *
   * @param width frame width in pixels (even, 16..4096)
   * @param height frame height in pixels (even, 16..4096)
   * @param fps frames per second (1..120)
   * @param durationSeconds length of the clip (&gt; 0, at most 600)
   * @param seed seed for the shapes' starting positions and colours
   * @param container output container
   * @param codec video codec
   * @param gopFrames keyframe interval in frames (&ge; 1)
   */
  public record Spec(
      int width,
      int height,
      double fps,
      double durationSeconds,
      long seed,
      Container container,
      Codec codec,
      int gopFrames) {

    public Spec {
      if (width < 16 || width > 4096 || width % 2 != 0) {
        throw new IllegalArgumentException("width must be even and in 16..4096, got " + width);
      }
      if (height < 16 || height > 4096 || height % 2 != 0) {
        throw new IllegalArgumentException("height must be even and in 16..4096, got " + height);
      }
      if (!(fps >= 1 && fps <= 120)) {
        throw new IllegalArgumentException("fps must be in 1..120, got " + fps);
      }
      if (!(durationSeconds > 0 && durationSeconds <= 600)) {
        throw new IllegalArgumentException(
            "durationSeconds must be in (0, 600], got " + durationSeconds);
      }
      Objects.requireNonNull(container, "container");
      Objects.requireNonNull(codec, "codec");
      if (gopFrames < 1) {
        throw new IllegalArgumentException("gopFrames must be >= 1, got " + gopFrames);
      }
      if (codec == Codec.MJPEG && container == Container.MPEGTS) {
        throw new IllegalArgumentException(
            "MJPEG cannot be stored in MPEG-TS; use MP4 or MATROSKA");
      }
    }

    /** 336x336, 10 fps, H.264 in MP4, one keyframe per second, seed 1. */
    public static Spec defaults(double durationSeconds) {
      return new Spec(336, 336, 10, durationSeconds, 1L, Container.MP4, Codec.H264, 10);
    }

    public Spec withSize(int w, int h) {
      return new Spec(w, h, fps, durationSeconds, seed, container, codec, gopFrames);
    }

    public Spec withFps(double f) {
      return new Spec(
          width,
          height,
          f,
          durationSeconds,
          seed,
          container,
          codec,
          (int) Math.max(1, Math.round(f)));
    }

    public Spec withContainer(Container c) {
      return new Spec(width, height, fps, durationSeconds, seed, c, codec, gopFrames);
    }

    public Spec withCodec(Codec c) {
      return new Spec(width, height, fps, durationSeconds, seed, container, c, gopFrames);
    }

    public Spec withGopFrames(int g) {
      return new Spec(width, height, fps, durationSeconds, seed, container, codec, g);
    }

    public Spec withSeed(long s) {
      return new Spec(width, height, fps, durationSeconds, s, container, codec, gopFrames);
    }

    /** Total number of frames: round(duration * fps). */
    public int frameCount() {
      return (int) Math.max(1, Math.round(durationSeconds * fps));
    }
  }

  private SyntheticVideo() {}

  /** Writes the clip to {@code out} (parent directories are created) and returns {@code out}. */
  public static Path write(Path out, Spec spec) {
    Objects.requireNonNull(out, "out");
    Objects.requireNonNull(spec, "spec");
    try {
      Path parent = out.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      encode(new FFmpegFrameRecorder(out.toFile(), spec.width(), spec.height(), 0), spec);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot write synthetic video " + out + ": " + e.getMessage(), e);
    }
  }

  /** The clip as bytes in memory (use a streamable container: MPEGTS or MATROSKA). */
  public static byte[] bytes(Spec spec) {
    if (spec.container() == Container.MP4) {
      throw new IllegalArgumentException(
          "MP4 needs a seekable file; write() it, or use MPEGTS/MATROSKA in memory");
    }
    ByteArrayOutputStream bos = new ByteArrayOutputStream(64 * 1024);
    encode(new FFmpegFrameRecorder(bos, spec.width(), spec.height(), 0), spec);
    return bos.toByteArray();
  }

  /**
   * The FFmpeg encoder name used for {@code codec}: "libopenh264" when available for H264, else
   * "mpeg4".
   */
  public static String encoderName(Codec codec) {
    return switch (codec) {
      case H264 -> h264EncoderName();
      case MPEG4 -> "mpeg4";
      case MJPEG -> "mjpeg";
    };
  }

  /** "libopenh264" if this FFmpeg build has it, otherwise "mpeg4" (always present). */
  public static String h264EncoderName() {
    return avcodec.avcodec_find_encoder_by_name("libopenh264") != null ? "libopenh264" : "mpeg4";
  }

  /** Random bytes that no demuxer recognises as video: a chunk that must be dead-lettered. */
  public static byte[] randomBytes(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** The first {@code keep} bytes of {@code data}: a truncated chunk. */
  public static byte[] truncate(byte[] data, int keep) {
    return Arrays.copyOf(data, Math.max(0, Math.min(keep, data.length)));
  }

  /** Draws frame number {@code index} of the clip (exposed so tests can compare pixels). */
  public static BufferedImage drawFrame(Spec spec, int index) {
    int w = spec.width();
    int h = spec.height();
    Random rnd = new Random(spec.seed());
    double cx0 = rnd.nextDouble();
    double sy0 = rnd.nextDouble();
    double phase = rnd.nextDouble() * 2 * Math.PI;
    double t = index / spec.fps();
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setColor(new Color(20, 22, 30));
      g.fillRect(0, 0, w, h);
      int top = stampHeight(spec) + 2;
      int area = h - top;
      int r = Math.max(4, Math.min(w, area) / 8);
      // red circle moving right (wraps around), one width per 4 s
      double cx = ((cx0 + t / 4.0) % 1.0) * w;
      g.setColor(new Color(220, 40, 40));
      g.fillOval((int) cx - r, top + area / 3 - r, 2 * r, 2 * r);
      // blue square moving down (wraps around), one height per 5 s
      double sy = ((sy0 + t / 5.0) % 1.0) * area;
      g.setColor(new Color(40, 80, 230));
      g.fillRect(w * 2 / 3 - r, top + (int) sy - r, 2 * r, 2 * r);
      // green triangle orbiting the centre, one turn per 3 s
      double a = phase + 2 * Math.PI * t / 3.0;
      int ox = (int) (w / 2 + Math.cos(a) * w / 4);
      int oy = (int) (top + area / 2 + Math.sin(a) * area / 4);
      g.setColor(new Color(40, 200, 90));
      g.fillPolygon(new int[] {ox, ox - r, ox + r}, new int[] {oy - r, oy + r, oy + r}, 3);
      drawStamp(g, spec, index);
    } finally {
      g.dispose();
    }
    return img;
  }

  /**
   * Reads the frame stamp back from a decoded RGB image (row-major R,G,B bytes) of the clip's size:
   * the source frame number, robust to lossy coding (block centres are sampled).
   */
  public static int readStamp(int width, int height, byte[] rgb) {
    int bw = width / STAMP_BITS;
    int bh = stampHeightFor(height);
    int value = 0;
    for (int bit = 0; bit < STAMP_BITS; bit++) {
      int x = bit * bw + bw / 2;
      int y = bh / 2;
      int i = (y * width + x) * 3;
      int lum = (rgb[i] & 0xFF) + (rgb[i + 1] & 0xFF) + (rgb[i + 2] & 0xFF);
      if (lum > 3 * 128) {
        value |= 1 << (STAMP_BITS - 1 - bit);
      }
    }
    return value;
  }

  private static int stampHeight(Spec spec) {
    return stampHeightFor(spec.height());
  }

  private static int stampHeightFor(int height) {
    return Math.max(8, height / 20);
  }

  private static void drawStamp(Graphics2D g, Spec spec, int index) {
    int bw = spec.width() / STAMP_BITS;
    int bh = stampHeight(spec);
    for (int bit = 0; bit < STAMP_BITS; bit++) {
      boolean on = ((index >> (STAMP_BITS - 1 - bit)) & 1) != 0;
      g.setColor(on ? Color.WHITE : Color.BLACK);
      g.fillRect(bit * bw, 0, bw, bh);
    }
  }

  private static void encode(FFmpegFrameRecorder recorder, Spec spec) {
    avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    String encoder = encoderName(spec.codec());
    try (FFmpegFrameRecorder rec = recorder;
        Java2DFrameConverter conv = new Java2DFrameConverter()) {
      rec.setFormat(spec.container().ffmpegName());
      rec.setVideoCodecName(encoder);
      rec.setFrameRate(spec.fps());
      rec.setGopSize(spec.gopFrames());
      rec.setPixelFormat(
          spec.codec() == Codec.MJPEG ? avutil.AV_PIX_FMT_YUVJ420P : avutil.AV_PIX_FMT_YUV420P);
      // generous bitrate: the stamp and shapes must survive coding (about 1.5 bits/pixel/s at 10
      // fps)
      rec.setVideoBitrate(
          (int)
              Math.min(
                  20_000_000, Math.max(400_000, spec.width() * spec.height() * spec.fps() * 0.3)));
      rec.setVideoQuality(spec.codec() == Codec.H264 && encoder.equals("libopenh264") ? -1 : 4);
      rec.setVideoOption("threads", "1");
      if (encoder.equals("libopenh264")) {
        rec.setVideoOption("allow_skip_frames", "0");
      }
      rec.start();
      int n = spec.frameCount();
      for (int i = 0; i < n; i++) {
        Frame f = conv.convert(drawFrame(spec, i));
        rec.record(f);
      }
      rec.stop();
    } catch (Exception e) {
      throw new IllegalStateException(
          String.format(
              Locale.ROOT,
              "FFmpeg could not encode %dx%d %s/%s: %s",
              spec.width(),
              spec.height(),
              encoder,
              spec.container().ffmpegName(),
              e.getMessage()),
          e);
    }
  }
}
