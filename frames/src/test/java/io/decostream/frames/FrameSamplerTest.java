package io.decostream.frames;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class FrameSamplerTest {

  /** Offers frames at 1/srcFps intervals from start to end and returns (index, timestamp) pairs. */
  private static List<long[]> run(FrameSampler.Cursor c, double srcFps, double fromS, double toS) {
    List<long[]> out = new ArrayList<>();
    for (long n = Math.round(fromS * srcFps); n < Math.round(toS * srcFps); n++) {
      long ts = Math.round(n * 1e6 / srcFps);
      OptionalLong k = c.offer(ts);
      k.ifPresent(v -> out.add(new long[] {v, ts}));
    }
    return out;
  }

  @Test
  void oneFpsFromTenFpsPicksTheFrameAtEachWholeSecond() {
    FrameSampler s = new FrameSampler(1.0);
    List<long[]> got = run(s.cursor(0), 10, 0, 10);
    assertEquals(10, got.size());
    for (int k = 0; k < 10; k++) {
      assertEquals(k, got.get(k)[0]);
      assertEquals(k * 1_000_000L, got.get(k)[1]);
    }
  }

  @Test
  void stableAcrossChunkBoundariesWhateverTheCut() {
    FrameSampler s = new FrameSampler(2.0);
    FrameSampler.Cursor whole = s.cursor(0);
    List<long[]> ref = run(whole, 30, 0, 6);
    // same frames cut into uneven chunks, carrying only next() between them (as the state store
    // does)
    List<long[]> pieces = new ArrayList<>();
    long next = 0;
    double[] cuts = {0, 0.7, 1.3, 2.9, 3.0, 6};
    for (int i = 0; i + 1 < cuts.length; i++) {
      FrameSampler.Cursor c = s.cursor(next);
      pieces.addAll(run(c, 30, cuts[i], cuts[i + 1]));
      next = c.next();
    }
    assertEquals(12, ref.size());
    assertEquals(ref.size(), pieces.size());
    for (int i = 0; i < ref.size(); i++) {
      assertEquals(ref.get(i)[0], pieces.get(i)[0]);
      assertEquals(ref.get(i)[1], pieces.get(i)[1]);
    }
  }

  @Test
  void firstFrameAtOrAfterTargetAndToleranceForRounding() {
    FrameSampler s = new FrameSampler(1.0);
    FrameSampler.Cursor c = s.cursor(0);
    assertEquals(OptionalLong.empty(), c.offer(-40_000)); // before t0
    assertEquals(OptionalLong.of(0), c.offer(30_000)); // first frame after 0 s
    assertEquals(OptionalLong.empty(), c.offer(900_000));
    assertEquals(OptionalLong.of(1), c.offer(999_990)); // container rounding of 1 s
    assertEquals(OptionalLong.empty(), c.offer(1_500_000));
    assertEquals(OptionalLong.of(2), c.offer(2_040_000)); // 25 fps source: first frame >= 2 s
    assertEquals(3, c.next());
  }

  @Test
  void gapsSkipIndicesInsteadOfRepeatingAFrame() {
    FrameSampler s = new FrameSampler(1.0);
    FrameSampler.Cursor c = s.cursor(3);
    assertEquals(OptionalLong.of(6), c.offer(6_300_000)); // video resumed at 6.3 s
    assertEquals(OptionalLong.empty(), c.offer(6_900_000));
    assertEquals(OptionalLong.of(7), c.offer(7_000_000));
    assertEquals(1_000_000L, s.targetMicros(1));
    assertEquals(500_000L, new FrameSampler(2).targetMicros(1));
  }

  @Test
  void validation() {
    assertThrows(IllegalArgumentException.class, () -> new FrameSampler(0));
    assertThrows(IllegalArgumentException.class, () -> new FrameSampler(Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> new FrameSampler(1).cursor(-1));
  }
}
