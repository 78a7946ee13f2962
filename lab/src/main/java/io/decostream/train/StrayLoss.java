package io.decostream.train;

import ai.djl.ndarray.NDArray;
import io.decostream.projector.Scalars;

/**
 * The stray loss of {@code deco train --stray-weight} (docs/shapes-model.md): the answer row's
 * attention on visual tokens outside the named object (the tokens the attention loss does not aim
 * at), averaged over every head of every layer and over the examples that name one object, times
 * the weight. R-GAE's grounding map is made of the attention the answer's logit flows through (spec
 * §7.2); {@code deco diagnose Leak} showed that the latest frame's stray relevance comes from the
 * answer row's own heads, not from the lookup at the naming word.
 */
final class StrayLoss implements AuxLoss {

  /**
   * @param weight the loss's weight (0: off)
   */
  record Options(double weight) {
    Options {
      LossWeights.check("stray", weight);
    }
  }

  private final Options options;

  StrayLoss(Options options) {
    this.options = options;
  }

  @Override
  public String name() {
    return "stray";
  }

  @Override
  public Term apply(LossInputs in) {
    if (options.weight() <= 0 || in.namedCount() == 0) {
      return Term.NONE;
    }
    SequenceLayout l = in.layout();
    NDArray outside =
        in.visualMask(StrayLoss::outsideTargets, 0, l.frames() * l.tokensPerFrame())
            .expandDims(1); // [B, 1, T]
    NDArray perExample = null;
    for (NDArray layer : in.attention()) {
      // [B, H, R, T] -> the answer row [B, H, T] -> mass outside per head [B, H] -> heads' mean [B]
      NDArray mass =
          layer
              .get(":, :, " + l.answerRow() + ", :")
              .mul(outside)
              .sum(new int[] {2})
              .mean(new int[] {1});
      perExample = perExample == null ? mass : perExample.add(mass);
    }
    NDArray stray =
        Scalars.div(
            perExample.mul(in.m().create(in.named())).sum(), (float) in.layers() * in.namedCount());
    return new Term(Scalars.mul(stray, (float) options.weight()), stray.getFloat());
  }

  private static float[] outsideTargets(ExampleEncoder.Encoded e) {
    float[] out = new float[e.attend().length];
    for (int j = 0; j < out.length; j++) {
      out[j] = 1f - e.attend()[j];
    }
    return out;
  }
}
