package io.decostream.nn.weights;

import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/**
 * How a language model's weight matrices are kept in memory (issue 20 point 3). {@code F32} widens
 * every weight once at load (spec §6); {@code F16} keeps the matrices at 16 bits (IEEE half), half
 * the bytes that a decode step reads and half the memory (a 7B LLaVA-NeXT-Video fits in 16 GB): F16
 * checkpoints are kept as they are, F32 and BF16 ones rounded to nearest-even once at load (a value
 * beyond F16's range refuses the load, naming the tensor). Norms and biases stay F32; every product
 * accumulates in F32. BF16 storage is not offered: DJL 0.36 aborts the JVM on BF16 arrays.
 */
public enum Precision {
  F32(DataType.FLOAT32),
  F16(DataType.FLOAT16);

  private final DataType dataType;

  Precision(DataType dataType) {
    this.dataType = dataType;
  }

  public DataType dataType() {
    return dataType;
  }

  /** Bytes per weight held. */
  public int bytes() {
    return this == F32 ? 4 : 2;
  }

  /** Parses {@code f32}/{@code fp32}/{@code f16}/{@code fp16} (case-insensitive). */
  public static Precision parse(String s) {
    String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "f32", "fp32", "float32" -> F32;
      case "f16", "fp16", "float16", "half" -> F16;
      case "bf16", "bfloat16" ->
          throw new IllegalArgumentException(
              "bf16 weights are not supported (the DJL engine aborts on BF16 arrays): use f16");
      default ->
          throw new IllegalArgumentException(
              "unknown weight precision '" + s + "': use f32 or f16");
    };
  }
}
