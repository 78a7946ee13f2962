package io.decostream.train;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * What sits between the vision tower and the LLM (the paper's "projector" in the broad sense): one
 * frame's patch features in, the rows spliced into the LLM's sequence out. DeCo's choice is
 * parameter-free pooling then an MLP ({@link PooledConnector}); the comparison of issue 5 swaps in
 * the compressive baselines of spec §3.6.
 */
interface Connector {

  /**
   * Patch features {@code [BF, g*g, Dv]} (row-major grid, CLS dropped) to LLM rows {@code [BF, M,
   * Dt]}.
   */
  NDArray forward(NDArray features);

  /**
   * Whether the M rows are a square grid over the frame, row-major (pooling is; learned queries are
   * not).
   */
  default boolean spatial() {
    return false;
  }

  /** M: rows per frame. */
  int tokensPerFrame();

  /** The connector's own weights by name (empty for a connector built on the pack's weights). */
  Map<String, NDArray> parameters();
}
