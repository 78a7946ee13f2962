package io.decostream.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import java.util.Objects;

/**
 * LLaVA's {@code mlp2x_gelu} multimodal projector (models.md §3.1; DeCo's MLP after pooling, §3.2):
 * {@code y = linear_2(GELU_erf(linear_1(x)))}, both linears with bias, weights stored {@code [out,
 * in]} as in the checkpoint ({@code multi_modal_projector.linear_{1,2}.*} in HF, {@code
 * model.mm_projector.{0,2}.*} in the original repo — the nn module binds them by name).
 *
 * <p>Each linear is {@code torch::linear} (via DJL {@link Linear#linear}), the same op nn.Linear
 * runs; GELU is DJL's {@link Activation#gelu}, which calls {@code torch::nn::functional::gelu} in
 * its default exact (erf) form (spec §0), not the tanh approximation.
 *
 * <p>The projector owns its four weight arrays: {@link #close()} closes them (closing an array
 * twice is harmless in DJL, so a manager that also owns them may close them again).
 */
public final class MlpProjector implements AutoCloseable {

  private final NDArray w1;
  private final NDArray b1;
  private final NDArray w2;
  private final NDArray b2;
  private final int inputDim;
  private final int hiddenDim;
  private final int outputDim;

  /**
   * @param w1 linear_1.weight {@code [hidden, Dv]}
   * @param b1 linear_1.bias {@code [hidden]}
   * @param w2 linear_2.weight {@code [Dt, hidden]}
   * @param b2 linear_2.bias {@code [Dt]}
   * @throws IllegalArgumentException naming the mismatched tensor when shapes are inconsistent
   */
  public MlpProjector(NDArray w1, NDArray b1, NDArray w2, NDArray b2) {
    this.w1 = Objects.requireNonNull(w1, "linear_1.weight");
    this.b1 = Objects.requireNonNull(b1, "linear_1.bias");
    this.w2 = Objects.requireNonNull(w2, "linear_2.weight");
    this.b2 = Objects.requireNonNull(b2, "linear_2.bias");
    Shape s1 = w1.getShape();
    Shape s2 = w2.getShape();
    if (s1.dimension() != 2) {
      throw new IllegalArgumentException("linear_1.weight must be [hidden, in], got " + s1);
    }
    if (s2.dimension() != 2) {
      throw new IllegalArgumentException("linear_2.weight must be [out, hidden], got " + s2);
    }
    this.hiddenDim = Math.toIntExact(s1.get(0));
    this.inputDim = Math.toIntExact(s1.get(1));
    this.outputDim = Math.toIntExact(s2.get(0));
    if (s2.get(1) != hiddenDim) {
      throw new IllegalArgumentException(
          "linear_2.weight "
              + s2
              + " does not take linear_1's "
              + hiddenDim
              + " outputs (linear_1.weight "
              + s1
              + ")");
    }
    if (!b1.getShape().equals(new Shape(hiddenDim))) {
      throw new IllegalArgumentException(
          "linear_1.bias must be [" + hiddenDim + "], got " + b1.getShape());
    }
    if (!b2.getShape().equals(new Shape(outputDim))) {
      throw new IllegalArgumentException(
          "linear_2.bias must be [" + outputDim + "], got " + b2.getShape());
    }
  }

  /** Vision feature width Dv (linear_1 input). */
  public int inputDim() {
    return inputDim;
  }

  /** Hidden width (linear_1 output). */
  public int hiddenDim() {
    return hiddenDim;
  }

  /** LLM embedding width Dt (linear_2 output). */
  public int outputDim() {
    return outputDim;
  }

  /**
   * Projects visual tokens: {@code x} is {@code [T, Dv]} (or {@code [..., T, Dv]}); returns {@code
   * [T, Dt]} (same leading dims) on {@code x}'s manager. Differentiable: intermediates are closed
   * here, but autograd keeps what it saved.
   */
  public NDArray forward(NDArray x) {
    Objects.requireNonNull(x, "x");
    Shape s = x.getShape();
    if (s.dimension() < 1 || s.get(s.dimension() - 1) != inputDim) {
      throw new IllegalArgumentException(
          "projector input must end in Dv=" + inputDim + ", got " + s);
    }
    try (NDArray h = Linear.linear(x, w1, b1).singletonOrThrow(); // x @ W1^T + b1
        NDArray g = Activation.gelu(h)) { // exact erf GELU
      return Linear.linear(g, w2, b2).singletonOrThrow(); // @ W2^T + b2
    }
  }

  @Override
  public void close() {
    w1.close();
    b1.close();
    w2.close();
    b2.close();
  }
}
