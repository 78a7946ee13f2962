package io.decostream.projector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Window tables of PyTorch adaptive pooling, models.md §3.5. */
class PoolWindowsTest {

  /** Parses the spec's notation "[0,2),[1,3),..." into {starts, ends}. */
  private static int[][] table(String spec) {
    String[] ws = spec.replace(" ", "").split("\\),?");
    int[] s = new int[ws.length];
    int[] e = new int[ws.length];
    for (int j = 0; j < ws.length; j++) {
      String[] se = ws[j].substring(1).split(",");
      s[j] = Integer.parseInt(se[0]);
      e[j] = Integer.parseInt(se[1]);
    }
    return new int[][] {s, e};
  }

  private static void assertTable(int in, int out, String spec) {
    int[][] t = table(spec);
    PoolWindows w = PoolWindows.of(in, out);
    assertArrayEquals(t[0], w.start(), in + "->" + out + " starts");
    assertArrayEquals(t[1], w.end(), in + "->" + out + " ends");
  }

  @Test
  void specExample24to20() {
    assertTable(
        24,
        20,
        "[0,2),[1,3),[2,4),[3,5),[4,6),[6,8),[7,9),[8,10),[9,11),[10,12),[12,14),[13,15),"
            + "[14,16),[15,17),[16,18),[18,20),[19,21),[20,22),[21,23),[22,24)");
  }

  @Test
  void specExample27to12() {
    assertTable(
        27,
        12,
        "[0,3),[2,5),[4,7),[6,9),[9,12),[11,14),[13,16),[15,18),[18,21),[20,23),[22,25),[24,27)");
  }

  @Test
  void specExample24to16() {
    assertTable(
        24,
        16,
        "[0,2),[1,3),[3,5),[4,6),[6,8),[7,9),[9,11),[10,12),[12,14),[13,15),[15,17),[16,18),"
            + "[18,20),[19,21),[21,23),[22,24)");
  }

  @Test
  void divisibleCasesAreNonOverlappingBlocks() {
    for (int[] c : new int[][] {{24, 12, 2}, {24, 8, 3}, {27, 9, 3}, {24, 24, 1}, {24, 1, 24}}) {
      PoolWindows w = PoolWindows.of(c[0], c[1]);
      for (int j = 0; j < c[1]; j++) {
        assertEquals(j * c[2], w.start(j));
        assertEquals(c[2], w.size(j));
      }
    }
    assertEquals(
        "24->12 [0,2),[2,4),[4,6),[6,8),[8,10),[10,12),[12,14),[14,16),[16,18),[18,20),[20,22),[22,24)",
        PoolWindows.of(24, 12).toString());
  }

  @Test
  void integerRuleEqualsFloorCeilFormulaAndCoversEveryInput() {
    for (int in = 1; in <= 64; in++) {
      for (int out = 1; out <= 80; out++) { // out > in allowed, as in torch
        PoolWindows w = PoolWindows.of(in, out);
        boolean[] covered = new boolean[in];
        for (int j = 0; j < out; j++) {
          // the real-valued definition, exact here because in,out are small
          assertEquals(
              (int) Math.floor((double) j * in / out), w.start(j), in + "->" + out + " start " + j);
          assertEquals(
              (int) Math.ceil((double) (j + 1) * in / out),
              w.end(j),
              in + "->" + out + " end " + j);
          assertTrue(w.size(j) >= 1);
          for (int i = w.start(j); i < w.end(j); i++) {
            covered[i] = true;
            assertTrue(w.covers(j, i));
          }
        }
        for (int i = 0; i < in; i++) {
          assertTrue(covered[i], in + "->" + out + " misses input " + i);
        }
      }
    }
  }

  @Test
  void upsamplingRepeatsInputs() {
    PoolWindows w = PoolWindows.of(3, 5);
    assertArrayEquals(new int[] {0, 0, 1, 1, 2}, w.start());
    assertArrayEquals(new int[] {1, 2, 2, 3, 3}, w.end());
  }

  @Test
  void rejectsBadSizesAndArraysAreDefensive() {
    assertThrows(IllegalArgumentException.class, () -> PoolWindows.of(0, 3));
    assertThrows(IllegalArgumentException.class, () -> PoolWindows.of(3, 0));
    assertThrows(IllegalArgumentException.class, () -> PoolWindows.of(-1, 2));
    assertThrows(
        IllegalArgumentException.class,
        () -> new PoolWindows(4, 2, new int[] {0, 2}, new int[] {2, 5}));
    assertThrows(
        IllegalArgumentException.class,
        () -> new PoolWindows(4, 2, new int[] {0, 2}, new int[] {0, 4}));
    assertThrows(
        IllegalArgumentException.class, () -> new PoolWindows(4, 2, new int[] {0}, new int[] {2}));
    PoolWindows w = PoolWindows.of(24, 12);
    w.start()[0] = 99;
    assertEquals(0, w.start(0));
    assertEquals(PoolWindows.of(24, 12), w);
  }
}
