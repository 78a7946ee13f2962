package io.decostream.nn.image;

import java.util.Random;

/**
 * Timing harness for the encoder's resize (issue 22 point 2), not a test: {@link PilBicubic} on one
 * frame, Vector API and scalar passes interleaved rep by rep, for the shipped model's 336x336 ->
 * 168x168 and a 640x360 camera frame. Run with {@code java --add-modules jdk.incubator.vector -cp
 * target/test-classes:target/classes io.decostream.nn.image.ResizeBench [repeats]}.
 */
public final class ResizeBench {
  private ResizeBench() {}

  public static void main(String[] args) {
    int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 7;
    Random r = new Random(1);
    for (int[] s : new int[][] {{336, 336, 168, 168}, {640, 360, 168, 168}}) {
      byte[] px = new byte[s[0] * s[1] * 3];
      r.nextBytes(px);
      RgbImage img = new RgbImage(s[0], s[1], px);
      long sink = 0;
      double[] vec = new double[repeats];
      double[] sca = new double[repeats];
      int n = 300;
      for (int rep = -2; rep < repeats; rep++) { // two warm-ups for the JIT
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          sink += PilBicubic.resize(img, s[2], s[3], true).rgb()[i];
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          sink += PilBicubic.resize(img, s[2], s[3], false).rgb()[i];
        }
        long t2 = System.nanoTime();
        if (rep >= 0) {
          vec[rep] = (t1 - t0) / 1e6 / n;
          sca[rep] = (t2 - t1) / 1e6 / n;
        }
      }
      java.util.Arrays.sort(vec);
      java.util.Arrays.sort(sca);
      System.out.printf(
          "%dx%d -> %dx%d: vector %.3f ms, scalar %.3f ms a frame (medians of %d; %d)%n",
          s[0], s[1], s[2], s[3], vec[repeats / 2], sca[repeats / 2], repeats, sink & 1);
    }
  }
}
