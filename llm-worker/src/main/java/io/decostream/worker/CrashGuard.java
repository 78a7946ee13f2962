package io.decostream.worker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts how often each record's processing started without finishing, across process restarts
 * (issue 18 point 7: an input that crashes the process is recognised after restart and
 * dead-lettered instead of crash-looping).
 *
 * <p>The count lives in a small file of its own, not in a state store: under exactly-once a store
 * write made before the crash belongs to the transaction the crash aborts, so it would be rolled
 * back with it and the count would never grow. {@link #enter} writes "this record, attempt k" and
 * forces it to disk before the risky work; {@link #done} removes the entry after it. A crash leaves
 * the entry behind, and the next run that reaches the same record sees it.
 *
 * <p>Only an abrupt death counts: a native crash, an abort, SIGKILL (the kernel's OOM killer,
 * {@code kill -9}). An orderly JVM exit (SIGTERM, Ctrl-C, {@code System.exit}) runs a shutdown hook
 * that takes back the attempt of the record in flight, so restarting a worker in the middle of a
 * long answer is not held against the question. A {@code kill -9} cannot be told from a crash the
 * input caused: a record in flight during {@link WorkerConfig#crashAttemptLimit} such kills in a
 * row is dead-lettered too.
 *
 * <p>File format, one line per record in flight: {@code attempts TAB partition TAB offset TAB
 * topic}. Normally it holds at most one line; after a crash, the crashed record's line stays until
 * that record is processed again (records of one partition come in offset order, so a line for an
 * earlier offset of the same partition is stale and dropped).
 */
final class CrashGuard {
  private static final Logger LOG = LoggerFactory.getLogger(CrashGuard.class);

  /** Directory, next to the task directories of the application, holding one file per task. */
  static final String DIRECTORY = "llm-worker-attempts";

  /** Guards of this JVM's open tasks, for the shutdown hook. */
  private static final Set<CrashGuard> OPEN = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> OPEN.forEach(CrashGuard::orderlyExit), "llm-worker-crash-guard-shutdown"));
  }

  private final Path file;
  private final Map<Coordinates, Integer> attempts = new LinkedHashMap<>();

  /**
   * Records entered and not yet done in this run: with batched answers (issue 22 point 3) several
   * questions of a partition are in flight at once, so an earlier offset still in flight is not
   * stale.
   */
  private final Set<Coordinates> inFlight = new java.util.LinkedHashSet<>();

  /** Set by an orderly exit: whatever starts after it is not counted either. */
  private boolean exiting;

  record Coordinates(String topic, int partition, long offset) {
    @Override
    public String toString() {
      return topic + "-" + partition + "@" + offset;
    }
  }

  private CrashGuard(Path file) {
    this.file = file;
  }

  /**
   * The attempts file of a task. It sits beside the task's own state directory rather than inside
   * it: Kafka Streams deletes a task directory whose state it considers corrupt, which is what
   * happens under exactly-once after the process was killed.
   */
  static Path fileFor(Path taskStateDir, String taskId) {
    Path appDir = taskStateDir.toAbsolutePath().getParent();
    return appDir.resolve(DIRECTORY).resolve(taskId);
  }

  /** Opens (reading what a previous run left) the attempts file at {@code file}. */
  static CrashGuard open(Path file) {
    CrashGuard g = new CrashGuard(file);
    if (Files.exists(file)) {
      try {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          String[] f = line.split("\t", 4);
          if (f.length != 4) {
            continue; // a torn write: nothing to count
          }
          try {
            g.attempts.put(
                new Coordinates(f[3], Integer.parseInt(f[1]), Long.parseLong(f[2])),
                Integer.parseInt(f[0]));
          } catch (NumberFormatException e) {
            // same: a line that is not ours counts nothing
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the worker's attempts file " + file, e);
      }
      if (!g.attempts.isEmpty()) {
        LOG.warn(
            "records whose processing did not finish in an earlier run (attempts so far): {}",
            g.attempts);
      }
    }
    OPEN.add(g);
    return g;
  }

  /** The task closed: its guard no longer takes part in the shutdown hook. */
  void close() {
    OPEN.remove(this);
  }

  /**
   * The JVM is exiting in order while a record is in flight: that start was not a crash, take it
   * back. Best effort (a failure here must not hang the exit).
   */
  synchronized void orderlyExit() {
    exiting = true;
    if (inFlight.isEmpty() || !Files.isDirectory(file.getParent())) {
      return;
    }
    try {
      for (Coordinates current : inFlight) {
        int n = attempts.getOrDefault(current, 0) - 1;
        if (n > 0) {
          attempts.put(current, n);
        } else {
          attempts.remove(current);
        }
      }
      inFlight.clear();
      write(true);
    } catch (RuntimeException e) {
      // the exit goes on; at worst the attempt counts
    }
  }

  /**
   * Records, durably, that processing of the record at {@code c} starts; returns how many earlier
   * starts did not finish.
   */
  synchronized int enter(Coordinates c) {
    // A line for an earlier offset of the same partition was passed without entering: stale.
    Iterator<Map.Entry<Coordinates, Integer>> it = attempts.entrySet().iterator();
    while (it.hasNext()) {
      Coordinates o = it.next().getKey();
      if (o.topic().equals(c.topic())
          && o.partition() == c.partition()
          && o.offset() < c.offset()
          && !inFlight.contains(o)) {
        it.remove();
      }
    }
    int before = attempts.getOrDefault(c, 0);
    if (exiting) {
      return before;
    }
    attempts.put(c, before + 1);
    write(true);
    inFlight.add(c);
    return before;
  }

  /**
   * Processing of the record at {@code c} finished (or it was dead-lettered): forget it. Not forced
   * to disk: if a crash loses this write, the record is counted once more, which only matters for a
   * record that is never processed again anyway.
   */
  synchronized void done(Coordinates c) {
    inFlight.remove(c);
    if (attempts.remove(c) != null) {
      write(false);
    }
  }

  /** Attempts recorded for {@code c} (for tests and logs). */
  synchronized int attempts(Coordinates c) {
    return attempts.getOrDefault(c, 0);
  }

  private void write(boolean force) {
    try {
      if (attempts.isEmpty()) {
        Files.deleteIfExists(file);
        return;
      }
      Files.createDirectories(file.getParent());
      StringBuilder sb = new StringBuilder();
      attempts.forEach(
          (c, n) ->
              sb.append(n)
                  .append('\t')
                  .append(c.partition())
                  .append('\t')
                  .append(c.offset())
                  .append('\t')
                  .append(c.topic())
                  .append('\n'));
      // Write beside, force, then rename over: a kill mid-write leaves the old file whole.
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      try (FileChannel ch =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE,
              StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer b = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
          ch.write(b);
        }
        if (force) {
          ch.force(true);
        }
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the worker's attempts file " + file, e);
    }
  }
}
