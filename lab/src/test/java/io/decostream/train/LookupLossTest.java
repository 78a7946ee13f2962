package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class LookupLossTest {

  @Test
  void theTermIsMinusLogOfTheLookupHeadsMassOnTheNamedObjectTimesTheWeight() {
    try (NDManager m = NDManager.newBaseManager()) {
      // at the answer the lookup head is layer 0's first (two layers), its row the answer's
      LossFixture f =
          new LossFixture(m, 4, false, false).row(0, 0, 0, 0, 0.1f, 0.4f, 0.2f, 0.1f, 0.1f, 0.1f);
      AuxLoss.Term t =
          new LookupLoss(new LookupLoss.Options(0.5, AttendAt.ANSWER)).apply(f.inputs());
      assertEquals(0.4, t.figure(), 1e-6);
      assertEquals(0.4, t.perExample()[0], 1e-6);
      assertTrue(Double.isNaN(t.perExample()[1]), "the second example names nothing");
      assertEquals(-0.5 * Math.log(0.4 + 1e-6), t.loss().getFloat(), 1e-6);
    }
  }

  @Test
  void theHeadIsTheSecondToLastLayersFirstAtTheAnswerAndLayerOnesFirstAtTheWord() {
    assertEquals(0, LookupLoss.lookupHead(2, 4));
    assertEquals(12, LookupLoss.lookupHead(4, 6));
    assertEquals(6, LookupLoss.lookupHead(AttendAt.WORD, 4, 6));
    assertEquals(4, LookupLoss.lookupHead(AttendAt.ENDS, 2, 4));
  }

  @Test
  void offAtWeightZeroAndWeightsAreChecked() {
    try (NDManager m = NDManager.newBaseManager()) {
      LossFixture f = new LossFixture(m, 4, false, false);
      assertSame(
          AuxLoss.Term.NONE,
          new LookupLoss(new LookupLoss.Options(0, AttendAt.ANSWER)).apply(f.inputs()));
    }
    assertThrows(IllegalArgumentException.class, () -> new LookupLoss.Options(-1, AttendAt.WORD));
    assertThrows(
        IllegalArgumentException.class, () -> new LookupLoss.Options(Double.NaN, AttendAt.WORD));
    assertThrows(
        IllegalArgumentException.class,
        () -> new LookupLoss.Options(Double.POSITIVE_INFINITY, AttendAt.WORD));
    assertThrows(NullPointerException.class, () -> new LookupLoss.Options(1, null));
  }
}
