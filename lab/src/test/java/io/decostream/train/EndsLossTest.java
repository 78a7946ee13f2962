package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class EndsLossTest {

  @Test
  void theNextTwoHeadsOfTheLookupsLayerAreScoredOnTheLatestAndTheFirstFrame() {
    try (NDManager m = NDManager.newBaseManager()) {
      // two layers: the lookup at the word is layer 1's head 0; heads 1 and 2 are the ends, row 0
      LossFixture f =
          new LossFixture(m, 4, true, false)
              .row(1, 0, 1, 0, 0, 0.6f, 0.1f, 0.1f, 0.1f, 0.1f)
              .row(1, 0, 2, 0, 0, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f);
      LookupLoss.Options ends = new LookupLoss.Options(2.0, AttendAt.ENDS);
      AuxLoss.Term t = new EndsLoss(ends).apply(f.inputs());
      assertEquals((0.6 + 0.2) / 2, t.figure(), 1e-6);
      assertEquals(-2.0 * (Math.log(0.6 + 1e-6) + Math.log(0.2 + 1e-6)), t.loss().getFloat(), 1e-5);
      // off unless the lookup is at the ends
      assertSame(
          AuxLoss.Term.NONE,
          new EndsLoss(new LookupLoss.Options(2.0, AttendAt.WORD)).apply(f.inputs()));
    }
  }

  @Test
  void needsThreeHeadsPerLayer() {
    try (NDManager m = NDManager.newBaseManager()) {
      LossFixture f = new LossFixture(m, 2, true, false);
      EndsLoss ends = new EndsLoss(new LookupLoss.Options(1.0, AttendAt.ENDS));
      assertThrows(IllegalArgumentException.class, () -> ends.apply(f.inputs()));
    }
  }
}
