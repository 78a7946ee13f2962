package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The load test's accounting (issue 22 point 1): ledger, percentiles, lag growth, thread groups.
 */
class LoadLedgerTest {

  @Test
  void everyExpectedFrameIsAccountedForAsDeliveredLostOrDuplicated() {
    LoadLedger l = new LoadLedger();
    for (int i = 0; i < 5; i++) {
      l.expect("a", i, 1000 + i * 1000L);
      l.expect("b", i, 1000 + i * 1000L);
    }
    for (int i = 0; i < 5; i++) {
      l.seen("a", i, 1500 + i * 1000L);
    }
    l.seen("b", 0, 1600);
    l.seen("b", 0, 1700); // a second copy
    l.seen("b", 2, 3800);
    l.seen("b", 9, 9999); // never expected: another numbering
    l.seen("c", 0, 1000);

    LoadLedger.FrameFigures all = l.allFrames();
    assertEquals(10, all.expected());
    assertEquals(7, all.delivered());
    assertEquals(3, all.lost()); // b1, b3, b4
    assertEquals(1, all.duplicates());
    assertEquals(2, l.unexpectedFrames());
    assertFalse(l.allFramesSeen());
    // latency of the first copy: a = 500 ms each, b0 = 600, b2 = 800
    assertEquals(7, all.latencyMs().count());
    assertEquals(500, all.latencyMs().p50());
    assertEquals(800, all.latencyMs().max());
  }

  @Test
  void windowsSelectByCameraTimeAndByArrival() {
    LoadLedger l = new LoadLedger();
    for (int i = 0; i < 10; i++) {
      l.expect("s", i, i * 1000L);
      l.seen("s", i, i * 1000L + 1500);
    }
    LoadLedger.FrameFigures w = l.frames(2000, 6000);
    assertEquals(4, w.expected()); // camera times 2,3,4,5 s
    // arrivals 1.5, 2.5, ..., 10.5 s: those in [2, 6) are 2.5, 3.5, 4.5, 5.5
    assertEquals(4, w.arrivedInWindow());
    assertEquals(1500, w.latencyMs().p95());
    assertTrue(l.allFramesSeen());
  }

  @Test
  void nearestRankPercentiles() {
    List<Long> v = new ArrayList<>();
    for (long i = 1; i <= 100; i++) {
      v.add(101 - i); // unsorted on purpose
    }
    LoadLedger.Percentiles p = LoadLedger.Percentiles.of(v);
    assertEquals(50, p.p50());
    assertEquals(95, p.p95());
    assertEquals(99, p.p99());
    assertEquals(100, p.max());
    assertEquals(7, LoadLedger.Percentiles.of(List.of(7L)).p95());
    assertTrue(Double.isNaN(LoadLedger.Percentiles.of(List.of()).p50()));
  }

  @Test
  void answersAreTimedFromAskingAndCountedOnce() {
    LoadLedger l = new LoadLedger();
    l.asked("q1", 1000);
    l.asked("q2", 2000);
    l.asked("q3", 3000);
    l.answered("q1", 1400, false, true);
    l.answered("q1", 1500, false, true); // duplicate
    l.answered("q2", 2900, true, false); // answered with an error
    l.answered("other", 5000, false, true); // someone else's question
    assertFalse(l.allAnswered());
    LoadLedger.AnswerFigures a = l.answers();
    assertEquals(3, a.asked());
    assertEquals(2, a.answered());
    assertEquals(1, a.errors());
    assertEquals(1, a.duplicates());
    assertEquals(1, a.liveWindow(), "q1 once; an error and a duplicate do not count");
    assertEquals(400, a.latencyMs().p50());
    assertEquals(900, a.latencyMs().p95());
    l.answered("q3", 3100, false, false); // re-prefilled
    assertTrue(l.allAnswered());
    assertEquals(1, l.answers().liveWindow());
  }

  @Test
  void lagThatOscillatesIsNotGrowingLagThatClimbsIs() {
    LagSeries steady = new LagSeries();
    LagSeries climbing = new LagSeries();
    for (int t = 0; t <= 300; t += 2) {
      steady.add(t, 40 + (t % 6 == 0 ? 30 : 0)); // a batch's worth up and down
      climbing.add(t, t < 60 ? 40 : 40 + 5L * (t - 60)); // behind by 5 records/s after 60 s
    }
    steady.add(302, -1); // unknown: skipped
    assertFalse(steady.growing(300, 200));
    assertEquals(70, steady.max());
    assertTrue(climbing.growing(300, 200));
    assertEquals(5.0, climbing.slopeSince(150), 1e-9);
    assertEquals(1240, climbing.max());
    // a lag that grew only during the warm-up half and then held is not growing
    LagSeries warmup = new LagSeries();
    for (int t = 0; t <= 300; t += 2) {
      warmup.add(t, Math.min(t, 100) * 3L);
    }
    assertFalse(warmup.growing(300, 200));
    // too few samples in the second half: no verdict
    LagSeries sparse = new LagSeries();
    sparse.add(0, 0);
    sparse.add(200, 10_000);
    assertFalse(sparse.growing(300, 200));
  }

  @Test
  void threadsAreGroupedByStage() {
    assertEquals(StageCpu.FRAMES, StageCpu.group("deco-frames-0c9e2d1f-aaaa-StreamThread-1"));
    assertEquals(StageCpu.FRAMES, StageCpu.group("chunk-decoder-3"));
    assertEquals(
        StageCpu.ENCODER,
        StageCpu.group(
            "kafka-producer-network-thread | deco-encoder-1234-StreamThread-1-producer"));
    assertEquals(StageCpu.WORKER, StageCpu.group("deco-llm-worker-77-StreamThread-1"));
    assertEquals(StageCpu.LOADTEST, StageCpu.group("loadtest-cameras"));
    assertEquals(StageCpu.OTHER, StageCpu.group("data-plane-kafka-request-handler-0"));
  }

  @Test
  void theAnswerRateCountsArrivalsInTheWindowWhateverTheirLatency() {
    LoadLedger l = new LoadLedger();
    l.asked("q1", 1_000);
    l.asked("q2", 2_000);
    l.asked("q3", 3_000);
    l.asked("q4", 12_000); // after the window
    l.answered("q1", 1_500, false, true);
    l.answered("q2", 9_000, true, false); // an error is still an answer
    l.answered("q3", 11_000, false, true); // arrives after the window
    l.answered("q1", 1_600, false, true); // a duplicate counts once
    l.answered("other", 2_000, false, true); // another asker's question
    assertEquals(3, l.askedBetween(0, 10_000));
    assertEquals(2, l.answeredBetween(0, 10_000));
    assertEquals(2, l.answeredBetween(5_000, 12_000));
    assertEquals(1, l.answeredBetween(10_000, 12_000));
    assertEquals(0, l.answeredBetween(20_000, 30_000));
  }
}
