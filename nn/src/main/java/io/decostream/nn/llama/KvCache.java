package io.decostream.nn.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Preallocated key/value cache of a {@link LlamaModel} (spec §4.3): per layer one K and one V array
 * of shape {@code [1, nKV, capacity, headDim]} (batch 1, the decoder's leading batch dimension),
 * written in place at positions {@code length() .. length()+T-1} by each forward pass. K is stored
 * after RoPE, V as projected; neither is repeated for GQA.
 *
 * <p>Not thread-safe: a cache belongs to one sequence and one thread at a time.
 */
public final class KvCache implements AutoCloseable {

  private final NDManager manager;
  private final NDArray[] keys;
  private final NDArray[] values;
  private final int capacity;
  private int length;

  /** The decode step's vectors for this sequence, made at its first step (issue 20 point 2). */
  private DecodeStep.Scratch scratch;

  /** The rows of a short prompt's pass ({@link DecodeStep#prompt}), made at its first one. */
  private DecodeStep.Batch promptRows;

  KvCache(NDManager parent, int layers, int kvHeads, int headDim, int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("KV cache capacity must be >= 1, got " + capacity);
    }
    this.manager = parent.newSubManager();
    this.capacity = capacity;
    this.keys = new NDArray[layers];
    this.values = new NDArray[layers];
    Shape shape = new Shape(1, kvHeads, capacity, headDim);
    for (int l = 0; l < layers; l++) {
      keys[l] = manager.zeros(shape, DataType.FLOAT32);
      values[l] = manager.zeros(shape, DataType.FLOAT32);
    }
  }

  /** Number of positions filled so far (the position id of the next token). */
  public int length() {
    return length;
  }

  /** Maximum number of positions this cache holds. */
  public int capacity() {
    return capacity;
  }

  /** Bytes its K and V arrays hold (fp32, every layer, the whole capacity). */
  public long bytes() {
    long n = 0;
    for (int l = 0; l < keys.length; l++) {
      n += keys[l].size() * 4 + values[l].size() * 4;
    }
    return n;
  }

  /** Positions still free. */
  public int remaining() {
    return capacity - length;
  }

  /** Forgets everything (the arrays are reused; stale entries are masked out by the length). */
  public void reset() {
    length = 0;
  }

  /** Keeps only the first {@code newLength} positions (e.g. to re-run from a shared prefix). */
  public void truncate(int newLength) {
    if (newLength < 0 || newLength > length) {
      throw new IllegalArgumentException(
          "cannot truncate a cache of length " + length + " to " + newLength);
    }
    length = newLength;
  }

  /**
   * Overwrites this cache with the first {@code n} positions of {@code src} (same layers, heads and
   * head size): per layer and KV head one block copy of n rows, through direct views.
   */
  void copyFrom(KvCache src, int n) {
    if (src.keys.length != keys.length) {
      throw new IllegalArgumentException("caches of different models");
    }
    for (int l = 0; l < keys.length; l++) {
      copy(src.keys[l], src.capacity, keys[l], capacity, n);
      copy(src.values[l], src.capacity, values[l], capacity, n);
    }
    length = n;
  }

  private static void copy(NDArray from, int fromCap, NDArray to, int toCap, int n) {
    long[] s = from.getShape().getShape(); // [1, nKV, cap, hd]
    int groups = (int) s[1];
    int row = (int) s[3] * 4;
    java.nio.ByteBuffer a = NativeView.of(from).buf;
    java.nio.ByteBuffer b = NativeView.of(to).buf;
    for (int g = 0; g < groups; g++) {
      b.put(g * toCap * row, a, g * fromCap * row, n * row);
    }
  }

  DecodeStep.Scratch scratch(DecodeStep step) {
    if (scratch == null) {
      scratch = step.scratch(this);
    }
    return scratch;
  }

  DecodeStep.Batch promptRows(DecodeStep step) {
    if (promptRows == null) {
      promptRows = step.promptRows(this);
    }
    return promptRows;
  }

  NDArray keys(int layer) {
    return keys[layer];
  }

  NDArray values(int layer) {
    return values[layer];
  }

  void advance(int tokens) {
    length += tokens;
  }

  @Override
  public void close() {
    manager.close();
  }
}
