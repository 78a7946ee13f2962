package io.decostream.nn.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.decostream.nn.config.LlamaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Timing harness for issue 20 point 4 (long prefill), not a test: the model benchmark's Llama (768
 * wide, 12 layers, 12 heads, intermediate 2048, vocab 32000, random weights) prefilled with a fresh
 * cache at each length, tokens/s per run and the peak RSS (VmHWM, reset per length through
 * /proc/self/clear_refs) of the prefill. Run with {@code java -cp target/test-classes:...
 * io.decostream.nn.llama.PrefillBench [T,T,..] [repeats] [chunk] [threads]} ({@code chunk} 0 = one
 * pass, as the bench's DeCo prefill does; otherwise passes of {@code chunk} rows, as the
 * Generator's prefill does).
 */
public final class PrefillBench {

  private PrefillBench() {}

  public static void main(String[] args) throws Exception {
    String[] lengths = (args.length > 0 ? args[0] : "4608,1152").split(",");
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int chunk = args.length > 2 ? Integer.parseInt(args[2]) : 0;
    int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    LlamaConfig c = RandomLlama.config(768, 12, 12, 12, 2048, 32000, 8192).resolved();
    try (NDManager root = NDManager.newBaseManager()) {
      JniUtils.setNumThreads(threads); // once the engine (and its native library) is loaded
      double gflops = sgemmGflops(root);
      long weightsBefore = kb("VmRSS:");
      try (NDManager wm = root.newSubManager()) {
        LlamaModel model = RandomLlama.build(c, wm, 0.02f, 1, null);
        System.out.printf(
            "threads %d, sgemm %.1f GFLOP/s, RSS %d MiB (weights %d MiB), %s%n",
            JniUtils.getNumThreads(),
            gflops,
            kb("VmRSS:") / 1024,
            (kb("VmRSS:") - weightsBefore) / 1024,
            System.getenv().getOrDefault("LD_PRELOAD", "")
                + " "
                + System.getenv().getOrDefault("GLIBC_TUNABLES", ""));
        for (String len : lengths) {
          int t = Integer.parseInt(len.trim());
          run(model, root, c, t, repeats, chunk, gflops);
        }
        model.close();
      }
    }
  }

  private static void run(
      LlamaModel model, NDManager root, LlamaConfig c, int t, int repeats, int chunk, double gf) {
    long d = c.hiddenSize();
    long nonEmbedding =
        c.numHiddenLayers()
            * (4L * d * d + 3L * d * c.intermediateSize()); // q,k,v,o + gate,up,down (no GQA here)
    // causal attention: QK^T and AV, 2 FLOPs per MAC, over t/2 keys on average
    double flopsPerToken = 2.0 * nonEmbedding + 2.0 * 2 * c.numHiddenLayers() * d * (t / 2.0);
    double floor = gf * 1e9 / flopsPerToken;
    try (NDManager em = root.newSubManager()) {
      NDArray x = em.randomNormal(0f, 0.02f, new Shape(t, d), DataType.FLOAT32);
      once(model, x, t, chunk); // warm-up
      resetPeak();
      long before = kb("VmRSS:");
      List<Double> tps = new ArrayList<>();
      for (int r = 0; r < repeats; r++) {
        long t0 = System.nanoTime();
        once(model, x, t, chunk);
        double s = (System.nanoTime() - t0) / 1e9;
        tps.add(t / s);
        System.out.printf("  T=%d run %d: %.1f tok/s (%.2f s)%n", t, r, t / s, s);
      }
      Collections.sort(tps);
      System.out.printf(
          "T=%d chunk=%d: median %.1f tok/s, floor %.1f tok/s, fraction %.2f; RSS before %d MiB,"
              + " peak %d MiB; load %s%n",
          t,
          chunk,
          tps.get(tps.size() / 2),
          floor,
          tps.get(tps.size() / 2) / floor,
          before / 1024,
          kb("VmHWM:") / 1024,
          load());
    }
  }

  private static void once(LlamaModel model, NDArray x, int t, int chunk) {
    try (NDManager step = x.getManager().newSubManager();
        KvCache cache = model.newCache(t)) {
      int n = chunk <= 0 ? t : chunk;
      for (int from = 0; from < t; from += n) {
        int to = Math.min(t, from + n);
        NDArray rows = n == t ? x : x.get(step, new NDIndex("{}:{}", from, to));
        model.forwardLast(rows, cache).attach(step);
      }
    }
  }

  /** fp32 GEMM throughput on prefill-like shapes ([4096, 768] x [768, 2048]), best of 5. */
  static double sgemmGflops(NDManager root) {
    try (NDManager m = root.newSubManager()) {
      NDArray a = m.randomNormal(new Shape(4096, 768));
      NDArray b = m.randomNormal(new Shape(768, 2048));
      a.matMul(b).close();
      double best = 0;
      for (int i = 0; i < 5; i++) {
        long t0 = System.nanoTime();
        a.matMul(b).close();
        double s = (System.nanoTime() - t0) / 1e9;
        best = Math.max(best, 2.0 * 4096 * 768 * 2048 / s / 1e9);
      }
      return best;
    }
  }

  static void resetPeak() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    } catch (IOException e) {
      System.out.println("cannot reset the peak: " + e);
    }
  }

  static long kb(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(field)) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return -1;
  }

  static String load() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "?";
    }
  }
}
