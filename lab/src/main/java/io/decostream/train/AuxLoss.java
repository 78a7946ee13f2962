package io.decostream.train;

import ai.djl.ndarray.NDArray;

/**
 * One auxiliary loss of the training forward (docs/shapes-model.md): it reads the decoder's trace
 * of the batch ({@link LossInputs}) and adds a weighted term to the answers' cross-entropy.
 */
interface AuxLoss {

  /** The loss's name in {@link VideoQaForward.Result} and the training log. */
  String name();

  /** This loss's term on the batch, or {@link Term#NONE} when no example carries its target. */
  Term apply(LossInputs in);

  /**
   * A loss's weighted term and what it reports: {@code figure} its measure over the batch (a mass,
   * a share, a cross-entropy), {@code perExample} the measure per example where it has one (else
   * null).
   */
  record Term(NDArray loss, double figure, double[] perExample) {

    static final Term NONE = new Term(null, Double.NaN, null);

    Term(NDArray loss, double figure) {
      this(loss, figure, null);
    }
  }
}
