package io.decostream.frames;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Recognises an input that crashes the process (issue 18 point 7: "an input that crashes the
 * process is recognised after restart (attempt count kept in state) and dead-lettered instead of
 * crash-looping").
 *
 * <p>Before a record is processed, {@link #begin} records "topic-partition@offset, attempt k" in a
 * small file (written and renamed, not fsynced: see {@link #store}); {@link #end} removes the entry
 * once the record is done. A process that dies while processing leaves the entry behind; after the
 * restart the same record is read again and {@link #begin} sees how many earlier attempts never
 * ended. Once that count reaches the limit the caller dead-letters the record instead of processing
 * it again.
 *
 * <p>The file is kept outside Kafka on purpose: under exactly-once a crash aborts the transaction,
 * which rolls back any state-store write (the count would be lost with it). It also lives outside
 * the Streams task directory, which Streams wipes after an unclean exactly-once shutdown: callers
 * pass the application's state directory (the parent of the task directory) and the task id.
 *
 * <p>Not thread-safe: one instance per Streams task (a task is processed by one thread).
 */
public final class CrashAttempts {

  /** Entries kept at most; older ones are dropped first (a bound on the file, never reached). */
  static final int MAX_ENTRIES = 256;

  private final Path file;
  private final int limit;
  private final Map<String, Integer> attempts = new LinkedHashMap<>();

  /**
   * @param file where the attempts are kept (created with its parent directories when missing)
   * @param limit attempts that may crash before the record is given up (&ge; 1)
   */
  public CrashAttempts(Path file, int limit) {
    this.file = Objects.requireNonNull(file, "file");
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be >= 1, got " + limit);
    }
    this.limit = limit;
    load();
  }

  /**
   * The file for one Streams task: {@code <appStateDir>/deco-crash-attempts/<stage>-<taskId>}.
   * {@code taskDir} is the task's own state directory ({@code ProcessorContext.stateDir()}).
   */
  public static Path fileFor(Path taskDir, String stage, String taskId) {
    Path appDir = taskDir.toAbsolutePath().getParent();
    return appDir.resolve("deco-crash-attempts").resolve(stage + "-" + taskId.replace('/', '_'));
  }

  /** The identity of a record: topic-partition@offset. */
  public static String key(String topic, int partition, long offset) {
    return topic + "-" + partition + "@" + offset;
  }

  /**
   * Called before processing the record {@code key}. Returns the number of earlier attempts that
   * never ended (crashes) when it has reached the limit: the caller must not process the record but
   * dead-letter it (the entry is then forgotten). Otherwise records this attempt durably and
   * returns 0.
   */
  public int begin(String key) {
    int crashed = attempts.getOrDefault(key, 0);
    if (crashed >= limit) {
      attempts.remove(key);
      store();
      return crashed;
    }
    attempts.remove(key); // re-insert last: the newest entries survive the MAX_ENTRIES bound
    attempts.put(key, crashed + 1);
    Iterator<String> it = attempts.keySet().iterator();
    while (attempts.size() > MAX_ENTRIES && it.hasNext()) {
      it.next();
      it.remove();
    }
    store();
    return 0;
  }

  /** Called after the record {@code key} was processed (forwarded or dead-lettered). */
  public void end(String key) {
    if (attempts.remove(key) != null) {
      store();
    }
  }

  /** Attempts recorded for {@code key} that have not ended (tests, logs). */
  public int pending(String key) {
    return attempts.getOrDefault(key, 0);
  }

  public int limit() {
    return limit;
  }

  public Path file() {
    return file;
  }

  private void load() {
    if (!Files.exists(file)) {
      return;
    }
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        int tab = line.lastIndexOf('\t');
        if (tab <= 0) {
          continue;
        }
        try {
          attempts.put(line.substring(0, tab), Integer.parseInt(line.substring(tab + 1).trim()));
        } catch (NumberFormatException e) {
          // a torn line cannot happen (atomic rename), but a hand-edited file must not stop us
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read crash attempts from " + file, e);
    }
  }

  /**
   * Writes a temporary file and renames it over the old one (never a torn file). Not fsynced (issue
   * 22 point 2): the count has to survive the process, not the machine. A write is in the kernel's
   * page cache once it returns, which a crashed or killed JVM does not lose; only a kernel crash or
   * power loss could, and then the record is merely tried once more. Two fsyncs per chunk (begin,
   * end) held the frames stage's one thread for most of its time under load.
   */
  private void store() {
    try {
      Files.createDirectories(file.getParent());
      if (attempts.isEmpty()) {
        Files.deleteIfExists(file);
        return;
      }
      StringBuilder sb = new StringBuilder();
      attempts.forEach((k, v) -> sb.append(k).append('\t').append(v).append('\n'));
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      try (FileChannel ch =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE,
              StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer buf = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8));
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write crash attempts to " + file, e);
    }
  }
}
