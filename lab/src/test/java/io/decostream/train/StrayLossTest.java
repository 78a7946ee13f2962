package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class StrayLossTest {

  @Test
  void theAnswerRowsMassOutsideTheObjectOverHeadsAndLayers() {
    try (NDManager m = NDManager.newBaseManager()) {
      // outside the object: visual token 1 (sequence index 2). Uniform rows put 1/6 there; one head
      // of layer 0 puts 0.5 there instead: layer 0's mean over 4 heads is (3/6 + 0.5) / 4
      LossFixture f = new LossFixture(m, 4, true, false).row(0, 0, 3, 1, 0, 0, 0.5f, 0.5f, 0, 0);
      AuxLoss.Term t = new StrayLoss(new StrayLoss.Options(2.0)).apply(f.inputs());
      double want = ((3.0 / 6 + 0.5) / 4 + 1.0 / 6) / 2;
      assertEquals(want, t.figure(), 1e-6);
      assertEquals(2 * want, t.loss().getFloat(), 1e-6);
    }
    assertThrows(IllegalArgumentException.class, () -> new StrayLoss.Options(-0.1));
  }
}
