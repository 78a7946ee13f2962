package io.decostream.train;

import ai.djl.ndarray.NDArray;
import io.decostream.projector.Scalars;

/**
 * The ends of {@code --attend-at ends} (docs/shapes-model.md): the next two heads of the lookup
 * head's layer, at the naming word, on the named object's tokens in the latest frame and in the
 * first frame only; the term is {@code -log} of each one's mass, over the examples that name one
 * object, times the attention weight. Position is the cell in the latest frame and motion is where
 * the object is last against where it was first; a lookup over all frames averages both away, so
 * the word's state gets both places from heads of their own. Reports the two heads' mean mass.
 */
final class EndsLoss implements AuxLoss {

  private final LookupLoss.Options options;

  /** On with the attention loss at {@link AttendAt#ENDS}, at its weight. */
  EndsLoss(LookupLoss.Options options) {
    this.options = options;
  }

  @Override
  public String name() {
    return "ends";
  }

  @Override
  public Term apply(LossInputs in) {
    if (options.weight() <= 0 || options.at() != AttendAt.ENDS || in.namedCount() == 0) {
      return Term.NONE;
    }
    if (in.heads() < 3) {
      throw new IllegalArgumentException(
          "--attend-at ends needs 3 heads per layer (lookup, latest, first), the pack's LLM has "
              + in.heads());
    }
    SequenceLayout l = in.layout();
    int m = l.tokensPerFrame();
    int head = LookupLoss.lookupHead(AttendAt.ENDS, in.layers(), in.heads());
    int row = SequenceLayout.LOOKUP_ROW;
    NDArray latest =
        in.rowMass(
            head + 1, row, in.visualMask(ExampleEncoder.Encoded::attend, (l.frames() - 1) * m, m));
    NDArray first = in.rowMass(head + 2, row, in.visualMask(ExampleEncoder.Encoded::attend, 0, m));
    NDArray loss = in.minusMeanLog(latest).add(in.minusMeanLog(first));
    return new Term(
        Scalars.mul(loss, (float) options.weight()), in.meanOverNamed(latest.add(first)) / 2);
  }
}
