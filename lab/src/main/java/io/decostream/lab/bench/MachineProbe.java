package io.decostream.lab.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * This machine's own floors, measured in the benchmark's process at its thread count (issue 20
 * point 6): sgemm GFLOP/s (a large fp32 matmul through DJL's libtorch, the same GEMM the models
 * use) and memory-read bandwidth, two ways: a plain-Java sum over an off-heap buffer on {@code
 * threads} threads, and libtorch's vectorised {@code sum} of a tensor of the same size. The higher
 * of the two is the floor (it is the rate this machine demonstrably reads at); both are reported.
 */
public final class MachineProbe {

  private MachineProbe() {}

  /**
   * The measured rates.
   *
   * @param gemmN the matrix size of the sgemm (n x n x n)
   * @param gflops best sgemm GFLOP/s
   * @param readBytes bytes summed per bandwidth pass
   * @param javaGBs plain-Java multi-threaded read, best GB/s (10^9 bytes/s)
   * @param torchGBs libtorch {@code sum}, best GB/s
   */
  public record Machine(int gemmN, double gflops, long readBytes, double javaGBs, double torchGBs) {

    /** The bandwidth floor: the faster of the two reads. */
    public double bandwidthGBs() {
      return Math.max(javaGBs, torchGBs);
    }

    /** Which read gave {@link #bandwidthGBs()}. */
    public String bandwidthMethod() {
      return javaGBs >= torchGBs
          ? "plain-Java sum of longs over an off-heap buffer"
          : "libtorch sum of an fp32 tensor";
    }
  }

  /** Runs both probes; each rate is the best of {@code repeats} passes after one warm-up. */
  public static Machine measure(
      NDManager root, int gemmN, long readBytes, int threads, int repeats, Consumer<String> log) {
    log.accept("machine: sgemm " + gemmN + "^3 fp32 (libtorch), best of " + repeats);
    double gflops = sgemmGflops(root, gemmN, repeats);
    log.accept("machine: memory read of " + (readBytes >> 20) + " MiB, best of " + repeats);
    try (Reader reader = new Reader(root, readBytes, threads)) {
      return new Machine(
          gemmN, gflops, readBytes, reader.javaGBs(repeats), reader.torchGBs(repeats));
    }
  }

  /**
   * The memory-read probe over one fp32 tensor of {@code bytes}, kept allocated so that it can be
   * repeated beside another timing: the machine's bandwidth drifts (on the benchmark's VM from 30
   * to 55 GB/s within minutes), so a rate is compared with the read made just before it. Both reads
   * run over the same memory: libtorch's {@code sum} of the tensor, and {@code threads} Java
   * threads each summing its slice of the tensor's bytes as longs (8 bytes per load, four
   * independent accumulators so the loads are not serialised on one add).
   */
  public static final class Reader implements AutoCloseable {
    private final NDManager manager;
    private final NDArray tensor;
    private final ByteBuffer bytes;
    private final int threads;
    private final ExecutorService pool;
    private boolean javaWarm;

    public Reader(NDManager root, long readBytes, int threads) {
      if (readBytes > Integer.MAX_VALUE - 64) {
        throw new IllegalArgumentException("the Java read probe addresses at most 2 GiB");
      }
      manager = root.newSubManager();
      // written once, so that every read reads memory, not fresh zero pages
      tensor = manager.ones(new Shape(readBytes / 4), DataType.FLOAT32);
      bytes = tensor.toByteBuffer(true).order(ByteOrder.nativeOrder());
      this.threads = threads;
      pool = Executors.newFixedThreadPool(threads);
    }

    /** The faster of the two reads, best of {@code repeats} each: the bandwidth floor. */
    public double readGBs(int repeats) {
      return Math.max(javaGBs(repeats), torchGBs(repeats));
    }

    /** Best GB/s of libtorch summing the tensor, after one warm-up. */
    double torchGBs(int repeats) {
      double best = Double.MAX_VALUE;
      for (int r = -1; r < repeats; r++) {
        long t0 = System.nanoTime();
        tensor.sum().close();
        double s = (System.nanoTime() - t0) / 1e9;
        if (r >= 0) {
          best = Math.min(best, s);
        }
      }
      return bytes.capacity() / best / 1e9;
    }

    /** Best GB/s of the Java threads' read (three warm-ups the first time: JIT compilation). */
    double javaGBs(int repeats) {
      int n = bytes.capacity() & ~63;
      int slice = (n / threads) & ~63;
      double best = Double.MAX_VALUE;
      long sink = 0;
      try {
        for (int r = javaWarm ? -1 : -3; r < repeats; r++) {
          long t0 = System.nanoTime();
          List<Future<Long>> parts = new ArrayList<>();
          for (int t = 0; t < threads; t++) {
            int from = t * slice;
            int to = t == threads - 1 ? n : from + slice;
            parts.add(pool.submit(() -> sumLongs(bytes, from, to)));
          }
          for (Future<Long> f : parts) {
            sink += f.get();
          }
          double s = (System.nanoTime() - t0) / 1e9;
          if (r >= 0) {
            best = Math.min(best, s);
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted during the bandwidth probe", e);
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException("bandwidth probe failed", e.getCause());
      }
      javaWarm = true;
      if (sink == 42) { // keeps the sums observable so the JIT cannot drop the reads
        System.err.print("");
      }
      return n / best / 1e9;
    }

    @Override
    public void close() {
      pool.shutdownNow();
      manager.close();
    }
  }

  /** Best GFLOP/s of an n x n by n x n fp32 matmul (2 n^3 FLOPs). */
  static double sgemmGflops(NDManager root, int n, int repeats) {
    try (NDManager m = root.newSubManager()) {
      NDArray a = m.randomUniform(-1f, 1f, new Shape(n, n), DataType.FLOAT32);
      NDArray b = m.randomUniform(-1f, 1f, new Shape(n, n), DataType.FLOAT32);
      double best = Double.MAX_VALUE;
      for (int r = -1; r < repeats; r++) { // r = -1 is the warm-up
        long t0 = System.nanoTime();
        a.matMul(b).close();
        double s = (System.nanoTime() - t0) / 1e9;
        if (r >= 0) {
          best = Math.min(best, s);
        }
      }
      return 2.0 * n * n * (double) n / best / 1e9;
    }
  }

  /**
   * The sum of the longs in [from, to) as four streams a quarter of the range apart, each read in
   * order: the access pattern of the decode kernels (four rows far apart per pass), which reads
   * more from memory per thread than one stream does.
   */
  static long sumLongs(ByteBuffer buf, int from, int to) {
    int quarter = (to - from) / 32 * 8; // bytes per stream, a multiple of 8
    long a = 0;
    long b = 0;
    long c = 0;
    long d = 0;
    for (int i = from, end = from + quarter; i < end; i += 8) {
      a += buf.getLong(i);
      b += buf.getLong(i + quarter);
      c += buf.getLong(i + 2 * quarter);
      d += buf.getLong(i + 3 * quarter);
    }
    for (int i = from + 4 * quarter; i + 8 <= to; i += 8) {
      a += buf.getLong(i);
    }
    return a + b + c + d;
  }
}
