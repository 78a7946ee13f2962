package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class RelayLossTest {

  @Test
  void theAnswerRowsHeadInTheSecondToLastLayerReadsTheNamingWord() {
    try (NDManager m = NDManager.newBaseManager()) {
      // the naming word is question position 0: sequence index 3; the answer row is traced row 1
      LossFixture f = new LossFixture(m, 4, true, false).row(0, 0, 0, 1, 0, 0, 0, 0.7f, 0.3f, 0);
      AuxLoss.Term t = new RelayLoss(new LookupLoss.Options(0.5, AttendAt.WORD)).apply(f.inputs());
      assertEquals(0.7, t.figure(), 1e-6);
      assertEquals(-0.5 * Math.log(0.7 + 1e-6), t.loss().getFloat(), 1e-6);
      assertSame(
          AuxLoss.Term.NONE,
          new RelayLoss(new LookupLoss.Options(0.5, AttendAt.ANSWER)).apply(f.inputs()),
          "no relay when the lookup is made at the answer");
    }
  }
}
