package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class MapLossTest {

  @Test
  void theRolledOutRelevanceIsWeightedByEachTokensShareInsideTheGrownBox() {
    try (NDManager m = NDManager.newBaseManager()) {
      // uniform attention gives both latest-frame tokens equal relevance: the share inside is
      // (1 + 0.5) / 2
      LossFixture uniform = new LossFixture(m, 4, true, true);
      AuxLoss.Term t = new MapLoss(new MapLoss.Options(1.0)).apply(uniform.inputs());
      assertEquals(0.75, t.figure(), 1e-6);
      assertEquals(-Math.log(0.75 + 1e-6), t.loss().getFloat(), 1e-5);
      // every question row of every head and layer on token 0 only: all of the map inside
      LossFixture onToken0 = new LossFixture(m, 4, true, true);
      for (int layer = 0; layer < LossFixture.LAYERS; layer++) {
        for (int head = 0; head < 4; head++) {
          for (int row = 2; row < 4; row++) {
            onToken0.row(layer, 0, head, row, 0, 1, 0, 0, 0, 0);
          }
        }
      }
      assertEquals(
          1.0, new MapLoss(new MapLoss.Options(1.0)).apply(onToken0.inputs()).figure(), 1e-6);
    }
    assertThrows(IllegalArgumentException.class, () -> new MapLoss.Options(Double.NaN));
  }
}
