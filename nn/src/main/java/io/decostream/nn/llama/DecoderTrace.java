package io.decostream.nn.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * What a traced batched forward of the decoder records for a few selected query rows: each layer's
 * attention probabilities on those rows (the taps R-GAE reads, spec §7.1) and, when asked, the
 * residual stream entering each layer. The training losses (attention, stray, map, content lens)
 * read their figures off a trace; the forward fills it as it goes and stays differentiable, so a
 * loss on a traced array trains the weights that made it.
 *
 * <p>{@code rowSelect} is {@code [B, 1, R, T]}: each of the R rows one-hot over the T query
 * positions (an all-zero row selects nothing and records zeros).
 */
public final class DecoderTrace {

  private final NDArray rowSelect;
  private final boolean residuals;
  private final List<NDArray> attention = new ArrayList<>();
  private final List<NDArray> residualRows = new ArrayList<>();

  private DecoderTrace(NDArray rowSelect, boolean residuals) {
    this.rowSelect = Objects.requireNonNull(rowSelect, "rowSelect");
    Shape s = rowSelect.getShape();
    if (s.dimension() != 4 || s.get(1) != 1) {
      throw new IllegalArgumentException("rowSelect must be [B, 1, R, T], got " + s);
    }
    this.residuals = residuals;
  }

  /** A trace of the attention on the rows {@code rowSelect} [B, 1, R, T] selects. */
  public static DecoderTrace attention(NDArray rowSelect) {
    return new DecoderTrace(rowSelect, false);
  }

  /** As {@link #attention}, also recording the selected rows of the residual stream. */
  public static DecoderTrace attentionAndResiduals(NDArray rowSelect) {
    return new DecoderTrace(rowSelect, true);
  }

  /** The selection, [B, 1, R, T]. */
  public NDArray rowSelect() {
    return rowSelect;
  }

  /** Whether residual rows are recorded. */
  public boolean recordsResiduals() {
    return residuals;
  }

  /** Per layer, in order: the selected rows' attention probabilities, [B, H, R, T]. */
  public List<NDArray> attention() {
    return Collections.unmodifiableList(attention);
  }

  /**
   * The selected rows of the residual stream, [B, R, D]: entry l is the input of layer l (before
   * its RMSNorm), the last entry the last layer's output before the final norm (layers + 1
   * entries); empty unless {@link #recordsResiduals()}.
   */
  public List<NDArray> residuals() {
    return Collections.unmodifiableList(residualRows);
  }

  /** Called by the decoder with one layer's probabilities, [B, H, T, T]. */
  void recordAttention(NDArray probs) {
    attention.add(rowSelect.matMul(probs)); // [B, 1, R, T] x [B, H, T, T] -> [B, H, R, T]
  }

  /** Called by the decoder with the residual stream [B, T, D] entering a layer (and at the end). */
  void recordResidual(NDArray h) {
    if (residuals) {
      residualRows.add(rowSelect.squeeze(1).matMul(h)); // [B, R, T] x [B, T, D] -> [B, R, D]
    }
  }
}
