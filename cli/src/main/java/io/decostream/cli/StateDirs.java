package io.decostream.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One state directory per running stage process (issue 22 point 4: several processes of a stage in
 * one group, on one machine too).
 *
 * <p>The state directory decides two ids: Kafka Streams' process id (and with it the transactional
 * ids under exactly-once) and the static {@code group.instance.id} kept in it ({@link
 * io.decostream.schemas.InstanceId}). Two processes sharing one would fence each other in the group
 * and in their transactions; Kafka Streams refuses the second with a lock error deep in its start.
 * So a process claims its directory first, with an OS file lock held until it exits (a SIGKILLed
 * process's lock goes with it):
 *
 * <ul>
 *   <li>a directory given with {@code --state-dir} that another live process holds is an error that
 *       says so, naming that process;
 *   <li>the default directory {@code <root>/<application id>} held by another process makes the
 *       next one take {@code <root>/<application id>-2}, {@code -3}, ...: the first free slot. A
 *       stage restarted while its siblings run gets its own slot back (the one its death freed,
 *       when no lower one is free), with its state and member id, so a restart still moves no
 *       partitions; a process that takes over another's slot instead (that one stopped for good)
 *       takes over its state and member id, which is just as safe.
 * </ul>
 */
final class StateDirs {
  /** The lock file in a claimed state directory; it holds the owner's pid, for messages. */
  static final String LOCK_FILE = "deco-stage.lock";

  /** Slots tried for the default directory: more processes of one stage than one machine runs. */
  static final int MAX_SLOTS = 64;

  /**
   * Held for the life of the process, by directory: a released lock would let a second process in.
   * Checked before a lock file is opened again: on Linux closing any channel of a file drops the
   * process's lock on it.
   */
  private static final Map<Path, FileLock> HELD = new HashMap<>();

  private StateDirs() {}

  /**
   * The state directory this process uses, locked for it.
   *
   * @param explicit the {@code --state-dir} given, or null
   * @param root where default directories live ({@code $DECO_STATE_DIR})
   */
  static Path claim(Path explicit, Path root, String applicationId) {
    if (explicit != null) {
      String owner = tryLock(explicit);
      if (owner != null) {
        throw new IllegalStateException(
            "state directory "
                + explicit
                + " is in use by another running stage process ("
                + owner
                + "): give each process of a stage its own --state-dir (and its own"
                + " --instance-id if you set one), or leave --state-dir out to get a free one"
                + " under "
                + root);
      }
      return explicit;
    }
    List<String> busy = new ArrayList<>();
    for (int slot = 1; slot <= MAX_SLOTS; slot++) {
      Path dir = slotDir(root, applicationId, slot);
      String owner = tryLock(dir);
      if (owner == null) {
        return dir;
      }
      busy.add(dir.getFileName() + " (" + owner + ")");
    }
    throw new IllegalStateException(
        "every default state directory of "
            + applicationId
            + " under "
            + root
            + " is in use: "
            + String.join(", ", busy)
            + "; give this process --state-dir");
  }

  /** Slot 1 is {@code <root>/<applicationId>} (what one process always had), n is {@code -n}. */
  static Path slotDir(Path root, String applicationId, int slot) {
    return root.resolve(slot == 1 ? applicationId : applicationId + "-" + slot);
  }

  /**
   * Locks {@code dir} for this process: null when it now holds it, else who holds it (a pid, or
   * "this process").
   */
  private static synchronized String tryLock(Path dir) {
    Path key = dir.toAbsolutePath().normalize();
    if (HELD.containsKey(key)) {
      return "this process";
    }
    Path file = dir.resolve(LOCK_FILE);
    try {
      Files.createDirectories(dir);
      FileChannel ch =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException sameJvm) {
        // not through HELD (a link to a held directory): keep the channel open, closing it would
        // drop the lock
        return "this process";
      }
      if (lock == null) {
        String pid = Files.readString(file, StandardCharsets.UTF_8).trim();
        ch.close();
        return pid.isEmpty() ? "another process" : "pid " + pid;
      }
      ch.truncate(0);
      ch.write(
          ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
      ch.force(false);
      HELD.put(key, lock);
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot lock the state directory " + dir, e);
    }
  }
}
