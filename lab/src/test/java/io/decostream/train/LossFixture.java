package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A hand-made trace for the auxiliary losses' unit tests, no model: two examples of one frame of
 * two visual tokens, the first naming an object on token 0 (its grown box holds all of token 0 and
 * half of token 1), the second naming none. Sequence: [prefix | 2 visual | 2 question | 1 target],
 * T = 6; every traced attention row is uniform (1/6 on each position) unless a test overrides it.
 */
final class LossFixture {

  static final int T = 6;
  static final int LAYERS = 2;
  static final int VOCAB = 4;

  final NDManager m;
  final List<ExampleEncoder.Encoded> batch;
  final SequenceLayout layout;
  final int heads;
  final int rows;
  final float[][] attention; // per layer, [B, H, R, T] flattened

  /**
   * @param heads heads per layer
   * @param atWord whether the lookup row is the naming word's (then the answer row is row 1)
   * @param questionRows whether the question's rows are traced too (the map loss)
   */
  LossFixture(NDManager m, int heads, boolean atWord, boolean questionRows) {
    this.m = m;
    this.heads = heads;
    ExampleEncoder.Encoded named =
        new ExampleEncoder.Encoded(
            new float[1],
            1,
            new int[] {1},
            new int[] {10, 11},
            new int[] {12},
            new float[] {1, 0},
            new float[] {1, 0.5f},
            0,
            3);
    ExampleEncoder.Encoded none =
        new ExampleEncoder.Encoded(
            new float[1], 1, new int[] {1}, new int[] {10, 11}, new int[] {12}, null, null, -1, -1);
    this.batch = List.of(named, none);
    int lookupRows = atWord ? 2 : 1;
    this.layout = new SequenceLayout(1, 1, 2, 2, 3, atWord ? 1 : 0, questionRows ? lookupRows : -1);
    this.rows = lookupRows + (questionRows ? 2 : 0);
    this.attention = new float[LAYERS][2 * heads * rows * T];
    for (float[] a : attention) {
      Arrays.fill(a, 1f / T);
    }
  }

  /** Sets one traced row of one head of one example: {@code values} over the T positions. */
  LossFixture row(int layer, int example, int head, int row, float... values) {
    System.arraycopy(values, 0, attention[layer], ((example * heads + head) * rows + row) * T, T);
    return this;
  }

  LossInputs inputs() {
    List<NDArray> att = new ArrayList<>();
    for (float[] a : attention) {
      att.add(m.create(a, new Shape(2, heads, rows, T)));
    }
    // residual rows [B, R, V] of zeros: the identity lens gives uniform log-probs, -log 1/4
    List<NDArray> residuals = new ArrayList<>();
    for (int l = 0; l <= LAYERS; l++) {
      residuals.add(m.zeros(new Shape(2, rows, VOCAB)));
    }
    NDArray logp = m.zeros(new Shape(2, 3, VOCAB)).logSoftmax(-1);
    return new LossInputs(
        m, batch, layout, new float[] {1, 0}, 1, att, residuals, logp, heads, x -> x);
  }
}
