package io.decostream.frames;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * A publisher that reconnected to a camera leaves a gap in the chunk start times (issue 18 point
 * 5): sampling across it continues at 1 fps, without a burst of frames for the missing time.
 */
class FrameSamplerGapTest {

  /** A chunk of 10 fps frames from startS (absolute time, as ChunkDecoder produces) for lenS. */
  private static List<Long> chunk(double startS, double lenS) {
    List<Long> ts = new ArrayList<>();
    for (int n = 0; n < Math.round(lenS * 10); n++) {
      ts.add(Math.round(startS * 1e6) + n * 100_000L);
    }
    return ts;
  }

  /** Samples a chunk from the stored state, as the frames stage does, and returns the indices. */
  private static List<Long> sample(FrameSampler s, SamplerState[] state, long seq, List<Long> ts) {
    FrameSampler.Cursor c = s.cursor(state[0].nextIndex());
    List<Long> picked = new ArrayList<>();
    for (long t : ts) {
      OptionalLong k = c.offer(t);
      k.ifPresent(picked::add);
    }
    // through the store's serde, as a restarted stage would read it
    var serde = SamplerState.serde();
    SamplerState next = new SamplerState(c.next(), seq, state[0].nextIndex());
    state[0] = serde.deserializer().deserialize("t", serde.serializer().serialize("t", next));
    return picked;
  }

  @Test
  void oneFpsAcrossAReconnectGapSkipsTheMissingSecondsWithoutABurst() {
    FrameSampler s = new FrameSampler(1.0);
    SamplerState[] state = {SamplerState.INITIAL};
    List<Long> picked = new ArrayList<>();
    // chunks 0..3 cover 0..4 s; the camera was away; chunk 4 starts at 16.9 s (13.7 s gap)
    for (int i = 0; i < 4; i++) {
      picked.addAll(sample(s, state, i, chunk(i, 1)));
    }
    assertEquals(List.of(0L, 1L, 2L, 3L), picked);
    List<Long> after = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      after.addAll(sample(s, state, 4 + i, chunk(16.9 + i, 1)));
    }
    // one frame per covered second, indices tracking the time (16.9 s -> 16, then 17.0 s -> 17)
    assertEquals(List.of(16L, 17L, 18L, 19L, 20L), after);
    assertEquals(21, state[0].nextIndex());
    assertEquals(7, state[0].lastSequence());
    for (long k : after) {
      assertTrue(s.targetMicros(k) >= 16_000_000L, "no frame given a time inside the gap");
    }
  }

  @Test
  void aGapInsideOneSecondDoesNotRepeatAnIndex() {
    FrameSampler s = new FrameSampler(1.0);
    SamplerState[] state = {SamplerState.INITIAL};
    List<Long> a = sample(s, state, 0, chunk(0, 0.5)); // 0.0-0.4 s
    List<Long> b = sample(s, state, 1, chunk(0.8, 0.5)); // 0.8-1.2 s after a short drop
    assertEquals(List.of(0L), a);
    assertEquals(List.of(1L), b);
  }

  @Test
  void aGapAtAHigherSamplingRateStillGivesEachIndexOnce() {
    FrameSampler s = new FrameSampler(2.0);
    FrameSampler.Cursor c = s.cursor(0);
    List<Long> got = new ArrayList<>();
    for (long t : chunk(0, 2)) {
      c.offer(t).ifPresent(got::add);
    }
    for (long t : chunk(60, 1)) {
      c.offer(t).ifPresent(got::add);
    }
    assertEquals(List.of(0L, 1L, 2L, 3L, 120L, 121L), got);
  }
}
