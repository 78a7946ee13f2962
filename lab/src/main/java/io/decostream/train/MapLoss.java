package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.decostream.projector.Scalars;
import java.util.List;

/**
 * The map loss of {@code deco train --map-weight} (docs/shapes-model.md): {@code -log} of the share
 * of the answer's relevance in the latest frame that lies inside the named object's box grown by
 * one patch, over the examples that name one object, times the weight. It is the grounding check's
 * own measure ({@link io.decostream.shapes.GroundingCheck}), where the stray loss bounds only each
 * row's own attention. The relevance is R-GAE's (spec §7.2) with the heads' plain mean for their
 * gradient-weighted one (a loss cannot take the answer's gradient inside its own forward): from the
 * answer row, layer by layer down from the last, each question row passes its relevance on through
 * its attention, to the question rows before it (which carry it to lower layers) and to the visual
 * tokens (where it stays: Leak found the visual rows add no latest-frame relevance of their own). A
 * token counts inside by its share of patches inside the grown box, as Text-to-Patch spreads it
 * evenly over its window (spec §7.6). Reads every question row of the trace.
 */
final class MapLoss implements AuxLoss {

  /**
   * @param weight the loss's weight (0: off)
   */
  record Options(double weight) {
    Options {
      LossWeights.check("map", weight);
    }
  }

  private final Options options;

  MapLoss(Options options) {
    this.options = options;
  }

  @Override
  public String name() {
    return "map";
  }

  @Override
  public Term apply(LossInputs in) {
    if (options.weight() <= 0 || in.namedCount() == 0) {
      return Term.NONE;
    }
    NDArray share = rolledOutShareInside(in);
    return new Term(
        Scalars.mul(in.minusMeanLog(share), (float) options.weight()), in.meanOverNamed(share));
  }

  /** Per example [B], the share of the rolled-out latest-frame relevance inside the grown box. */
  static NDArray rolledOutShareInside(LossInputs in) {
    SequenceLayout l = in.layout();
    int b = in.size();
    int q = l.maxQuestion();
    int mTok = l.tokensPerFrame();
    float[] start = new float[b * q]; // the answer row: the question's last position
    float[] inside = new float[b * mTok];
    for (int i = 0; i < b; i++) {
      ExampleEncoder.Encoded e = in.batch().get(i);
      if (in.named()[i] > 0) {
        if (e.insideGrown() == null) {
          throw new IllegalArgumentException(
              "the map loss needs the connector's tokens as a square grid of whole "
                  + "patch windows (the grounding check's own measure)");
        }
        start[i * q + e.questionIds().length - 1] = 1f;
        System.arraycopy(e.insideGrown(), (e.frames() - 1) * mTok, inside, i * mTok, mTok);
      }
    }
    NDArray relevance = in.m().create(start, new Shape(b, 1, q)); // [B, 1, Q]
    NDArray visual = null; // [B, 1, M] over the latest frame's tokens
    int latest = l.latestFrameStart();
    int p = l.suffixStart();
    List<NDArray> attention = in.attention();
    for (int layer = attention.size() - 1; layer >= 0; layer--) {
      // [B, H, R, T] -> the question rows, heads' mean [B, Q, T]
      NDArray rows =
          attention.get(layer).get(":, :, " + l.questionRows() + ":, :").mean(new int[] {1});
      NDArray toLatest = relevance.matMul(rows.get(":, :, " + latest + ":" + (latest + mTok)));
      visual = visual == null ? toLatest : visual.add(toLatest);
      relevance = relevance.add(relevance.matMul(rows.get(":, :, " + p + ":" + (p + q))));
    }
    visual = visual.squeeze(1); // [B, M]
    NDArray in2 = visual.mul(in.m().create(inside, new Shape(b, mTok))).sum(new int[] {1});
    return in2.add(1e-9f).div(visual.sum(new int[] {1}).add(1e-9f));
  }
}
