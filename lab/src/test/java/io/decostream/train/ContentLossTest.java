package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class ContentLossTest {

  @Test
  void theNamingWordsCrossEntropyOnTheContentWordAtTheLastLayerOrThroughTheLens() {
    try (NDManager m = NDManager.newBaseManager()) {
      LossFixture f = new LossFixture(m, 4, true, false);
      // uniform log-probs over 4 ids: -log 1/4, over the one example with a naming word
      for (int layer : new int[] {-1, 1, 2}) {
        AuxLoss.Term t = new ContentLoss(new ContentLoss.Options(0.5, layer)).apply(f.inputs());
        assertEquals(Math.log(4), t.figure(), 1e-6, "layer " + layer);
        assertEquals(0.5 * Math.log(4), t.loss().getFloat(), 1e-6, "layer " + layer);
      }
    }
  }

  @Test
  void optionsAreChecked() {
    assertThrows(IllegalArgumentException.class, () -> new ContentLoss.Options(1, 0));
    assertThrows(IllegalArgumentException.class, () -> new ContentLoss.Options(1, -2));
    assertThrows(IllegalArgumentException.class, () -> new ContentLoss.Options(-1, -1));
    assertThrows(
        IllegalArgumentException.class, () -> new ContentLoss.Options(1, 3).checkLayers(2));
    new ContentLoss.Options(1, 2).checkLayers(2);
    assertTrue(new ContentLoss.Options(1, 2).lens());
    assertTrue(!new ContentLoss.Options(0, 2).lens() && !new ContentLoss.Options(1, -1).lens());
    assertThrows(
        IllegalArgumentException.class,
        () -> new AuxLosses(0.5, AttendAt.ANSWER, 1.0, 1, 0, 0),
        "a content layer reads the naming word's row, which the answer lookup does not trace");
  }
}
