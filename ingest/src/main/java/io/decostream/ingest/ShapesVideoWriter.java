package io.decostream.ingest;

import io.decostream.shapes.Scene;
import io.decostream.shapes.ShapesRenderer;
import io.decostream.shapes.VideoSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;
import org.bytedeco.javacv.Java2DFrameConverter;

/**
 * Encodes a ShapesWorld clip (issue 5: "videos pass through real H.264 encoding") with FFmpeg:
 * frame {@code i} is {@link ShapesRenderer#render} at {@code t = i / fps}, encoded with openh264
 * (MPEG-4 Part 2 where this FFmpeg build lacks it, as {@link SyntheticVideo}), YUV 4:2:0, one
 * keyframe per second so the {@link Chunker} can cut ~1 s chunks without re-encoding.
 */
public final class ShapesVideoWriter {

  private ShapesVideoWriter() {}

  /** Writes {@code scene} as an MP4 file (parent directories created) and returns {@code out}. */
  public static Path write(Path out, Scene scene, VideoSpec spec) {
    Objects.requireNonNull(out, "out");
    check(scene, spec);
    try {
      Path parent = out.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot create the directory of " + out + ": " + e.getMessage(), e);
    }
    encode(
        new FFmpegFrameRecorder(out.toFile(), spec.width(), spec.height(), 0), "mp4", scene, spec);
    return out;
  }

  /** The clip as MPEG-TS bytes in memory (MP4 needs a seekable file). */
  public static byte[] bytes(Scene scene, VideoSpec spec) {
    check(scene, spec);
    ByteArrayOutputStream bos = new ByteArrayOutputStream(256 * 1024);
    encode(new FFmpegFrameRecorder(bos, spec.width(), spec.height(), 0), "mpegts", scene, spec);
    return bos.toByteArray();
  }

  /** The encoder used: "libopenh264" when this FFmpeg build has it, else "mpeg4". */
  public static String encoderName() {
    return SyntheticVideo.h264EncoderName();
  }

  private static void check(Scene scene, VideoSpec spec) {
    Objects.requireNonNull(scene, "scene");
    Objects.requireNonNull(spec, "spec");
    if (spec.seconds() > scene.durationSeconds() + 1e-9) {
      throw new IllegalArgumentException(
          "video of "
              + spec.seconds()
              + " s is longer than the scene ("
              + scene.durationSeconds()
              + " s): shapes are only guaranteed inside the frame for the scene's duration");
    }
  }

  private static void encode(
      FFmpegFrameRecorder recorder, String format, Scene scene, VideoSpec spec) {
    avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    String encoder = encoderName();
    try (FFmpegFrameRecorder rec = recorder;
        Java2DFrameConverter conv = new Java2DFrameConverter()) {
      rec.setFormat(format);
      rec.setVideoCodecName(encoder);
      rec.setFrameRate(spec.fps());
      rec.setGopSize((int) Math.max(1, Math.round(spec.fps())));
      rec.setPixelFormat(avutil.AV_PIX_FMT_YUV420P);
      // same generous rate as SyntheticVideo: colours must survive coding (answers depend on them)
      rec.setVideoBitrate(
          (int)
              Math.min(
                  20_000_000,
                  Math.max(400_000, spec.width() * (double) spec.height() * spec.fps() * 0.3)));
      rec.setVideoQuality(encoder.equals("libopenh264") ? -1 : 4);
      rec.setVideoOption("threads", "1");
      if (encoder.equals("libopenh264")) {
        rec.setVideoOption("allow_skip_frames", "0");
      }
      rec.start();
      int n = spec.frameCount();
      for (int i = 0; i < n; i++) {
        Frame f =
            conv.convert(
                ShapesRenderer.render(scene, spec.frameTime(i), spec.width(), spec.height()));
        rec.record(f);
      }
      rec.stop();
    } catch (Exception e) {
      throw new IllegalStateException(
          String.format(
              Locale.ROOT,
              "FFmpeg could not encode the ShapesWorld clip %dx%d %s/%s: %s",
              spec.width(),
              spec.height(),
              encoder,
              format,
              e.getMessage()),
          e);
    }
  }
}
