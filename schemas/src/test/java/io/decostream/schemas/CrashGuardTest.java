package io.decostream.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The crash guard's journal (issue 18 point 7; its cost per record, issue 22). */
class CrashGuardTest {
  @TempDir Path dir;

  private static CrashGuard.Coordinates at(int partition, long offset) {
    return new CrashGuard.Coordinates("questions", partition, offset);
  }

  @Test
  void aStartOrAnEndAppendsOneLineHoweverManyRecordsAreInFlight() throws Exception {
    Path file = dir.resolve("0_0");
    CrashGuard g = CrashGuard.open(file, true);
    long size = 0;
    Object inode = null;
    for (int i = 0; i < 200; i++) {
      g.enter(at(0, i));
      // the same file appended to, not a new one written beside and renamed over
      Object key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
      inode = inode == null ? key : inode;
      assertEquals(inode, key, "start " + i);
      long now = Files.size(file);
      // one "+ partition offset topic" line, not the 200 records in flight rewritten
      assertEquals(("+\t0\t" + i + "\tquestions\n").length(), now - size, "start " + i);
      size = now;
    }
    g.done(at(0, 17));
    assertEquals("-\t0\t17\tquestions\n".length(), Files.size(file) - size, "an end");
    g.close();
  }

  @Test
  void whatACrashLeftIsCountedExactlyAfterThousandsOfStartsAndEndsAndCompactions()
      throws Exception {
    Path file = dir.resolve("0_1");
    CrashGuard g = CrashGuard.open(file, true);
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      order.add(i);
    }
    Collections.shuffle(order, new Random(7));
    // 3000 records of two partitions in flight at once, then all but 40 finished in random order
    for (int i = 0; i < 3000; i++) {
      g.enter(at(i % 2, i));
    }
    g.enter(at(1, 2999)); // the same record started twice in this run
    for (int i : order.subList(40, 3000)) {
      g.done(at(i % 2, i));
    }
    assertTrue(
        g.journalLines() <= 256 + 2 * 40 + 2,
        "the journal is rewritten once it outgrows what it holds: " + g.journalLines());
    // the process dies here (no orderly exit): the next run reads what was forced
    CrashGuard next = CrashGuard.open(file, true);
    for (int i = 0; i < 3000; i++) {
      boolean left = order.subList(0, 40).contains(i);
      int expected = !left ? 0 : i == 2999 ? 2 : 1;
      assertEquals(expected, next.attempts(at(i % 2, i)), "record " + i);
    }
    assertEquals(40, Files.readAllLines(file).size(), "reopening rewrites it as snapshot lines");
    next.close();
    g.close();
  }

  @Test
  void aTornLastLineCountsNothingAndIsNotAppendedTo() throws Exception {
    Path file = dir.resolve("0_2");
    CrashGuard g = CrashGuard.open(file, true);
    g.enter(at(0, 5));
    g.close();
    // a crash in the middle of the next start's append
    Files.writeString(file, "+\t0\t6", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    CrashGuard next = CrashGuard.open(file, true);
    assertEquals(1, next.attempts(at(0, 5)));
    assertEquals(0, next.attempts(at(0, 6)), "its start was not forced: its work never began");
    next.enter(at(0, 5));
    CrashGuard third = CrashGuard.open(file, true);
    assertEquals(2, third.attempts(at(0, 5)));
    assertEquals(0, third.attempts(at(0, 6)));
    third.close();
    next.close();
  }

  @Test
  void aFileOfTheEarlierFormatIsRead() throws Exception {
    Path file = dir.resolve("0_3");
    Files.createDirectories(dir);
    Files.writeString(file, "2\t1\t40\tquestions\n1\t0\t3\tframes\n", StandardCharsets.UTF_8);
    CrashGuard g = CrashGuard.open(file, true);
    assertEquals(2, g.attempts(at(1, 40)));
    assertEquals(1, g.attempts(new CrashGuard.Coordinates("frames", 0, 3)));
    // a later offset of partition 1 passed record 40 without entering it: stale
    g.enter(at(1, 41));
    assertEquals(0, g.attempts(at(1, 40)));
    assertEquals(1, g.attempts(new CrashGuard.Coordinates("frames", 0, 3)), "another topic");
    g.done(at(1, 41));
    g.done(new CrashGuard.Coordinates("frames", 0, 3));
    assertFalse(Files.exists(file), "nothing in flight: no file");
    CrashGuard again = CrashGuard.open(file, true);
    assertEquals(0, again.attempts(at(1, 40)), "the stale record's end was written");
    again.close();
    g.close();
  }
}
