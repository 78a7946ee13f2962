package io.decostream.train;

import ai.djl.ndarray.NDArray;
import io.decostream.projector.Scalars;
import java.util.Objects;

/**
 * The attention loss of {@code deco train --attend-weight} (docs/shapes-model.md): at the lookup
 * row (the answer's, or with {@code --attend-at word|ends} the question's naming word's) one
 * designated head, the lookup head, should put all its attention on the named object's visual
 * tokens; the term is {@code -log} of that head's mass there, over the examples that name one
 * object, times the weight. It teaches the decoder to look an object up by what the question says
 * about it (kind as well as colour), which the answer loss alone did not. One fixed head, not the
 * best of all heads: some head keyed on each colour already sits on the named object whenever its
 * colour is unique, so "any head" rewards the colour lookup the loss is meant to replace (measured:
 * mass 0.99 on colour questions answered at chance).
 */
final class LookupLoss implements AuxLoss {

  /**
   * @param weight the loss's weight (0: off); the ends and relay losses share it
   * @param at where the lookup is made
   */
  record Options(double weight, AttendAt at) {
    Options {
      LossWeights.check("attention", weight);
      Objects.requireNonNull(at, "at");
    }

    /** Whether the lookup is made at the naming word (WORD, ENDS) rather than at the answer row. */
    boolean atWord() {
      return at != AttendAt.ANSWER;
    }
  }

  private final Options options;

  LookupLoss(Options options) {
    this.options = options;
  }

  @Override
  public String name() {
    return "attend";
  }

  /**
   * The head the loss trains at {@code at}, as layer * heads + head: at the answer {@link
   * #lookupHead(int, int)}; at the naming word the first head of layer 1, so the word's own
   * embedding (and, via layer 0, the word before it) forms the query and later layers can carry
   * what it read to the answer.
   */
  static int lookupHead(AttendAt at, int layers, int heads) {
    return at == AttendAt.ANSWER ? lookupHead(layers, heads) : Math.min(1, layers - 1) * heads;
  }

  /**
   * The first head of the second-to-last layer (the first layer of a one-layer model): by then the
   * answer position has gathered the question's words, and one more layer remains to turn what the
   * head reads into the answer. The answer-row lookup's head and the relay's.
   */
  static int lookupHead(int layers, int heads) {
    return Math.max(0, layers - 2) * heads;
  }

  @Override
  public Term apply(LossInputs in) {
    if (options.weight() <= 0 || in.namedCount() == 0) {
      return Term.NONE;
    }
    SequenceLayout l = in.layout();
    int head = lookupHead(options.at(), in.layers(), in.heads());
    NDArray onObject =
        in.visualMask(ExampleEncoder.Encoded::attend, 0, l.frames() * l.tokensPerFrame());
    NDArray mass = in.rowMass(head, SequenceLayout.LOOKUP_ROW, onObject);
    return new Term(
        Scalars.mul(in.minusMeanLog(mass), (float) options.weight()),
        in.meanOverNamed(mass),
        in.perNamed(mass));
  }
}
