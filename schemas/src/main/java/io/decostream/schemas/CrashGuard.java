package io.decostream.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts how often each record's processing started without finishing, across process restarts
 * (issue 18 point 7: an input that crashes the process is recognised after restart and
 * dead-lettered instead of crash-looping). One per Streams task, in the frames stage (a chunk) and
 * the worker (a question, a caption, a frame's tokens).
 *
 * <p>The count lives in a small file of its own, not in a state store: under exactly-once a store
 * write made before the crash belongs to the transaction the crash aborts, so it would be rolled
 * back with it and the count would never grow. {@link #enter} records "this record started" before
 * the risky work, forced to disk where the stage asks for it; {@link #done} records that it
 * finished. Unforced, a start is in the kernel's page cache once written, which a crashed or killed
 * JVM does not lose (only a kernel crash or power loss could, and then the record is merely tried
 * once more): the frames stage does not force, since a sync per chunk held its one thread for most
 * of its time under load (issue 22 point 2). A crash leaves the start without its end, and the next
 * run that reaches the same record sees it.
 *
 * <p>Only an abrupt death counts: a native crash, an abort, SIGKILL (the kernel's OOM killer,
 * {@code kill -9}). An orderly JVM exit (SIGTERM, Ctrl-C, {@code System.exit}) runs a shutdown hook
 * that takes back the attempt of the record in flight, so restarting a worker in the middle of a
 * long answer is not held against the question. A {@code kill -9} cannot be told from a crash the
 * input caused: a record in flight during as many such kills in a row as the stage's limit is
 * dead-lettered too.
 *
 * <p>The file is a journal, so that a start or an end costs one short append however many records
 * are in flight (issue 22: with batched answers a worker behind its input holds thousands; writing
 * them all per record made each question cost time in proportion to the backlog). One line per
 * event, {@code KIND TAB partition TAB offset TAB topic}: KIND {@code +} a start, {@code -} an end,
 * or a number, the attempts so far (a snapshot line). Opening a guard replays the journal and
 * rewrites it as snapshot lines (beside, forced, renamed over: a torn last line is dropped, never
 * appended to); so does the journal outgrowing what it holds, and an orderly exit. A start whose
 * append was torn by the crash was not forced yet, so its risky work had not begun: not counting it
 * is right. With nothing in flight the file is deleted. Records of one partition come in offset
 * order, so a record left by an earlier run that a later offset of its partition passes without
 * entering is stale and dropped.
 */
public final class CrashGuard {
  private static final Logger LOG = LoggerFactory.getLogger(CrashGuard.class);

  /** Journal lines beyond twice the records held (and this many) make it rewritten as snapshots. */
  private static final int COMPACT_SLACK = 256;

  /** Guards of this JVM's open tasks, for the shutdown hook. */
  private static final Set<CrashGuard> OPEN = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(() -> OPEN.forEach(CrashGuard::orderlyExit), "deco-crash-guard-shutdown"));
  }

  private final Path file;

  /** Whether a start is forced to disk before {@link #enter} returns. */
  private final boolean forceStarts;

  private final Map<Coordinates, Integer> attempts = new LinkedHashMap<>();

  /**
   * Records entered and not yet done in this run: with batched answers (issue 22 point 3) several
   * questions of a partition are in flight at once, so an earlier offset still in flight is not
   * stale.
   */
  private final Set<Coordinates> inFlight = new HashSet<>();

  /** Records an earlier run left and this one has not entered yet: the only ones that go stale. */
  private final Set<Coordinates> leftovers = new LinkedHashSet<>();

  /** The journal, open for appending while the file exists; null when it does not. */
  private FileChannel journal;

  /** Lines in the journal now. */
  private int lines;

  /** Set by an orderly exit: whatever starts after it is not counted either. */
  private boolean exiting;

  /** A record: where it was read from. */
  public record Coordinates(String topic, int partition, long offset) {
    @Override
    public String toString() {
      return topic + "-" + partition + "@" + offset;
    }
  }

  private CrashGuard(Path file, boolean forceStarts) {
    this.file = file;
    this.forceStarts = forceStarts;
  }

  /**
   * The attempts file {@code name} in {@code directory} beside the task directories. It sits beside
   * the task's own state directory rather than inside it: Kafka Streams deletes a task directory
   * whose state it considers corrupt, which is what happens under exactly-once after the process
   * was killed.
   */
  public static Path fileFor(Path taskStateDir, String directory, String name) {
    Path appDir = taskStateDir.toAbsolutePath().getParent();
    return appDir.resolve(directory).resolve(name.replace('/', '_'));
  }

  /**
   * Opens (replaying what a previous run left) the attempts file at {@code file}.
   *
   * @param forceStarts whether each start is forced to disk before {@link #enter} returns
   */
  public static CrashGuard open(Path file, boolean forceStarts) {
    CrashGuard g = new CrashGuard(file, forceStarts);
    if (Files.exists(file)) {
      try {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          g.replay(line);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the attempts file " + file, e);
      }
      if (!g.attempts.isEmpty()) {
        LOG.warn(
            "records whose processing did not finish in an earlier run (attempts so far): {}",
            g.attempts);
      }
      g.leftovers.addAll(g.attempts.keySet());
      synchronized (g) {
        g.snapshot();
      }
    }
    OPEN.add(g);
    return g;
  }

  /**
   * Applies one journal line; a line that is not whole (a torn write) or not ours counts nothing.
   */
  private void replay(String line) {
    String[] f = line.split("\t", 4);
    if (f.length != 4 || f[3].isEmpty()) {
      return;
    }
    Coordinates c;
    try {
      c = new Coordinates(f[3], Integer.parseInt(f[1]), Long.parseLong(f[2]));
    } catch (NumberFormatException e) {
      return;
    }
    switch (f[0]) {
      case "+" -> attempts.merge(c, 1, Integer::sum);
      case "-" -> attempts.remove(c);
      default -> {
        try {
          attempts.put(c, Integer.parseInt(f[0]));
        } catch (NumberFormatException e) {
          // not ours
        }
      }
    }
  }

  /** The task closed: its guard no longer takes part in the shutdown hook. */
  public synchronized void close() {
    OPEN.remove(this);
    closeJournal();
  }

  /**
   * The JVM is exiting in order while a record is in flight: that start was not a crash, take it
   * back. Best effort (a failure here must not hang the exit).
   */
  public synchronized void orderlyExit() {
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
      snapshot();
    } catch (RuntimeException e) {
      // the exit goes on; at worst the attempt counts
    }
  }

  /**
   * Records, durably, that processing of the record at {@code c} starts; returns how many earlier
   * starts did not finish.
   */
  public synchronized int enter(Coordinates c) {
    int before = attempts.getOrDefault(c, 0);
    if (exiting) {
      return before;
    }
    StringBuilder events = new StringBuilder();
    // A record an earlier run left, passed by a later offset of its partition without entering.
    Iterator<Coordinates> it = leftovers.iterator();
    while (it.hasNext()) {
      Coordinates o = it.next();
      if (o.equals(c)) {
        it.remove(); // entered again: in flight from now on
      } else if (o.topic().equals(c.topic())
          && o.partition() == c.partition()
          && o.offset() < c.offset()) {
        it.remove();
        attempts.remove(o);
        event(events, "-", o);
      }
    }
    attempts.put(c, before + 1);
    inFlight.add(c);
    append(event(events, "+", c), forceStarts);
    return before;
  }

  /**
   * Processing of the record at {@code c} finished (or it was dead-lettered): forget it. Not forced
   * to disk: if a crash loses this write, the record is counted once more, which only matters for a
   * record that is never processed again anyway.
   */
  public synchronized void done(Coordinates c) {
    inFlight.remove(c);
    if (attempts.remove(c) == null) {
      return;
    }
    if (attempts.isEmpty()) {
      snapshot(); // nothing in flight: the file goes
    } else {
      append(event(new StringBuilder(), "-", c), false);
    }
  }

  /** The attempts file (for messages). */
  public Path file() {
    return file;
  }

  /** Attempts recorded for {@code c} (for tests and logs). */
  public synchronized int attempts(Coordinates c) {
    return attempts.getOrDefault(c, 0);
  }

  /** Lines in the journal now (for tests). */
  public synchronized int journalLines() {
    return lines;
  }

  private static StringBuilder event(StringBuilder sb, Object kind, Coordinates c) {
    return sb.append(kind)
        .append('\t')
        .append(c.partition())
        .append('\t')
        .append(c.offset())
        .append('\t')
        .append(c.topic())
        .append('\n');
  }

  /** Appends events to the journal (creating it), forced to disk when asked. */
  private void append(CharSequence events, boolean force) {
    if (lines > COMPACT_SLACK + 2 * attempts.size()) {
      snapshot(); // the events are in memory already; the snapshot holds them
      return;
    }
    try {
      if (journal == null) {
        Files.createDirectories(file.getParent());
        journal =
            FileChannel.open(
                file,
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
      }
      writeAll(journal, events);
      if (force) {
        journal.force(false);
      }
      for (int i = 0; i < events.length(); i++) {
        lines += events.charAt(i) == '\n' ? 1 : 0;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the attempts file " + file, e);
    }
  }

  /** Rewrites the journal as one snapshot line per record held, or deletes it when none is. */
  private void snapshot() {
    closeJournal();
    lines = 0;
    try {
      if (attempts.isEmpty()) {
        Files.deleteIfExists(file);
        return;
      }
      Files.createDirectories(file.getParent());
      StringBuilder sb = new StringBuilder();
      attempts.forEach((c, n) -> event(sb, n, c));
      // Write beside, force, then rename over: a kill mid-write leaves the old file whole.
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      try (FileChannel ch =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE,
              StandardOpenOption.TRUNCATE_EXISTING)) {
        writeAll(ch, sb);
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      lines = attempts.size();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the attempts file " + file, e);
    }
  }

  private static void writeAll(FileChannel ch, CharSequence text) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  private void closeJournal() {
    if (journal != null) {
      try {
        journal.close();
      } catch (IOException e) {
        LOG.debug("closing the attempts journal {}: {}", file, e.toString());
      }
      journal = null;
    }
  }
}
