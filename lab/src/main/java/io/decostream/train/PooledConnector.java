package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.projector.MlpProjector;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Parameter-free pooling of the patch grid by {@code stride} (spec §3.3: on the vision features,
 * BEFORE the projector), then the {@code mlp2x_gelu} projector (§3.1). {@code NONE} keeps every
 * patch (the paper's uncompressed "linear" baseline, 576 tokens per frame at full scale); {@code
 * AVG} is DeCo's AdaptiveAvgPool (for a stride that divides the grid the adaptive windows are
 * exactly these non-overlapping ones, §3.5); {@code MAX} is AdaptiveMaxPool.
 */
final class PooledConnector implements Connector {

  enum Pool {
    NONE,
    AVG,
    MAX
  }

  private final Pool pool;
  private final int grid;
  private final int stride;
  private final MlpProjector mlp;
  private final Map<String, NDArray> params;

  PooledConnector(Pool pool, int grid, int stride, MlpProjector mlp, Map<String, NDArray> params) {
    this.pool = Objects.requireNonNull(pool, "pool");
    if (grid < 1 || stride < 1 || grid % stride != 0 || (pool == Pool.NONE && stride != 1)) {
      throw new IllegalArgumentException(
          "pool "
              + pool
              + " needs a stride dividing the "
              + grid
              + "x"
              + grid
              + " grid (1 for none), got "
              + stride);
    }
    this.grid = grid;
    this.stride = stride;
    this.mlp = Objects.requireNonNull(mlp, "mlp");
    this.params = Map.copyOf(params);
  }

  /**
   * A fresh connector with its own MLP ({@code multi_modal_projector.linear_{1,2}.*}, Dv → Dt →
   * Dt), weights N(0, 0.02) and zero biases drawn from {@code seed}.
   */
  static PooledConnector fresh(
      NDManager m, Pool pool, int grid, int stride, int dv, int dt, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    Map<String, NDArray> p = new LinkedHashMap<>();
    p.put("multi_modal_projector.linear_1.weight", Init.normal(m, rng, 0.02, dt, dv));
    p.put("multi_modal_projector.linear_1.bias", m.zeros(new ai.djl.ndarray.types.Shape(dt)));
    p.put("multi_modal_projector.linear_2.weight", Init.normal(m, rng, 0.02, dt, dt));
    p.put("multi_modal_projector.linear_2.bias", m.zeros(new ai.djl.ndarray.types.Shape(dt)));
    MlpProjector mlp =
        new MlpProjector(
            p.get("multi_modal_projector.linear_1.weight"),
            p.get("multi_modal_projector.linear_1.bias"),
            p.get("multi_modal_projector.linear_2.weight"),
            p.get("multi_modal_projector.linear_2.bias"));
    return new PooledConnector(pool, grid, stride, mlp, p);
  }

  @Override
  public NDArray forward(NDArray features) {
    long bf = features.getShape().get(0);
    long dv = features.getShape().get(2);
    int pg = grid / stride;
    NDArray pooled =
        switch (pool) {
          case NONE -> features; // [BF, g*g, Dv]
          // [BF, g*g, Dv] -> [BF, g/s, s, g/s, s, Dv] -> reduce the two window axes -> [BF,
          // (g/s)^2, Dv]
          case AVG ->
              features
                  .reshape(bf, pg, stride, pg, stride, dv)
                  .mean(new int[] {4})
                  .mean(new int[] {2})
                  .reshape(bf, (long) pg * pg, dv);
          case MAX ->
              features
                  .reshape(bf, pg, stride, pg, stride, dv)
                  .max(new int[] {4})
                  .max(new int[] {2})
                  .reshape(bf, (long) pg * pg, dv);
        };
    return mlp.forward(pooled); // [BF, M, Dt]
  }

  @Override
  public boolean spatial() {
    return true;
  }

  @Override
  public int tokensPerFrame() {
    int pg = grid / stride;
    return pg * pg;
  }

  @Override
  public Map<String, NDArray> parameters() {
    return params;
  }
}
