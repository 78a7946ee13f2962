package io.decostream.cli;

import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CPU time per stage of the stages running in this JVM (issue 22 point 1: "CPU per stage"), from
 * the JVM's per-thread CPU clocks grouped by thread name: Kafka Streams names its threads (and
 * their clients' network threads) after the application id, so {@code deco-frames*} and the FFmpeg
 * decode threads are the frames stage, {@code deco-encoder*} the encoder, {@code deco-llm-worker*}
 * the worker. Threads the JVM does not run (libtorch's intra-op pool, GC, JIT) have no Java thread:
 * their time is the process's CPU time minus every Java thread's, reported as {@code native+gc};
 * the model stages' tensor arithmetic partly lands there.
 */
final class StageCpu {
  static final String FRAMES = "frames";
  static final String ENCODER = "encoder";
  static final String WORKER = "llm-worker";
  static final String LOADTEST = "loadtest";
  static final String OTHER = "broker+other";
  static final String NATIVE = "native+gc";

  private final com.sun.management.ThreadMXBean threads =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
  private final com.sun.management.OperatingSystemMXBean os =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private final Map<Long, Long> lastByThread = new HashMap<>();
  private final Map<String, Long> nanosByGroup = new LinkedHashMap<>();
  private final long processStart;
  private final long wallStart = System.nanoTime();

  StageCpu() {
    for (String g : new String[] {FRAMES, ENCODER, WORKER, LOADTEST, OTHER, NATIVE}) {
      nanosByGroup.put(g, 0L);
    }
    processStart = os.getProcessCpuTime();
    // the threads' CPU before now is not the run's: a baseline, then the totals start at zero
    sample();
    nanosByGroup.replaceAll((g, n) -> 0L);
  }

  /** The stage a thread belongs to, by its name. */
  static String group(String thread) {
    if (thread.contains("deco-frames") || thread.startsWith("chunk-decoder")) {
      return FRAMES;
    }
    if (thread.contains("deco-encoder")) {
      return ENCODER;
    }
    if (thread.contains("deco-llm-worker")) {
      return WORKER;
    }
    if (thread.contains("loadtest")) {
      return LOADTEST;
    }
    return OTHER;
  }

  /**
   * Adds every live thread's CPU time since the last sample to its group (call every second or so:
   * a thread that ends between two samples loses its last interval).
   */
  synchronized void sample() {
    long[] ids = threads.getAllThreadIds();
    long[] cpu = threads.getThreadCpuTime(ids);
    java.lang.management.ThreadInfo[] infos = threads.getThreadInfo(ids);
    for (int i = 0; i < ids.length; i++) {
      if (cpu[i] < 0 || infos[i] == null) {
        continue;
      }
      long before = lastByThread.getOrDefault(ids[i], 0L);
      lastByThread.put(ids[i], cpu[i]);
      nanosByGroup.merge(group(infos[i].getThreadName()), cpu[i] - before, Long::sum);
    }
  }

  /** Seconds since this sampler started. */
  synchronized double seconds() {
    return (System.nanoTime() - wallStart) / 1e9;
  }

  /**
   * Cores used per group since the start (CPU seconds / wall seconds), native+gc included as the
   * process's remainder.
   */
  synchronized Map<String, Double> cores() {
    sample();
    double wall = (System.nanoTime() - wallStart) / 1e9;
    long java = 0;
    Map<String, Double> out = new LinkedHashMap<>();
    for (Map.Entry<String, Long> e : nanosByGroup.entrySet()) {
      if (!e.getKey().equals(NATIVE)) {
        java += e.getValue();
        out.put(e.getKey(), e.getValue() / 1e9 / wall);
      }
    }
    long process = os.getProcessCpuTime() - processStart;
    out.put(NATIVE, Math.max(0, process - java) / 1e9 / wall);
    out.put("process", process / 1e9 / wall);
    return out;
  }
}
