package io.decostream.nn.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
 * io.decostream.nn.llama.PrefillBench [T,T,..] [repeats] [chunk:block,..] [threads]}: for each
 * {@code chunk:block}, {@code chunk} 0 is one forwardLast pass over all T rows (as the model
 * benchmark's DeCo prefill does), otherwise {@link LlamaModel#prefill} in passes of {@code chunk}
 * rows (as the Generator does); {@code block} is the attention's query rows per block (0: the
 * default by window length).
 */
public final class PrefillBench {

  private PrefillBench() {}

  public static void main(String[] args) throws Exception {
    String[] lengths = (args.length > 0 ? args[0] : "4608,1152").split(",");
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    String[] configs = (args.length > 2 ? args[2] : "0:256").split(",");
    int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    LlamaConfig c = RandomLlama.config(768, 12, 12, 12, 2048, 32000, 8192).resolved();
    try (NDManager root = NDManager.newBaseManager()) {
      JniUtils.setNumThreads(threads); // once the engine (and its native library) is loaded
      double[] gflops = sgemmGflops(root);
      long weightsBefore = kb("VmRSS:");
      try (NDManager wm = root.newSubManager()) {
        LlamaModel model = RandomLlama.build(c, wm, 0.02f, 1, null);
        System.out.printf(
            "threads %d, sgemm %.1f GFLOP/s (by CPU time %.1f), RSS %d MiB (weights %d MiB), %s%n",
            JniUtils.getNumThreads(),
            gflops[0],
            gflops[1],
            kb("VmRSS:") / 1024,
            (kb("VmRSS:") - weightsBefore) / 1024,
            System.getenv().getOrDefault("LD_PRELOAD", "")
                + " "
                + System.getenv().getOrDefault("GLIBC_TUNABLES", "")
                + " "
                + System.getenv().getOrDefault("MALLOC_CONF", ""));
        for (String config : configs) {
          String[] cb = config.split(":");
          model.attentionBlock(Integer.parseInt(cb[1]));
          for (String len : lengths) {
            int t = Integer.parseInt(len.trim());
            run(model, root, c, t, repeats, Integer.parseInt(cb[0]), cb[1], gflops);
          }
        }
        model.close();
      }
    }
  }

  private static void run(
      LlamaModel model,
      NDManager root,
      LlamaConfig c,
      int t,
      int repeats,
      int chunk,
      String block,
      double[] gf) {
    long d = c.hiddenSize();
    long nonEmbedding =
        c.numHiddenLayers()
            * (4L * d * d + 3L * d * c.intermediateSize()); // q,k,v,o + gate,up,down (no GQA here)
    // causal attention: QK^T and AV, 2 FLOPs per MAC, over t/2 keys on average
    double flopsPerToken = 2.0 * nonEmbedding + 2.0 * 2 * c.numHiddenLayers() * d * (t / 2.0);
    double floor = gf[0] * 1e9 / flopsPerToken;
    double cpuFloor = gf[1] * 1e9 / flopsPerToken;
    try (NDManager em = root.newSubManager()) {
      NDArray x = em.randomNormal(0f, 0.02f, new Shape(t, d), DataType.FLOAT32);
      once(model, x, t, chunk); // warm-up
      resetPeak();
      long before = kb("VmRSS:");
      List<Double> tps = new ArrayList<>();
      List<Double> cpuTps = new ArrayList<>();
      for (int r = 0; r < repeats; r++) {
        long[] s0 = stat();
        long t0 = System.nanoTime();
        once(model, x, t, chunk);
        double s = (System.nanoTime() - t0) / 1e9;
        long[] s1 = stat();
        double user = (s1[1] - s0[1]) / 100.0;
        double sys = (s1[2] - s0[2]) / 100.0;
        tps.add(t / s);
        // on a shared machine the wall time depends on the neighbours; CPU time spread over the
        // threads estimates the run alone
        cpuTps.add(t / ((user + sys) / JniUtils.getNumThreads()));
        System.out.printf(
            "  T=%d run %d: %.1f tok/s (%.2f s wall, %.2f s user, %.2f s sys, %d minor faults,"
                + " %.1f tok/s by CPU time)%n",
            t, r, t / s, s, user, sys, s1[0] - s0[0], cpuTps.get(r));
      }
      Collections.sort(tps);
      Collections.sort(cpuTps);
      System.out.printf(
          "T=%d chunk=%d block=%s: median %.1f tok/s of floor %.1f (%.2f); by CPU time %.1f tok/s"
              + " of floor %.1f (%.2f); RSS before %d MiB, peak %d MiB; load %s%n",
          t,
          chunk,
          block,
          tps.get(tps.size() / 2),
          floor,
          tps.get(tps.size() / 2) / floor,
          cpuTps.get(cpuTps.size() / 2),
          cpuFloor,
          cpuTps.get(cpuTps.size() / 2) / cpuFloor,
          before / 1024,
          kb("VmHWM:") / 1024,
          load());
    }
  }

  private static void once(LlamaModel model, NDArray x, int t, int chunk) {
    try (NDManager step = x.getManager().newSubManager();
        KvCache cache = model.newCache(t)) {
      if (chunk <= 0) {
        model.forwardLast(x, cache).attach(step);
      } else {
        model.prefill(x, cache, chunk).attach(step);
      }
    }
  }

  /**
   * fp32 GEMM throughput on prefill-like shapes ([4096, 768] x [768, 2048]), best of 5: by wall
   * time and by CPU time spread over the threads (the estimate of a run alone on a shared machine).
   */
  static double[] sgemmGflops(NDManager root) {
    try (NDManager m = root.newSubManager()) {
      NDArray a = m.randomNormal(new Shape(4096, 768));
      NDArray b = m.randomNormal(new Shape(768, 2048));
      a.matMul(b).close();
      double flops = 2.0 * 4096 * 768 * 2048;
      double best = 0;
      double bestCpu = 0;
      for (int i = 0; i < 5; i++) {
        long[] s0 = stat();
        long t0 = System.nanoTime();
        for (int j = 0; j < 10; j++) {
          a.matMul(b).close();
        }
        double s = (System.nanoTime() - t0) / 1e9;
        long[] s1 = stat();
        double cpu = (s1[1] + s1[2] - s0[1] - s0[2]) / 100.0 / JniUtils.getNumThreads();
        best = Math.max(best, 10 * flops / s / 1e9);
        bestCpu = Math.max(bestCpu, 10 * flops / Math.max(cpu, 0.01) / 1e9);
      }
      return new double[] {best, bestCpu};
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

  /** Minor faults, user and system ticks of this process (/proc/self/stat fields 10, 14, 15). */
  static long[] stat() {
    try {
      String st = Files.readString(Path.of("/proc/self/stat"));
      String[] f = st.substring(st.lastIndexOf(')') + 2).split(" "); // f[0] is field 3
      return new long[] {Long.parseLong(f[7]), Long.parseLong(f[11]), Long.parseLong(f[12])};
    } catch (IOException e) {
      return new long[3];
    }
  }

  static String load() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "?";
    }
  }
}
