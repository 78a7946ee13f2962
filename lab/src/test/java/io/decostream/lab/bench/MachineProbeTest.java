package io.decostream.lab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class MachineProbeTest {

  /** The four-stream read sums every long of its range once, whatever the range's length. */
  @Test
  void theFourStreamReadSumsEveryLongOnce() {
    ByteBuffer buf = ByteBuffer.allocateDirect(8 * 1000).order(ByteOrder.nativeOrder());
    for (int i = 0; i < 1000; i++) {
      buf.putLong(i * 8, i * 7919L + 3);
    }
    for (int[] range : new int[][] {{0, 8000}, {8, 8000}, {0, 7992}, {800, 1064}, {0, 24}}) {
      long expected = 0;
      for (int i = range[0]; i < range[1]; i += 8) {
        expected += buf.getLong(i);
      }
      assertEquals(
          expected,
          MachineProbe.sumLongs(buf, range[0], range[1]),
          "bytes " + range[0] + ".." + range[1]);
    }
  }
}
