package io.decostream.nn.rgae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The attention tap of R-GAE (spec §7.1): passed to a tapped forward ({@link
 * io.decostream.nn.llama.LlamaModel#forwardTapped}, {@link
 * io.decostream.nn.vit.VitEncoderLayer#forward(NDArray, UnaryOperator)}), it records every layer's
 * post-softmax probabilities {@code A} and returns {@code A' = A + Z} with a fresh zero leaf {@code
 * Z} that requires a gradient. DJL cannot read the gradient of a non-leaf array, but {@code ∂A'/∂Z
 * = I}, so after {@code backward(y)} in a {@code GradientCollector}, {@code Z.getGradient() =
 * ∂y/∂A}.
 *
 * <p>Layers are recorded in call order (layer 1 first). One recorder serves one backward pass: use
 * a fresh one per explained step (§7.1 "fresh Z per layer per explained step"). Everything it
 * records lives on its own manager and is released by {@link #close()}.
 */
public final class AttentionRecorder implements UnaryOperator<NDArray>, AutoCloseable {

  private final NDManager manager;
  private final List<NDArray> probs = new ArrayList<>();
  private final List<NDArray> zeros = new ArrayList<>();

  /** A recorder whose arrays live on a sub-manager of {@code parent}. */
  public AttentionRecorder(NDManager parent) {
    this.manager = Objects.requireNonNull(parent, "parent").newSubManager();
  }

  /**
   * Records {@code a} (moving it to this recorder's manager) and returns {@code a + Z}, Z a zero
   * gradient leaf.
   */
  @Override
  public NDArray apply(NDArray a) {
    Objects.requireNonNull(a, "attention probabilities");
    NDArray z = manager.zeros(a.getShape(), a.getDataType(), a.getDevice());
    z.setRequiresGradient(true);
    NDArray out = a.add(z); // stays in the caller's (layer) scope; autograd keeps what it needs
    a.attach(manager);
    probs.add(a);
    zeros.add(z);
    return out;
  }

  /** Number of layers recorded so far. */
  public int layers() {
    return probs.size();
  }

  /** The recorded probabilities of layer {@code l} (0-based call order), e.g. [nH, T, T]. */
  public NDArray probabilities(int l) {
    return probs.get(check(l));
  }

  /** {@code ∂y/∂A} of layer {@code l} after the backward pass (zeros before it). */
  public NDArray gradient(int l) {
    return zeros.get(check(l)).getGradient();
  }

  /**
   * {@code Ā_l = mean over heads of relu(∂y/∂A ⊙ A)} (spec §7.2, [GAE-LX] avg_heads), a [Tq, Tk]
   * array on {@code target}. Every axis before the last two ([nH] for the LLM, [B, H] for a batch-1
   * ViT) is averaged. Call after the backward pass, outside the gradient collector.
   */
  public NDArray headAveraged(int l, NDManager target) {
    NDArray a = probabilities(l);
    Shape s = a.getShape();
    int d = s.dimension();
    if (d < 2) {
      throw new IllegalStateException(
          "attention of layer " + l + " has shape " + s + ", expected [..., Tq, Tk]");
    }
    long tq = s.get(d - 2);
    long tk = s.get(d - 1);
    // intermediates stay on this recorder's manager (released by close()); only the result moves to
    // target
    NDArray out = gradient(l).mul(a).maximum(0f).reshape(-1, tq, tk).mean(new int[] {0});
    out.attach(target);
    return out;
  }

  /**
   * Per batch item (ViT over several frames): {@code A} [B, H, Tq, Tk] → {@code mean over H of
   * relu(∂y/∂A ⊙ A)}, [B, Tq, Tk] on {@code target} (spec §7.2, §7.7).
   */
  public NDArray headAveragedPerItem(int l, NDManager target) {
    NDArray a = probabilities(l);
    if (a.getShape().dimension() != 4) {
      throw new IllegalStateException(
          "attention of layer " + l + " has shape " + a.getShape() + ", expected [B, H, Tq, Tk]");
    }
    NDArray out = gradient(l).mul(a).maximum(0f).mean(new int[] {1});
    out.attach(target);
    return out;
  }

  /** {@link #headAveraged} of every recorded layer, in order. */
  public List<NDArray> headAveraged(NDManager target) {
    List<NDArray> out = new ArrayList<>(probs.size());
    for (int l = 0; l < probs.size(); l++) {
      out.add(headAveraged(l, target));
    }
    return out;
  }

  private int check(int l) {
    if (l < 0 || l >= probs.size()) {
      throw new IndexOutOfBoundsException(
          "layer " + l + " not recorded (" + probs.size() + " layers recorded)");
    }
    return l;
  }

  @Override
  public void close() {
    manager.close();
  }
}
