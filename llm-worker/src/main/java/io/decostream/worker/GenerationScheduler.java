package io.decostream.worker;

import io.decostream.metrics.StageMetrics;
import io.micrometer.core.instrument.Counter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching of the worker's generations (issue 22 point 3): questions and captions of
 * different streams are decoded together on one thread of their own, so the stream thread only
 * enqueues them and later forwards what finished (it is never blocked for a whole generation).
 *
 * <p>Between two decode steps the scheduler admits waiting work, up to {@code maxBatch} active
 * generations: admission runs the work's {@link Job#admit} on this thread, which prefills the
 * prompt's text over a copy of the stream's live window and samples the first token ({@link
 * AnswerBackend.Live#start}), or, where no live window can answer (full path, a backend that cannot
 * batch), runs the whole generation there and then. Then every active generation advances one token
 * in one {@link AnswerBackend#step}, each weight row read once for all; finished ones are retired
 * and handed to their owner's callback. Work is admitted in submission order.
 *
 * <p>{@code maxBatch = 0} runs each job to its end in {@link #submit}, on the caller's thread: the
 * worker's unbatched mode, which unit tests of the topology use to see answers synchronously.
 *
 * <p>Owners (a processor, i.e. one task) that close are {@link #cancel}led: their waiting work is
 * dropped and their active generations freed at the next step, and their callbacks are not called
 * any more (the partition's next owner resubmits the work from its pending store).
 */
final class GenerationScheduler {
  private static final Logger LOG = LoggerFactory.getLogger(GenerationScheduler.class);

  /** What admission gives: a generation to step, or a finished outcome. */
  record Admitted(AnswerBackend.Started started, Object finished) {
    static Admitted stepping(AnswerBackend.Started s) {
      return new Admitted(s, null);
    }

    static Admitted finished(Object outcome) {
      return new Admitted(null, outcome);
    }
  }

  /** A generation to run: admitted on the scheduler's thread, finished there too. */
  interface Job {
    /** Prefills and samples the first token, or runs the whole generation (then finished). */
    Admitted admit();

    /** The outcome once its started generation is done (on the scheduler's thread). */
    Object finish(AnswerBackend.Generated result);
  }

  /** A finished job: its outcome, or the failure that ended it. */
  record Done(Object owner, Job job, Object outcome, RuntimeException failure) {}

  private record Work(Object owner, Job job, Consumer<Done> callback) {}

  private static final class Active {
    final Work work;
    final AnswerBackend.Started started;

    Active(Work work, AnswerBackend.Started started) {
      this.work = work;
      this.started = started;
    }
  }

  private final AnswerBackend backend;
  private final int maxBatch;
  private final LinkedBlockingQueue<Work> incoming = new LinkedBlockingQueue<>();

  /** Owners that closed; weak, so a closed task is collected once its queued work is gone. */
  private final Set<Object> cancelled =
      Collections.newSetFromMap(Collections.synchronizedMap(new WeakHashMap<>()));

  private Thread thread;

  // counters for the benchmark and logs (scheduler thread writes, anyone reads)
  private volatile long steps;
  private volatile long stepped;

  /** Batched decode steps and the generations they advanced, process-wide (mean batch). */
  static final Counter STEPS =
      Counter.builder("deco.generation.steps")
          .description("Batched decode steps of the LLM worker's generation scheduler")
          .tag("stage", WorkerTopology.STAGE)
          .register(StageMetrics.registry());

  static final Counter STEPPED =
      Counter.builder("deco.generation.stepped")
          .description("Generations advanced by those steps (stepped / steps = mean batch size)")
          .tag("stage", WorkerTopology.STAGE)
          .register(StageMetrics.registry());

  /**
   * @param maxBatch most generations decoded together; 0 = run each job in {@link #submit}
   */
  GenerationScheduler(AnswerBackend backend, int maxBatch) {
    if (maxBatch < 0) {
      throw new IllegalArgumentException("maxBatch must be >= 0, got " + maxBatch);
    }
    this.backend = backend;
    this.maxBatch = maxBatch;
  }

  int maxBatch() {
    return maxBatch;
  }

  /** Decode steps run so far, and the generations they advanced (mean batch = ratio). */
  long steps() {
    return steps;
  }

  long stepped() {
    return stepped;
  }

  /**
   * Queues {@code job} of {@code owner}; {@code callback} gets its outcome on the scheduler's
   * thread (on the caller's when {@code maxBatch} is 0).
   */
  void submit(Object owner, Job job, Consumer<Done> callback) {
    Work w = new Work(owner, job, callback);
    if (maxBatch == 0) {
      runAlone(w);
      return;
    }
    synchronized (this) {
      if (thread == null) {
        thread = new Thread(this::loop, "deco-generation-scheduler");
        thread.setDaemon(true);
        thread.start();
      }
    }
    incoming.add(w);
  }

  /** Forgets {@code owner}'s work: nothing of it is run or reported any more. */
  void cancel(Object owner) {
    if (maxBatch > 0) {
      cancelled.add(owner);
    }
  }

  private void runAlone(Work w) {
    Admitted a;
    try {
      a = w.job.admit();
    } catch (RuntimeException e) {
      // an Error goes on up the caller's stack, as it did before the scheduler existed (a crash
      // of the stream thread is what the crash guard counts)
      w.callback.accept(new Done(w.owner, w.job, null, e));
      return;
    }
    if (a.started() == null) {
      w.callback.accept(new Done(w.owner, w.job, a.finished(), null));
      return;
    }
    List<AnswerBackend.Started> one = List.of(a.started());
    try {
      while (!a.started().done()) {
        backend.step(one);
      }
      finish(w, a.started());
    } catch (RuntimeException e) {
      w.callback.accept(new Done(w.owner, w.job, null, e));
    } finally {
      a.started().close();
    }
  }

  private void finish(Work w, AnswerBackend.Started s) {
    Object outcome;
    try {
      outcome = w.job.finish(s.result());
    } catch (RuntimeException e) {
      report(w, null, e);
      return;
    }
    report(w, outcome, null);
  }

  private void report(Work w, Object outcome, RuntimeException failure) {
    if (cancelled.contains(w.owner)) {
      return;
    }
    try {
      w.callback.accept(new Done(w.owner, w.job, outcome, failure));
    } catch (RuntimeException e) {
      LOG.warn("a finished generation could not be handed back: {}", e.toString());
    }
  }

  private static RuntimeException failure(Throwable e) {
    return e instanceof RuntimeException r ? r : new IllegalStateException(e.toString(), e);
  }

  private void loop() {
    ArrayDeque<Work> waiting = new ArrayDeque<>();
    List<Active> active = new ArrayList<>();
    List<AnswerBackend.Started> batch = new ArrayList<>();
    while (true) {
      try {
        if (active.isEmpty() && waiting.isEmpty()) {
          Work w = incoming.poll(1, TimeUnit.SECONDS);
          if (w != null) {
            waiting.add(w);
          }
        }
        incoming.drainTo(waiting);
        // retire the generations of owners that closed
        active.removeIf(
            a -> {
              if (cancelled.contains(a.work.owner)) {
                a.started.close();
                return true;
              }
              return false;
            });
        // admit between steps
        while (active.size() < maxBatch && !waiting.isEmpty()) {
          Work w = waiting.poll();
          if (cancelled.contains(w.owner)) {
            continue;
          }
          Admitted a;
          try {
            a = w.job.admit();
          } catch (RuntimeException | Error e) {
            // its owner gets an answer saying so; the others go on
            report(w, null, failure(e));
            continue;
          }
          if (a.started() == null) {
            report(w, a.finished(), null);
          } else if (a.started().done()) {
            finish(w, a.started());
            a.started().close();
          } else {
            active.add(new Active(w, a.started()));
          }
        }
        if (active.isEmpty()) {
          continue;
        }
        batch.clear();
        active.forEach(a -> batch.add(a.started));
        try {
          backend.step(batch);
          steps++;
          stepped += batch.size();
          STEPS.increment();
          STEPPED.increment(batch.size());
        } catch (RuntimeException e) {
          // a step that failed leaves every cache in it undefined: fail them all
          LOG.warn(
              "a batched decode step of {} generation(s) failed: {}", batch.size(), e.toString());
          for (Active a : active) {
            a.started.close();
            report(a.work, null, e);
          }
          active.clear();
          continue;
        }
        active.removeIf(
            a -> {
              if (a.started.done()) {
                finish(a.work, a.started);
                a.started.close();
                return true;
              }
              return false;
            });
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException | Error e) {
        // never let the thread die: every generation would wait forever
        LOG.error("generation scheduler: {}", e.toString(), e);
        for (Active a : active) {
          a.started.close();
          report(a.work, null, failure(e));
        }
        active.clear();
      }
    }
  }
}
