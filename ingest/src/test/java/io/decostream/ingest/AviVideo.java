package io.decostream.ingest;

import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;
import org.bytedeco.javacv.Java2DFrameConverter;

/**
 * Test helper: AVI files like real-world Xvid/DivX captures (issue 18 point 5): MPEG-4 Part 2
 * video, optionally with B-frames and an AC3 audio track, with the fourcc rewritten to the one
 * those tools write. Frames carry {@link SyntheticVideo}'s stamp, so tests can tell which source
 * frames a chunk holds.
 */
final class AviVideo {

  private AviVideo() {}

  /**
   * Writes {@code spec.frameCount()} frames of {@code spec} (size, fps, gop) to an AVI.
   *
   * @param fourcc "XVID", "DX50", "DIVX" or null to keep FFmpeg's own "FMP4"
   * @param bFrames max consecutive B-frames (0 = none)
   * @param ac3 add a stereo 48 kHz AC3 track (a tone)
   */
  static Path write(Path out, SyntheticVideo.Spec spec, String fourcc, int bFrames, boolean ac3)
      throws Exception {
    avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    try (FFmpegFrameRecorder rec =
            new FFmpegFrameRecorder(out.toFile(), spec.width(), spec.height(), ac3 ? 2 : 0);
        Java2DFrameConverter conv = new Java2DFrameConverter()) {
      rec.setFormat("avi");
      rec.setVideoCodecName("mpeg4");
      rec.setFrameRate(spec.fps());
      rec.setGopSize(spec.gopFrames());
      rec.setPixelFormat(avutil.AV_PIX_FMT_YUV420P);
      rec.setVideoQuality(3);
      rec.setVideoOption("threads", "1");
      if (bFrames > 0) {
        rec.setVideoOption("bf", Integer.toString(bFrames));
      }
      if (ac3) {
        rec.setAudioCodecName("ac3");
        rec.setSampleRate(48000);
        rec.setAudioBitrate(128_000);
      }
      rec.start();
      int perFrame = (int) Math.round(48000 / spec.fps());
      long sample = 0;
      for (int i = 0; i < spec.frameCount(); i++) {
        Frame f = conv.convert(SyntheticVideo.drawFrame(spec, i));
        rec.record(f);
        if (ac3) {
          short[] pcm = new short[perFrame * 2];
          for (int s = 0; s < perFrame; s++, sample++) {
            short v = (short) (8000 * Math.sin(2 * Math.PI * 440 * sample / 48000.0));
            pcm[2 * s] = v;
            pcm[2 * s + 1] = v;
          }
          rec.recordSamples(48000, 2, ShortBuffer.wrap(pcm));
        }
      }
      rec.stop();
    }
    if (fourcc != null) {
      retag(out, fourcc);
    }
    return out;
  }

  /** Rewrites FFmpeg's "FMP4" fourcc (stream header and bitmap header) to {@code fourcc}. */
  static void retag(Path avi, String fourcc) throws Exception {
    byte[] b = Files.readAllBytes(avi);
    byte[] from = "FMP4".getBytes(StandardCharsets.US_ASCII);
    byte[] to = fourcc.getBytes(StandardCharsets.US_ASCII);
    int limit = Math.min(b.length - 4, 8192); // only in the header list
    int n = 0;
    for (int i = 0; i < limit; i++) {
      if (b[i] == from[0] && b[i + 1] == from[1] && b[i + 2] == from[2] && b[i + 3] == from[3]) {
        System.arraycopy(to, 0, b, i, 4);
        n++;
      }
    }
    if (n == 0) {
      throw new IllegalStateException("no FMP4 fourcc in the header of " + avi);
    }
    Files.write(avi, b);
  }
}
