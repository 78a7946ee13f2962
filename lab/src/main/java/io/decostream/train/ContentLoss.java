package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.decostream.projector.Scalars;

/**
 * The content loss of {@code deco train --content-weight} (docs/shapes-model.md): at the question's
 * naming word the model must predict the content word (the named object's colour, or with {@code
 * --content-answer} the answer's first word for motion and position questions), cross-entropy
 * through the LM head times the weight. The position after a question word is otherwise never
 * trained, so this costs the answers nothing, and it makes what the lookup reads into the word's
 * state the thing a relay can carry on. Reports the unweighted cross-entropy.
 */
final class ContentLoss implements AuxLoss {

  /**
   * @param weight the loss's weight (0: off)
   * @param layer where the naming word is read: -1 off its last layer's logits; else the residual
   *     stream entering that layer (1..layers, layers being the last layer's output) through the
   *     final norm and the LM head, a logit lens. The relay head reads the word at its own layer's
   *     input, so what the word's later layers compute never reaches the answer; a target at that
   *     input asks the layers up to the lookup's own to compute it (for motion: a direction from
   *     the two ends). Needs the lookup at the naming word, whose trace row it reads.
   */
  record Options(double weight, int layer) {
    Options {
      LossWeights.check("content", weight);
      if (layer < -1 || layer == 0) {
        throw new IllegalArgumentException(
            "the content layer must be -1 (the last layer) or >= 1, got " + layer);
      }
    }

    /** Whether the loss reads the residual stream through the logit lens (needs a trace). */
    boolean lens() {
      return weight > 0 && layer >= 1;
    }

    /** Checks the layer against the decoder's depth. */
    void checkLayers(int layerCount) {
      if (layer > layerCount) {
        throw new IllegalArgumentException(
            "the content layer must be 1.."
                + layerCount
                + " (the residual stream entering that layer, "
                + layerCount
                + ": the last layer's output) or -1, got "
                + layer);
      }
    }
  }

  private final Options options;

  ContentLoss(Options options) {
    this.options = options;
  }

  @Override
  public String name() {
    return "content";
  }

  @Override
  public Term apply(LossInputs in) {
    if (options.weight() <= 0) {
      return Term.NONE;
    }
    NDArray ce = options.lens() ? atLayer(in) : atLastLayer(in);
    return ce == null
        ? Term.NONE
        : new Term(Scalars.mul(ce, (float) options.weight()), ce.getFloat());
  }

  /**
   * Off the naming word's trace row (row 0 at word and ends) of the residual stream entering the
   * layer, through the lens: [B, D] -> [B, V]; over the examples that name one object.
   */
  private NDArray atLayer(LossInputs in) {
    int b = in.size();
    int vocab = Math.toIntExact(in.logp().getShape().get(2));
    float[] target = new float[b * vocab];
    int count = 0;
    for (int i = 0; i < b; i++) {
      ExampleEncoder.Encoded e = in.batch().get(i);
      if (in.named()[i] > 0 && e.contentId() >= 0) {
        target[i * vocab + e.contentId()] = 1f;
        count++;
      }
    }
    if (count == 0) {
      return null;
    }
    NDArray word =
        in.residuals().get(options.layer()).get(":, " + SequenceLayout.LOOKUP_ROW + ", :");
    NDArray logp = in.lens().apply(word).logSoftmax(-1);
    return Scalars.div(logp.mul(in.m().create(target, new Shape(b, vocab))).sum().neg(), count);
  }

  /**
   * Off the answers' own log-probs: suffix row r predicts suffix position r, so the naming word's
   * own row is namingWord + 1; over the examples with a naming word and a content word.
   */
  private NDArray atLastLayer(LossInputs in) {
    int b = in.size();
    Shape s = in.logp().getShape();
    int rows = Math.toIntExact(s.get(1));
    int vocab = Math.toIntExact(s.get(2));
    float[] target = new float[b * rows * vocab];
    int count = 0;
    for (int i = 0; i < b; i++) {
      ExampleEncoder.Encoded e = in.batch().get(i);
      if (e.namingWord() >= 0 && e.contentId() >= 0) {
        target[(i * rows + e.namingWord() + 1) * vocab + e.contentId()] = 1f;
        count++;
      }
    }
    if (count == 0) {
      return null;
    }
    return Scalars.div(in.logp().mul(in.m().create(target, s)).sum().neg(), count);
  }
}
