package io.decostream.train;

import ai.djl.ndarray.NDArray;
import io.decostream.projector.Scalars;

/**
 * The relay of {@code --attend-at word|ends} (docs/shapes-model.md): with the lookup made at the
 * question's naming word, the answer row's head in the answer-lookup layer ({@link
 * LookupLoss#lookupHead(int, int)}) should read the naming word's position, where the lookup left
 * what it found; the term is {@code -log} of that head's mass there, over the examples that name
 * one object, times the attention weight.
 */
final class RelayLoss implements AuxLoss {

  private final LookupLoss.Options options;

  /** On with the attention loss at the naming word, at its weight. */
  RelayLoss(LookupLoss.Options options) {
    this.options = options;
  }

  @Override
  public String name() {
    return "relay";
  }

  @Override
  public Term apply(LossInputs in) {
    if (options.weight() <= 0 || !options.atWord() || in.namedCount() == 0) {
      return Term.NONE;
    }
    SequenceLayout l = in.layout();
    int relay = LookupLoss.lookupHead(in.layers(), in.heads());
    NDArray mass = in.rowMass(relay, l.answerRow(), in.positionMask(l::wordPosition));
    return new Term(
        Scalars.mul(in.minusMeanLog(mass), (float) options.weight()), in.meanOverNamed(mass));
  }
}
