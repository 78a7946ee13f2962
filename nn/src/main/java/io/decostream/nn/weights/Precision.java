package io.decostream.nn.weights;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/**
 * How a language model's weight matrices are kept in memory (issue 20 point 3). {@code F32} widens
 * every weight once at load (spec §6); {@code F16} keeps the matrices at 16 bits (IEEE half), half
 * the bytes that a decode step reads and half the memory (a 7B LLaVA-NeXT-Video fits in 16 GB): F16
 * checkpoints are kept as they are, F32 and BF16 ones rounded to nearest-even once at load (a value
 * beyond F16's range refuses the load, naming the tensor). {@code BF16} keeps them as bfloat16, the
 * top half of an F32: BF16 checkpoints as they are, F32 and F16 ones rounded to nearest-even; its
 * decode widens a weight with one integer op where F16 needs three (docs/benchmark.md), at 8
 * mantissa bits instead of 11. DJL 0.36 aborts the JVM on BF16 (and INT16) arrays, so BF16 weights
 * are held as UINT8 arrays [rows, cols, 2] of their little-endian bits and widened by this
 * project's code ({@code LlamaModel}), never handed to a DJL op as they are. Norms and biases stay
 * F32; every product accumulates in F32.
 */
public enum Precision {
  F32(DataType.FLOAT32),
  F16(DataType.FLOAT16),
  BF16(DataType.UINT8);

  private final DataType dataType;

  Precision(DataType dataType) {
    this.dataType = dataType;
  }

  /** The DJL type of the array that holds a weight matrix (BF16: its bytes, see above). */
  public DataType dataType() {
    return dataType;
  }

  /** Bytes per weight held. */
  public int bytes() {
    return this == F32 ? 4 : 2;
  }

  /** Parses {@code f32}/{@code fp32}/{@code f16}/{@code fp16}/{@code bf16} (case-insensitive). */
  public static Precision parse(String s) {
    String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "f32", "fp32", "float32" -> F32;
      case "f16", "fp16", "float16", "half" -> F16;
      case "bf16", "bfloat16" -> BF16;
      default ->
          throw new IllegalArgumentException(
              "unknown weight precision '" + s + "': use f32, f16 or bf16");
    };
  }
}
