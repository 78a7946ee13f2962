package io.decostream.nn.llama;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The decode step's worker threads (issue 20 point 2): one fixed set of daemon threads that split
 * the rows of a matrix-vector product between them and the calling thread. A decode step hands over
 * about five regions per layer, each a few tens of microseconds of work, so a region must start and
 * end in well under a microsecond: idle workers spin briefly on the region counter before they
 * park, and the caller spins on the count of unfinished shares. Nothing is allocated per region.
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

  /** Spins of an idle worker before it parks: about 50 µs, longer than the gap between regions. */
  private static final int SPINS = 20_000;

  private static RowPool shared;

  private final int threads;
  private final Thread[] workers;
  private final AtomicInteger pending = new AtomicInteger();
  private volatile int generation;
  private volatile Rows task;
  private volatile int rows;
  private volatile boolean closed;
  private volatile Throwable failure;

  /** The process-wide pool with {@code threads} shares (the caller is one of them). */
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
      int share = i + 1;
      workers[i] = new Thread(() -> work(share), "deco-decode-" + share);
      workers[i].setDaemon(true);
      workers[i].start();
    }
  }

  int threads() {
    return threads;
  }

  /** Runs {@code body} over rows {@code 0 .. n-1}, split into contiguous shares, and waits. */
  synchronized void run(int n, Rows body) {
    if (threads == 1 || n < threads * 4) {
      body.run(0, n);
      return;
    }
    task = body;
    rows = n;
    pending.set(workers.length);
    generation++; // publishes task and rows to the spinning workers
    for (Thread w : workers) {
      LockSupport.unpark(w);
    }
    body.run(0, share(n, 1));
    while (pending.get() != 0) {
      Thread.onSpinWait();
    }
    task = null;
    Throwable f = failure;
    if (f != null) {
      failure = null;
      throw new IllegalStateException("a decode worker failed: " + f, f);
    }
  }

  /** End of share 0..threads-1's rows: shares differ by at most one row. */
  private int share(int n, int upTo) {
    return (int) ((long) n * upTo / threads);
  }

  private void work(int share) {
    int seen = 0;
    while (!closed) {
      int spins = 0;
      while (generation == seen && !closed) {
        if (++spins < SPINS) {
          Thread.onSpinWait();
        } else {
          LockSupport.park(this);
        }
      }
      seen = generation;
      Rows body = task;
      int n = rows;
      try {
        if (body != null) {
          body.run(share(n, share), share(n, share + 1));
        }
      } catch (RuntimeException | Error e) {
        failure = e;
      } finally {
        pending.decrementAndGet();
      }
    }
  }
}
