package io.decostream.nn.safetensors;

/** Safetensors dtype names (spec §6) with their element sizes in bytes. */
public enum DType {
  BOOL(1),
  U8(1),
  I8(1),
  I16(2),
  U16(2),
  F16(2),
  BF16(2),
  I32(4),
  U32(4),
  F32(4),
  F64(8),
  I64(8),
  U64(8),
  F8_E4M3(1),
  F8_E5M2(1);

  private final int bytes;

  DType(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** Whether {@link SafeTensors#readFloats} can widen this dtype to F32 exactly. */
  public boolean isReadableAsFloat() {
    return this == F32 || this == F16 || this == BF16;
  }

  /** Whether {@link SafeTensors#readLongs} can read this dtype. */
  public boolean isReadableAsLong() {
    return this == I64 || this == I32 || this == U8 || this == I8 || this == I16 || this == BOOL;
  }

  /** The enum constant for a header dtype string, with a clear error for unknown names. */
  public static DType parse(String name, String tensor) {
    try {
      return DType.valueOf(name);
    } catch (IllegalArgumentException e) {
      throw new SafeTensorsException("tensor '" + tensor + "' has unknown dtype '" + name + "'");
    }
  }
}
