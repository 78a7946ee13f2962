package io.decostream.nn.llama;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The decode step's worker threads (issue 20 point 2): a fixed set of daemon threads that share the
 * rows of a matrix-vector product with the calling thread. A decode step hands over about six
 * regions per layer, each tens of microseconds of work, so a region must start and end in well
 * under a microsecond: idle workers spin briefly on the region counter before they park.
 *
 * <p>Rows are handed out in small chunks from one counter rather than in fixed shares: on a busy
 * machine (a Kafka client, another stage) a worker that is not running simply takes no chunk, and
 * the caller does its share instead of waiting for it. The counter carries the region's number in
 * its high half, so a worker that wakes late can never take a chunk of a later region. Nothing is
 * allocated per region.
 *
 * <p>One region runs at a time ({@link #run} is synchronized): concurrent decodes of different
 * streams take turns, each using every thread.
 */
final class RowPool {

  /** What a region does to rows {@code from .. to-1}. */
  @FunctionalInterface
  interface Rows {
    void run(int from, int to);
  }

  /** Spins of an idle worker before it parks: tens of µs, longer than the gap between regions. */
  private static final int SPINS = 20_000;

  /** Chunks per thread and region: small enough to balance, large enough to stream rows. */
  private static final int CHUNKS_PER_THREAD = 8;

  private static RowPool shared;

  private final int threads;
  private final Thread[] workers;

  /** (region number << 32) | next chunk to hand out. */
  private final AtomicLong next = new AtomicLong();

  private final AtomicInteger done = new AtomicInteger();
  private volatile int generation;
  private volatile Rows task;
  private volatile int rows;
  private volatile int chunks;
  private volatile Throwable failure;

  /** The process-wide pool with {@code threads} participants (the caller is one of them). */
  static synchronized RowPool shared(int threads) {
    if (shared == null || shared.threads != threads) {
      shared = new RowPool(threads);
    }
    return shared;
  }

  private RowPool(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    this.threads = threads;
    workers = new Thread[threads - 1];
    for (int i = 0; i < workers.length; i++) {
      workers[i] = new Worker(this::work, i + 1);
      workers[i].setDaemon(true);
      workers[i].start();
    }
  }

  int threads() {
    return threads;
  }

  /**
   * The running thread's index among a region's participants, 0 .. threads-1: 1.. for a pool's
   * workers, 0 for the caller. One region runs at a time and each participant runs its chunks one
   * after another, so a buffer per index serves a region without locks.
   */
  static int participant() {
    return Thread.currentThread() instanceof Worker w ? w.index : 0;
  }

  /** A pool thread and its participant index. */
  private static final class Worker extends Thread {
    final int index;

    Worker(Runnable work, int index) {
      super(work, "deco-decode-" + index);
      this.index = index;
    }
  }

  /** Runs {@code body} over rows {@code 0 .. n-1} in chunks shared by all threads, and waits. */
  synchronized void run(int n, Rows body) {
    int c = Math.min(n, threads * CHUNKS_PER_THREAD);
    if (threads == 1 || n < threads * 4) {
      body.run(0, n);
      return;
    }
    int g = generation + 1;
    task = body;
    rows = n;
    chunks = c;
    done.set(0);
    next.set((long) g << 32);
    generation = g; // publishes the region to the spinning workers
    for (Thread w : workers) {
      LockSupport.unpark(w);
    }
    drain(g, body, n, c);
    for (int spins = 0; done.get() != c; spins++) {
      if (spins < SPINS) {
        Thread.onSpinWait();
      } else {
        Thread.yield(); // a worker holding a chunk was descheduled: let it finish
      }
    }
    task = null;
    Throwable f = failure;
    if (f != null) {
      failure = null;
      throw new IllegalStateException("a decode worker failed: " + f, f);
    }
  }

  /** Takes and runs chunks of region {@code g} until none is left. */
  private void drain(int g, Rows body, int n, int c) {
    while (true) {
      long v = next.get();
      int k = (int) v;
      if ((int) (v >>> 32) != g || k >= c) {
        return;
      }
      if (!next.compareAndSet(v, v + 1)) {
        continue;
      }
      try {
        body.run(bound(n, k, c), bound(n, k + 1, c));
      } catch (RuntimeException | Error e) {
        failure = e;
      } finally {
        done.incrementAndGet();
      }
    }
  }

  /**
   * Where chunk k of c starts among n rows: chunks shrink linearly from about 2n/c rows to about
   * n/c², so the thread that takes the last chunk finishes soon after the others instead of half a
   * chunk later on average. On the benchmark model (DecodeBench) the caller's wait at the ends of a
   * step's 61 regions fell from 0.8-1.1 ms to 0.2-0.3 ms with equal chunks replaced.
   */
  static int bound(int n, int k, int c) {
    long left = c - k;
    return n - (int) ((long) n * left * left / ((long) c * c));
  }

  private void work() {
    int seen = 0;
    while (true) {
      int spins = 0;
      int g;
      while ((g = generation) == seen) {
        if (++spins < SPINS) {
          Thread.onSpinWait();
        } else {
          LockSupport.park(this);
        }
      }
      seen = g;
      Rows body = task;
      int n = rows;
      int c = chunks;
      if (body != null) {
        drain(g, body, n, c);
      }
    }
  }
}
