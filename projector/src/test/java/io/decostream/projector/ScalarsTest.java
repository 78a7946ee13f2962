package io.decostream.projector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Gradients through constants stay right when the memory of freed Java direct buffers is reused
 * between forward and backward, which is what the GC does at random in a long training run.
 */
class ScalarsTest {

  private static final int TRIALS = 20;

  /**
   * Frees unreachable direct buffers and fills the reused memory with 1e-30 (what a stale scalar
   * would then read).
   */
  private static void churn() throws InterruptedException {
    System.gc();
    Thread.sleep(10);
    List<ByteBuffer> junk = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      ByteBuffer b = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
      b.putFloat(0, 1e-30f);
      junk.add(b);
    }
  }

  /** d(sum(op(x)))/dx for x = ones(4), with {@link #churn} between forward and backward. */
  private static float[] gradient(UnaryOperator<NDArray> op) throws InterruptedException {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray x = m.ones(new Shape(4));
      x.setRequiresGradient(true);
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        NDArray y = op.apply(x).sum();
        churn();
        gc.backward(y);
      }
      return x.getGradient().toFloatArray();
    }
  }

  @Test
  void scalarFactorsSurviveTheGcUntilBackward() throws Exception {
    int djlWrong = 0;
    for (int t = 0; t < TRIALS; t++) {
      assertArrayEquals(
          new float[] {0.25f, 0.25f, 0.25f, 0.25f}, gradient(x -> Scalars.div(x, 4f)), 0f);
      assertArrayEquals(new float[] {3f, 3f, 3f, 3f}, gradient(x -> Scalars.mul(x, 3f)), 0f);
      // DJL's own x.div(Number): the scalar's buffer is closed at once, and backward reads reused
      // memory
      djlWrong += gradient(x -> x.div(4f))[0] == 0.25f ? 0 : 1;
    }
    System.out.printf(
        "DJL div(Number) gave a wrong gradient in %d of %d trials (Scalars.div: none)%n",
        djlWrong, TRIALS);
  }

  @Test
  void averagePoolingGradientSurvivesTheGcUntilBackward() throws Exception {
    // AdaptiveAvgPool 2x2 -> 1x1 over one channel: each input gets 1/4 of the output's gradient
    for (int t = 0; t < TRIALS; t++) {
      float[] g = gradient(x -> AdaptivePool2d.pool(x.reshape(4, 1), 2, 2, 1, 1, PoolingMode.AVG));
      assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f, 0.25f}, g, 0f);
    }
  }
}
