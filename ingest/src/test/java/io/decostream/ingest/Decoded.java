package io.decostream.ingest;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.Frame;

/**
 * Test helper: decodes a chunk or file with FFmpeg and reads the frame stamps of synthetic videos.
 */
final class Decoded {

  /** Timestamp (container time, microseconds) and frame stamp of one decoded frame. */
  record Info(long timestamp, int stamp) {}

  private Decoded() {}

  static List<Info> chunk(byte[] data) throws Exception {
    try (FFmpegFrameGrabber g = new FFmpegFrameGrabber(new ByteArrayInputStream(data))) {
      g.setFormat("mpegts");
      return all(g);
    }
  }

  static List<Info> file(Path p) throws Exception {
    try (FFmpegFrameGrabber g = new FFmpegFrameGrabber(p.toString())) {
      return all(g);
    }
  }

  private static List<Info> all(FFmpegFrameGrabber g) throws Exception {
    avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    g.setPixelFormat(avutil.AV_PIX_FMT_RGB24);
    g.start();
    List<Info> out = new ArrayList<>();
    Frame f;
    while ((f = g.grabImage()) != null) {
      int w = f.imageWidth;
      int h = f.imageHeight;
      byte[] rgb = new byte[w * h * 3];
      ByteBuffer b = ((ByteBuffer) f.image[0]).duplicate();
      for (int y = 0; y < h; y++) {
        b.position(y * f.imageStride);
        b.get(rgb, y * w * 3, w * 3);
      }
      out.add(new Info(f.timestamp, SyntheticVideo.readStamp(w, h, rgb)));
    }
    return out;
  }
}
