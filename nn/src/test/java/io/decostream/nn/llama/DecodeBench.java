package io.decostream.nn.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.weights.Precision;
import java.util.Arrays;

/**
 * Timing harness for issue 20 point 2 (decode at memory speed), not a test: the model benchmark's
 * Llama (768 wide, 12 layers, random weights), a 512-token prompt, then a decode of {@code steps}
 * tokens, and beside it, interleaved repetition by repetition so that both see the same machine,
 * what bounds it: the decode kernel alone streaming every weight matrix once through the same
 * {@link RowPool} (no attention, no norms), once as one region per matrix (as a step does) and once
 * as a single region per step (what the regions' starts and ends cost), and what an empty region
 * costs. The machine's own floors are {@code deco bench}'s. Run with {@code java -cp
 * target/test-classes:target/classes:... io.decostream.nn.llama.DecodeBench [repeats] [steps]
 * [threads] [bench|demo|kernels|prompt|exp]}. {@code kernels}: the fp32, F16 and BF16 kernels
 * alone, one row a call and in row quads, over a matrix that stays in L2 (256 x 768), on 1 to
 * {@code threads} threads each with its own copy: what they compute per second when memory is not
 * the limit. With {@code -Drows=65536} the matrix comes from memory instead; {@code -Dchunk=4}
 * takes four adjacent rows instead of rows a quarter of the matrix apart.
 */
public final class DecodeBench {

  private DecodeBench() {}

  private static double decode(
      LlamaModel model, NDManager root, NDArray emb, int prompt, int steps) {
    try (KvCache cache = model.newCache(prompt + steps);
        NDManager m = root.newSubManager()) {
      model.prefill(emb, cache, 512).attach(m);
      int tok = 1;
      long t0 = System.nanoTime();
      for (int s = 0; s < steps; s++) {
        float[] logits = model.decodeNext(tok, cache);
        tok = (int) ((Float.floatToRawIntBits(logits[s]) & 0x7fff) % logits.length);
      }
      double sec = (System.nanoTime() - t0) / 1e9;
      return sec;
    }
  }

  public static void main(String[] args) {
    int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 7;
    int steps = args.length > 1 ? Integer.parseInt(args[1]) : 128;
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    // "demo": the shipped ShapesWorld model's Llama (models/shapes-demo, 2 MB), which stays in
    // cache, so its decode measures the kernels' own speed rather than the memory's
    boolean demo = args.length > 3 && args[3].equals("demo");
    if (args.length > 3 && args[3].equals("kernels")) {
      kernels(repeats, threads);
      return;
    }
    if (args.length > 3 && args[3].equals("exp")) {
      exp(repeats);
      return;
    }
    if (args.length > 3 && args[3].equals("prompt")) {
      prompt(repeats, threads);
      return;
    }
    int prompt = 512;
    LlamaConfig c =
        demo
            ? RandomLlama.config(192, 4, 6, 6, 512, 287, 832).resolved()
            : RandomLlama.config(768, 12, 12, 12, 2048, 32000, 8192).resolved();
    try (NDManager root = NDManager.newBaseManager()) {
      JniUtils.setNumThreads(threads);
      java.util.Map<String, NDArray> bound = new java.util.LinkedHashMap<>();
      LlamaModel model = RandomLlama.build(c, root, 0.02f, 1, bound);
      // the same shapes with F16 weight matrices (issue 20 point 3): its decode reads half the
      // bytes
      LlamaModel half = RandomLlama.build(c, root, 0.02f, 1, null, Precision.F16);
      LlamaModel brain = RandomLlama.build(c, root, 0.02f, 1, null, Precision.BF16);
      long weightBytes = 0;
      // every matrix a step reads: the layers' and the lm head (tied: embed_tokens); the embedding
      // lookup reads one row and is left out, as in the benchmark's floor
      java.util.List<DecodeStep.Mat> mats = new java.util.ArrayList<>();
      for (NDArray a : bound.values()) {
        if (a.getShape().dimension() == 2) {
          mats.add(DecodeStep.Mat.of(a));
        }
      }
      for (DecodeStep.Mat m : mats) {
        weightBytes += (long) m.rows() * m.cols() * 4;
      }
      long kvBytes = 2L * c.numHiddenLayers() * c.hiddenSize() * 4 * (prompt + steps / 2);
      RowPool pool = RowPool.shared(threads);
      float[] sink = new float[32000];
      DecodeStep.Vec xv = new DecodeStep.Vec(2048); // the products' input, as a step gives it
      Arrays.fill(xv.v, 0.01f);
      NDArray emb =
          root.randomNormal(0f, 0.02f, new Shape(prompt, c.hiddenSize()), DataType.FLOAT32);
      for (int k = 0; k < 3; k++) { // what a region costs with nothing to do
        long e0 = System.nanoTime();
        for (int i = 0; i < 100_000; i++) {
          pool.run(768, (a, b) -> sink[a] = b);
        }
        System.out.printf("empty region: %.2f us%n", (System.nanoTime() - e0) / 1e3 / 100_000);
      }
      double[] dec = new double[repeats];
      double[] dec16 = new double[repeats];
      double[] decB = new double[repeats];
      double[] ker = new double[repeats];
      double[] one = new double[repeats];
      double[] floor = new double[repeats];
      for (int r = -1; r < repeats; r++) {
        // the machine's floor as `deco bench` measures it (libtorch summing a 256 MiB fp32 tensor),
        // here in the same process, so that an allocator or page-size setting moves both
        double floorGBs = torchReadGBs(root, 256L << 20);
        // the decode: prompt prefilled (untimed), then `steps` steps
        double decS = decode(model, root, emb, prompt, steps);
        double dec16S = decode(half, root, emb, prompt, steps);
        double decBS = decode(brain, root, emb, prompt, steps);
        // the kernel alone over the same matrices, `steps` times
        long t1 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
          for (DecodeStep.Mat mat : mats) {
            final DecodeStep.Mat fm = mat;
            pool.run(
                fm.slots(),
                (a, b) -> {
                  for (int i = a; i < b; i++) {
                    fm.dotSlot(i, xv, sink);
                  }
                });
          }
        }
        double kerS = (System.nanoTime() - t1) / 1e9;
        // the kernel alone, all matrices of a step as one region (no barrier between products)
        int[] starts = new int[mats.size() + 1];
        for (int i = 0; i < mats.size(); i++) {
          starts[i + 1] = starts[i] + mats.get(i).slots();
        }
        long t3 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
          pool.run(
              starts[mats.size()] / 64,
              (a, b) -> {
                int mi = 0;
                for (int i = a * 64; i < b * 64; i++) {
                  while (starts[mi + 1] <= i) {
                    mi++;
                  }
                  mats.get(mi).dotSlot(i - starts[mi], xv, sink);
                }
              });
        }
        double oneS = (System.nanoTime() - t3) / 1e9;
        if (r >= 0) {
          dec[r] = steps / decS;
          dec16[r] = steps / dec16S;
          decB[r] = steps / decBS;
          ker[r] = steps * weightBytes / kerS / 1e9;
          one[r] = steps * weightBytes / oneS / 1e9;
          floor[r] = floorGBs;
          System.out.printf(
              "rep %d: libtorch sum %.1f GB/s, decode/floor %.2f; decode %.1f tok/s (%.1f GB/s of"
                  + " weights+kv); kernel alone %.1f GB/s (one"
                  + " region a step: %.1f GB/s); decode/kernel %.2f; F16 decode %.1f tok/s (%.2fx, bytes"
                  + " read %.2fx fewer), BF16 %.1f tok/s, 16-bit floor %.1f tok/s%n",
              r,
              floorGBs,
              dec[r] * (weightBytes + kvBytes) / 1e9 / floorGBs,
              dec[r],
              dec[r] * (weightBytes + kvBytes) / 1e9,
              ker[r],
              one[r],
              dec[r] * (weightBytes + kvBytes) / 1e9 / ker[r],
              dec16[r],
              dec16[r] / dec[r],
              (double) (weightBytes + kvBytes) / (weightBytes / 2 + kvBytes),
              decB[r],
              floorGBs * 1e9 / (weightBytes / 2 + kvBytes));
        }
      }
      Arrays.sort(dec);
      Arrays.sort(dec16);
      Arrays.sort(decB);
      Arrays.sort(ker);
      Arrays.sort(one);
      Arrays.sort(floor);
      double atKernel = ker[repeats / 2] * 1e9 / (weightBytes + kvBytes);
      System.out.printf(
          "median: decode %.1f tok/s; the kernel alone streams %.1f GB/s (%.1f GB/s as one region a"
              + " step), which would give %.1f tok/s: decode reaches %.2f of its own kernel's rate%n",
          dec[repeats / 2],
          ker[repeats / 2],
          one[repeats / 2],
          atKernel,
          dec[repeats / 2] / atKernel);
      System.out.printf(
          "median F16 decode %.1f tok/s: %.1f GB/s of weights+kv%n",
          dec16[repeats / 2], dec16[repeats / 2] * (weightBytes / 2 + kvBytes) / 1e9);
      double floorTok = floor[repeats / 2] * 1e9 / (weightBytes + kvBytes);
      System.out.printf(
          "median floor (libtorch sum) %.1f GB/s = %.1f tok/s fp32: decode reaches %.2f of it, F16"
              + " %.2f of its own (%.1f tok/s), BF16 %.2f of it (%.1f tok/s)%n",
          floor[repeats / 2],
          floorTok,
          dec[repeats / 2] / floorTok,
          dec16[repeats / 2] / (floor[repeats / 2] * 1e9 / (weightBytes / 2 + kvBytes)),
          floor[repeats / 2] * 1e9 / (weightBytes / 2 + kvBytes),
          decB[repeats / 2] / (floor[repeats / 2] * 1e9 / (weightBytes / 2 + kvBytes)),
          decB[repeats / 2]);
    }
  }

  /** Best of three GB/s of libtorch summing a freshly written fp32 tensor (MachineProbe's rule). */
  private static double torchReadGBs(NDManager root, long bytes) {
    try (NDManager m = root.newSubManager()) {
      NDArray x = m.ones(new Shape(bytes / 4), DataType.FLOAT32);
      double best = Double.MAX_VALUE;
      for (int r = -1; r < 3; r++) {
        long t0 = System.nanoTime();
        x.sum().close();
        double s = (System.nanoTime() - t0) / 1e9;
        if (r >= 0) {
          best = Math.min(best, s);
        }
      }
      return bytes / best / 1e9;
    }
  }

  /**
   * The fp32 and F16 kernels in cache, GB/s of weights per thread, with 1 to {@code threads}
   * threads at once (each its own 256 x 768 matrix, the same values in both precisions).
   */
  private static void kernels(int repeats, int threads) {
    int rows = Integer.getInteger("rows", 256);
    int cols = Integer.getInteger("cols", 768);
    int passes = 8000 * 256 * 768 / (rows * cols);
    for (int n = 1; n <= threads; n++) {
      double[][] gbs = new double[n][];
      Thread[] ts = new Thread[n];
      for (int t = 0; t < n; t++) {
        final int ti = t;
        ts[t] = new Thread(() -> gbs[ti] = kernelsOnOneThread(rows, cols, passes, repeats));
        ts[t].start();
      }
      for (Thread t : ts) {
        try {
          t.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      for (int t = 0; t < n; t++) {
        System.out.printf(
            "%d thread(s), thread %d: one row a call: fp32 %.1f GB/s, F16 %.1f GB/s, BF16 %.1f GB/s,"
                + " row quads: fp32 %.1f GB/s, F16 %.1f GB/s, BF16 %.1f GB/s (median of %d)%n",
            n, t, gbs[t][0], gbs[t][1], gbs[t][2], gbs[t][3], gbs[t][4], gbs[t][5], repeats);
      }
    }
  }

  /**
   * A short prompt after a cached window (a question on a live window, issue 20 point 1) on the
   * benchmark model, through {@link LlamaModel#forwardLast} on the DJL layer and on the vector
   * step, side by side: median and best ms of {@code repeats} for prompts of {@code
   * -Drows=1,8,16,20,32,64} rows after windows of {@code -Dwindows=1152,4608} positions, weights
   * {@code -Dprecision=F32} (or F16, BF16). What {@link LlamaModel#FAST_PROMPT_ROWS_F32} and {@code
   * _16} were chosen from.
   */
  private static void prompt(int repeats, int threads) {
    int[] rowsList = ints(System.getProperty("rows", "1,8,16,20,32,64"));
    int[] windows = ints(System.getProperty("windows", "1152,4608"));
    Precision precision = Precision.valueOf(System.getProperty("precision", "F32"));
    LlamaConfig c = RandomLlama.config(768, 12, 12, 12, 2048, 32000, 8192).resolved();
    try (NDManager root = NDManager.newBaseManager()) {
      JniUtils.setNumThreads(threads);
      LlamaModel model = RandomLlama.build(c, root, 0.02f, 1, null, precision);
      int step = model.vectorDecode() ? Integer.MAX_VALUE : 0;
      for (int window : windows) {
        int most = Arrays.stream(rowsList).max().orElse(1);
        try (KvCache cache = model.newCache(window + most);
            NDManager m = root.newSubManager()) {
          model.prefill(
              m.randomNormal(0, 0.02f, new Shape(window, 768), DataType.FLOAT32), cache, 512);
          for (int rows : rowsList) {
            NDArray q = m.randomNormal(0, 0.02f, new Shape(rows, 768), DataType.FLOAT32);
            double[][] ms = new double[2][repeats];
            for (int r = -1; r < repeats; r++) { // one warm-up
              for (int path = 0; path < 2; path++) { // interleaved: both see the same machine
                model.fastPromptRows(path == 0 ? 0 : step);
                long t0 = System.nanoTime();
                try (NDManager s = m.newSubManager()) {
                  NDArray out = model.forwardLast(q, cache);
                  out.attach(s);
                  out.toFloatArray();
                }
                if (r >= 0) {
                  ms[path][r] = (System.nanoTime() - t0) / 1e6;
                }
                cache.truncate(window);
              }
            }
            Arrays.sort(ms[0]);
            Arrays.sort(ms[1]);
            System.out.printf(
                "%s, window %d, prompt of %d rows: DJL layer %.1f ms (best %.1f), vector step %.1f"
                    + " ms (best %.1f)%n",
                precision,
                window,
                rows,
                ms[0][repeats / 2],
                ms[0][0],
                ms[1][repeats / 2],
                ms[1][0]);
          }
        }
      }
      model.close();
    }
  }

  /**
   * Softmax's exponentials two ways, ns per element over 4096 shifted scores: Java 17's {@code
   * lanewise(EXP)} (Intel's vector math stubs, where C2 knows the species) and {@code Math.exp}.
   */
  private static void exp(int repeats) {
    float[] x = new float[4096];
    float[] y = new float[4096];
    for (int i = 0; i < x.length; i++) {
      x[i] = -i * 0.004f;
    }
    int passes = 4000;
    for (int r = 0; r < repeats; r++) {
      double[] ns = new double[2];
      for (int way = 0; way < 2; way++) {
        long t0 = System.nanoTime();
        for (int p = 0; p < passes; p++) {
          if (way == 0) {
            expLanewise(x, y);
          } else {
            expScalar(x, y);
          }
        }
        ns[way] = (System.nanoTime() - t0) / (double) passes / x.length;
      }
      System.out.printf("exp, ns per element: lanewise(EXP) %.2f, Math.exp %.2f%n", ns[0], ns[1]);
    }
  }

  private static void expLanewise(float[] x, float[] y) {
    for (int i = 0; i < x.length; i += NativeView.F.length()) {
      jdk.incubator.vector.FloatVector.fromArray(NativeView.F, x, i)
          .lanewise(jdk.incubator.vector.VectorOperators.EXP)
          .intoArray(y, i);
    }
  }

  private static void expScalar(float[] x, float[] y) {
    for (int i = 0; i < x.length; i++) {
      y[i] = (float) Math.exp(x[i]);
    }
  }

  private static int[] ints(String list) {
    return Arrays.stream(list.split(",")).mapToInt(Integer::parseInt).toArray();
  }

  /** One kernel over the whole matrix once; returns a value that keeps the sums live. */
  private interface Pass {
    float run();
  }

  /** A quad kernel over rows r, r + q, r + 2q and r + 3q of one matrix. */
  private interface QuadKernel {
    void dot(int r, int q);
  }

  /** Every row of the matrix once, in quads of stride chunk/4 within each chunk of rows. */
  private static Pass quads(int rows, int chunk, QuadKernel k, float[] out) {
    int q = chunk / 4;
    return () -> {
      for (int c = 0; c + chunk <= rows; c += chunk) {
        for (int i = c; i < c + q; i++) {
          k.dot(i, q);
        }
      }
      return out[0];
    };
  }

  private static double[] kernelsOnOneThread(int rows, int cols, int passes, int repeats) {
    java.nio.ByteBuffer f32 =
        java.nio.ByteBuffer.allocateDirect(rows * cols * 4).order(java.nio.ByteOrder.nativeOrder());
    java.nio.ByteBuffer f16 =
        java.nio.ByteBuffer.allocateDirect(rows * cols * 2).order(java.nio.ByteOrder.nativeOrder());
    java.nio.ByteBuffer bf16 =
        java.nio.ByteBuffer.allocateDirect(rows * cols * 2).order(java.nio.ByteOrder.nativeOrder());
    java.util.Random rnd = new java.util.Random(1);
    for (int i = 0; i < rows * cols; i++) {
      float v = (float) rnd.nextGaussian() * 0.02f;
      f32.putFloat(i * 4, v);
      f16.putShort(i * 2, io.decostream.nn.safetensors.HalfFloats.floatToF16(v));
      bf16.putShort(i * 2, io.decostream.nn.safetensors.HalfFloats.floatToBf16(v));
    }
    NativeView w32 = NativeView.of(f32);
    NativeView w16 = NativeView.of(f16);
    NativeView wb = NativeView.of(bf16);
    float[] x = new float[cols];
    float[] xe = new float[cols / 2];
    float[] xo = new float[cols / 2];
    for (int i = 0; i < cols; i++) {
      x[i] = 0.01f * (i % 7);
    }
    DecodeKernels.deinterleave(x, cols, xe, xo);
    // quads are rows i + k*chunk/4 within each chunk of rows (default: the whole matrix, as decode
    // takes them; -Dchunk=4 takes adjacent rows)
    int chunk = Integer.getInteger("chunk", rows);
    float[] out = new float[rows];
    Pass[] kernels = {
      () -> {
        float s = 0;
        for (int i = 0; i < rows; i++) {
          s += DecodeKernels.dotF32(w32, i, cols, x);
        }
        return s;
      },
      () -> {
        float s = 0;
        for (int i = 0; i < rows; i++) {
          s += DecodeKernels.dotF16(w16, i, cols, xe, xo);
        }
        return s;
      },
      () -> {
        float s = 0;
        for (int i = 0; i < rows; i++) {
          s += DecodeKernels.dotBF16(wb, i, cols, xe, xo);
        }
        return s;
      },
      quads(rows, chunk, (r, q) -> DecodeKernels.dotF32Quad(w32, r, q, cols, x, out), out),
      quads(rows, chunk, (r, q) -> DecodeKernels.dotF16Quad(w16, r, q, cols, xe, xo, out), out),
      quads(rows, chunk, (r, q) -> DecodeKernels.dotBF16Quad(wb, r, q, cols, xe, xo, out), out)
    };
    int[] bytesPerWeight = {4, 2, 2, 4, 2, 2};
    long quadRows = (long) (rows / chunk) * chunk;
    double[][] gbs = new double[kernels.length][repeats];
    float sink = 0;
    for (int r = -2; r < repeats; r++) {
      for (int k = 0; k < kernels.length; k++) {
        long t0 = System.nanoTime();
        for (int p = 0; p < passes; p++) {
          sink += kernels[k].run();
        }
        long ns = System.nanoTime() - t0;
        long weights = (k < 3 ? rows : quadRows) * cols;
        if (r >= 0) {
          gbs[k][r] = (double) weights * bytesPerWeight[k] * passes / ns;
        }
      }
    }
    if (sink == 42) {
      System.out.println(); // keeps the sums live
    }
    double[] medians = new double[kernels.length];
    for (int k = 0; k < kernels.length; k++) {
      Arrays.sort(gbs[k]);
      medians[k] = gbs[k][repeats / 2];
    }
    return medians;
  }
}
