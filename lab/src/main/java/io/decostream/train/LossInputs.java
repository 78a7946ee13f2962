package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.decostream.projector.Scalars;
import java.util.List;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * What the auxiliary losses read off one training forward: the batch and its {@link
 * SequenceLayout}, which examples name one object (they carry its boxes, and a naming word where
 * the lookup is made there), the decoder's trace of the selected rows, the answers' log-probs and
 * the logit lens.
 *
 * @param named per example 1 when it names one object (the losses' targets), else 0
 * @param namedCount how many do
 * @param attention per layer, the traced rows' attention [B, H, R, T] (empty without a trace)
 * @param residuals per layer input (and the last output), the traced rows' residual stream [B, R,
 *     D] (empty unless recorded)
 * @param logp the log-probs of the suffix rows, [B, maxSuffix, V]
 * @param heads attention heads per layer
 * @param lens the final norm and LM head applied to residual rows [B, D] -> [B, V]
 */
record LossInputs(
    NDManager m,
    List<ExampleEncoder.Encoded> batch,
    SequenceLayout layout,
    float[] named,
    int namedCount,
    List<NDArray> attention,
    List<NDArray> residuals,
    NDArray logp,
    int heads,
    UnaryOperator<NDArray> lens) {

  int size() {
    return batch.size();
  }

  int layers() {
    return attention.size();
  }

  /**
   * A [B, T] mask over the visual positions of the named examples: per example {@code count} values
   * of {@code perToken} (over its F·M visual tokens) from token {@code from} on, at their positions
   * in the sequence.
   */
  NDArray visualMask(Function<ExampleEncoder.Encoded, float[]> perToken, int from, int count) {
    int t = layout.length();
    float[] mask = new float[size() * t];
    for (int i = 0; i < size(); i++) {
      if (named[i] > 0) {
        float[] v = perToken.apply(batch.get(i));
        for (int j = from; j < from + count; j++) {
          mask[i * t + layout.visualStart() + j] = v[j];
        }
      }
    }
    return m.create(mask, new Shape(size(), t));
  }

  /** A [B, T] one-hot mask at each named example's sequence position {@code at} gives. */
  NDArray positionMask(java.util.function.ToIntFunction<ExampleEncoder.Encoded> at) {
    int t = layout.length();
    float[] mask = new float[size() * t];
    for (int i = 0; i < size(); i++) {
      if (named[i] > 0) {
        mask[i * t + at.applyAsInt(batch.get(i))] = 1f;
      }
    }
    return m.create(mask, new Shape(size(), t));
  }

  /**
   * One head's attention mass on {@code mask}: layer l's traced row {@code row} of head h, [B, H,
   * R, T] -> [B, T] -> its mass on the mask [B].
   */
  NDArray rowMass(int layerHead, int row, NDArray mask) {
    return attention
        .get(layerHead / heads)
        .get(":, " + layerHead % heads + ", " + row + ", :")
        .mul(mask)
        .sum(new int[] {1});
  }

  /** The mean of a per-example measure [B] over the named examples, as a reported figure. */
  double meanOverNamed(NDArray perExample) {
    return perExample.mul(m.create(named)).sum().getFloat() / namedCount;
  }

  /** {@code -log} of a per-example mass [B], averaged over the named examples (a scalar). */
  NDArray minusMeanLog(NDArray perExample) {
    return Scalars.div(perExample.add(1e-6f).log().mul(m.create(named)).sum().neg(), namedCount);
  }

  /** A per-example measure [B] as doubles, NaN where an example names no object. */
  double[] perNamed(NDArray perExample) {
    float[] v = perExample.toFloatArray();
    double[] out = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = named[i] > 0 ? v[i] : Double.NaN;
    }
    return out;
  }
}
