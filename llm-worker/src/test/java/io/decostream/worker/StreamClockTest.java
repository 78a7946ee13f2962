package io.decostream.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StreamClockTest {

  @Test
  void itIsTheNewestTimestampSeenInNanoseconds() {
    StreamClock c = new StreamClock();
    assertEquals(0, c.getAsLong(), "no record yet");
    c.observe(5_000);
    c.observe(3_000); // an older record (another partition) does not move it back
    c.observe(-1); // no timestamp
    assertEquals(5_000_000_000L, c.getAsLong());
  }

  @Test
  void aTimestampFarAheadOfThisMachinesClockCountsOnlyAMinuteAhead() {
    StreamClock c = new StreamClock();
    long before = System.currentTimeMillis();
    c.observe(before + 3_600_000); // a producer an hour ahead
    long ms = c.getAsLong() / 1_000_000;
    assertTrue(
        ms >= before + StreamClock.MAX_AHEAD_MILLIS
            && ms <= System.currentTimeMillis() + StreamClock.MAX_AHEAD_MILLIS,
        "clamped to a minute ahead: " + (ms - before));
  }
}
