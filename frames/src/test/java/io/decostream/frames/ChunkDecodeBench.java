package io.decostream.frames;

import com.sun.management.OperatingSystemMXBean;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.VideoChunk;
import java.io.ByteArrayInputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.Frame;

/**
 * Timing harness for the frames stage's decode (issue 22 point 2), not a test: the load test's
 * chunks (336x336 H.264 at 8 fps, 1 s MPEG-TS chunks, the sampler keeping the first frame of each)
 * through {@link ChunkDecoder}, interleaved rep by rep with the grabber as the decoder used it
 * before: FFmpeg's default decoder threads and every frame converted to RGB24 by {@code
 * grabImage()}. Prints wall time and the process's CPU time per chunk (FFmpeg's own threads
 * included), medians. Run in {@code frames/}: {@code ../mvnw -q dependency:build-classpath
 * -Dmdep.outputFile=/tmp/cp.txt}, then {@code OPT_OUT_TRACKING=true java -Dai.djl.offline=true -cp
 * target/test-classes:target/classes:$(cat /tmp/cp.txt) io.decostream.frames.ChunkDecodeBench
 * [repeats]}.
 */
public final class ChunkDecodeBench {
  private ChunkDecodeBench() {}

  public static void main(String[] args) throws Exception {
    int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 7;
    Path dir = Files.createTempDirectory("chunk-decode-bench");
    List<VideoChunk> chunks =
        TestChunks.cut(
            dir,
            "bench.mp4",
            SyntheticVideo.Spec.defaults(10).withSize(336, 336).withFps(8).withGopFrames(8),
            1.0,
            "bench");
    ChunkDecoder decoder = new ChunkDecoder(FramesConfig.defaults());
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    int n = 20;
    double[][] wall = new double[2][repeats];
    double[][] cpu = new double[2][repeats];
    long sink = 0;
    for (int rep = -2; rep < repeats; rep++) { // two warm-ups for the JIT
      for (int way = 0; way < 2; way++) {
        long t0 = System.nanoTime();
        long c0 = os.getProcessCpuTime();
        for (int i = 0; i < n; i++) {
          for (VideoChunk c : chunks) {
            sink += way == 0 ? sampleFirst(decoder, c) : grabberAsBefore(c);
          }
        }
        if (rep >= 0) {
          wall[way][rep] = (System.nanoTime() - t0) / 1e6 / (n * chunks.size());
          cpu[way][rep] = (os.getProcessCpuTime() - c0) / 1e6 / (n * chunks.size());
        }
      }
    }
    String[] names = {"ChunkDecoder (one thread, RGB of sampled frames)", "grabber as before"};
    for (int way = 0; way < 2; way++) {
      System.out.printf(
          Locale.ROOT,
          "%-50s wall %.2f ms/chunk, cpu %.2f ms/chunk (medians of %d)%n",
          names[way],
          median(wall[way]),
          median(cpu[way]),
          repeats);
    }
    System.out.println("(sink " + sink + ")");
  }

  /** The stage's way: every frame decoded, the first one of the chunk converted to RGB. */
  private static long sampleFirst(ChunkDecoder d, VideoChunk c) throws ChunkRejected {
    long[] s = {0};
    d.decode(
        c,
        (ts, img) -> {
          if (s[0] == 0) {
            s[0] = 1 + img.get().rgb()[100];
          }
        });
    return s[0];
  }

  /** The decoder before issue 22's change: default threads, RGB24 conversion of every frame. */
  private static long grabberAsBefore(VideoChunk c) throws Exception {
    long s = 0;
    try (FFmpegFrameGrabber g =
        new FFmpegFrameGrabber(new ByteArrayInputStream(TestChunks.bytes(c.getData())))) {
      g.setFormat(c.getContainer());
      g.setPixelFormat(avutil.AV_PIX_FMT_RGB24);
      g.start();
      Frame f;
      while ((f = g.grabImage()) != null) {
        s += f.imageWidth;
      }
    }
    return s;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }
}
