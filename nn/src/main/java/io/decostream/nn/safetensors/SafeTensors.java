package io.decostream.nn.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Memory-mapped safetensors reader (spec §6), for a single file or a sharded checkpoint.
 *
 * <p>Only headers are parsed at open; each read maps the tensor's byte range read-only ({@link
 * FileChannel#map}, in chunks below 1 GiB so offsets past 2 GiB work) and copies/widens it into
 * Java arrays or a fresh direct buffer. No NDArray ever aliases a read-only mapping (an in-place op
 * on one segfaults in libtorch, stack.md gotcha 3). F16 and BF16 are widened to F32 exactly in Java
 * (DJL 0.36 aborts on BF16, gotcha 2).
 */
public final class SafeTensors implements AutoCloseable {

  /** The index file name HF uses for sharded checkpoints. */
  public static final String INDEX_FILE = "model.safetensors.index.json";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long CHUNK = 1L << 30;

  /** Sanity limit on the JSON header (the reference implementation uses 100 MB). */
  private static final long MAX_HEADER = 100L * 1024 * 1024;

  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;
  private final Map<Path, FileChannel> channels;

  private SafeTensors(
      Map<String, TensorInfo> tensors,
      Map<String, String> metadata,
      Map<Path, FileChannel> channels) {
    this.tensors = Collections.unmodifiableMap(tensors);
    this.metadata = Collections.unmodifiableMap(metadata);
    this.channels = channels;
  }

  /**
   * Opens a {@code .safetensors} file, or a directory holding either {@value #INDEX_FILE}
   * (sharded), {@code model.safetensors}, or one or more {@code *.safetensors} files (merged;
   * duplicate names fail).
   */
  public static SafeTensors open(Path fileOrDir) {
    if (Files.isDirectory(fileOrDir)) {
      Path index = fileOrDir.resolve(INDEX_FILE);
      if (Files.isRegularFile(index)) {
        return openIndex(index);
      }
      Path single = fileOrDir.resolve("model.safetensors");
      if (Files.isRegularFile(single)) {
        return openFiles(List.of(single));
      }
      List<Path> files;
      try (Stream<Path> s = Files.list(fileOrDir)) {
        files =
            s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list " + fileOrDir, e);
      }
      if (files.isEmpty()) {
        throw new SafeTensorsException(
            "no " + INDEX_FILE + " and no *.safetensors file in " + fileOrDir);
      }
      return openFiles(files);
    }
    if (!Files.isRegularFile(fileOrDir)) {
      throw new SafeTensorsException("no such safetensors file or directory: " + fileOrDir);
    }
    if (fileOrDir.getFileName().toString().endsWith(".index.json")) {
      return openIndex(fileOrDir);
    }
    return openFiles(List.of(fileOrDir));
  }

  private static SafeTensors openIndex(Path index) {
    JsonNode root;
    try {
      root = JSON.readTree(index.toFile());
    } catch (IOException e) {
      throw new SafeTensorsException("cannot parse " + index + ": " + e.getMessage(), e);
    }
    JsonNode map = root.get("weight_map");
    if (map == null || !map.isObject()) {
      throw new SafeTensorsException(index + " has no \"weight_map\" object");
    }
    Map<String, String> weightMap =
        JSON.convertValue(map, new TypeReference<LinkedHashMap<String, String>>() {});
    List<Path> shards =
        weightMap.values().stream().distinct().map(f -> index.resolveSibling(f)).toList();
    SafeTensors all = openFiles(shards);
    // The index is the contract: every name it lists must be in the shard it names.
    for (Map.Entry<String, String> e : weightMap.entrySet()) {
      TensorInfo t = all.tensors.get(e.getKey());
      if (t == null || !t.file().equals(index.resolveSibling(e.getValue()))) {
        all.close();
        throw new SafeTensorsException(
            "index "
                + index
                + " maps '"
                + e.getKey()
                + "' to "
                + e.getValue()
                + " but that shard does not hold it");
      }
    }
    return all;
  }

  private static SafeTensors openFiles(List<Path> files) {
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    Map<Path, FileChannel> channels = new LinkedHashMap<>();
    try {
      for (Path f : files) {
        FileChannel ch = FileChannel.open(f, StandardOpenOption.READ);
        channels.put(f, ch);
        readHeader(f, ch, tensors, metadata);
      }
    } catch (IOException | RuntimeException e) {
      channels.values().forEach(SafeTensors::closeQuietly);
      if (e instanceof IOException io) {
        throw new UncheckedIOException(
            "cannot read safetensors " + files + ": " + io.getMessage(), io);
      }
      throw (RuntimeException) e;
    }
    return new SafeTensors(tensors, metadata, channels);
  }

  private static void readHeader(
      Path f, FileChannel ch, Map<String, TensorInfo> out, Map<String, String> metadata)
      throws IOException {
    long size = ch.size();
    if (size < 8) {
      throw new SafeTensorsException(
          f + " is too short to be a safetensors file (" + size + " bytes)");
    }
    ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    readFully(ch, lenBuf, 0);
    long n = lenBuf.getLong(0);
    if (n <= 0 || n > MAX_HEADER || 8 + n > size) {
      throw new SafeTensorsException(
          f + ": invalid header length " + n + " for a file of " + size + " bytes");
    }
    ByteBuffer hdr = ByteBuffer.allocate((int) n);
    readFully(ch, hdr, 8);
    JsonNode root = JSON.readTree(new String(hdr.array(), StandardCharsets.UTF_8).trim());
    if (root == null || !root.isObject()) {
      throw new SafeTensorsException(f + ": header is not a JSON object");
    }
    long dataBase = 8 + n;
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = e.getKey();
      JsonNode v = e.getValue();
      if ("__metadata__".equals(name)) {
        v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
        continue;
      }
      JsonNode dt = v.get("dtype");
      JsonNode sh = v.get("shape");
      JsonNode off = v.get("data_offsets");
      if (dt == null
          || sh == null
          || off == null
          || !sh.isArray()
          || !off.isArray()
          || off.size() != 2) {
        throw new SafeTensorsException(f + ": malformed header entry for '" + name + "': " + v);
      }
      long[] shape = new long[sh.size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = sh.get(i).asLong();
      }
      long begin = off.get(0).asLong();
      long end = off.get(1).asLong();
      if (begin < 0 || end < begin || dataBase + end > size) {
        throw new SafeTensorsException(
            f
                + ": data_offsets ["
                + begin
                + ","
                + end
                + "] of '"
                + name
                + "' lie outside the file ("
                + size
                + " bytes)");
      }
      TensorInfo info =
          new TensorInfo(
              name, DType.parse(dt.asText(), name), shape, f, dataBase + begin, end - begin);
      if (out.put(name, info) != null) {
        throw new SafeTensorsException(
            "tensor '" + name + "' appears in more than one file (second: " + f + ")");
      }
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int r = ch.read(buf, pos + buf.position());
      if (r < 0) {
        throw new IOException("unexpected end of file");
      }
    }
  }

  /** All tensor names, in header order. */
  public Set<String> names() {
    return tensors.keySet();
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** The {@code __metadata__} entries of all files (merged). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Header entry of a tensor. */
  public TensorInfo info(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new SafeTensorsException(
          "no tensor named '" + name + "' (checkpoint has " + tensors.size() + " tensors)");
    }
    return t;
  }

  /** The tensor widened to F32 (exact for F16/BF16), C order. */
  public float[] readFloats(String name) {
    TensorInfo t = info(name);
    if (!t.dtype().isReadableAsFloat()) {
      throw new SafeTensorsException(
          "tensor '" + name + "' is " + t.dtype() + "; readFloats reads F32, F16, BF16");
    }
    float[] out = new float[Math.toIntExact(t.numel())];
    int[] pos = {0};
    forEachChunk(
        t,
        buf -> {
          switch (t.dtype()) {
            case F32 -> {
              int k = buf.remaining() / 4;
              buf.asFloatBuffer().get(out, pos[0], k);
              pos[0] += k;
            }
            case F16 -> {
              while (buf.hasRemaining()) {
                out[pos[0]++] = HalfFloats.f16ToFloat(buf.getShort());
              }
            }
            case BF16 -> {
              while (buf.hasRemaining()) {
                out[pos[0]++] = HalfFloats.bf16ToFloat(buf.getShort());
              }
            }
            default -> throw new IllegalStateException();
          }
        });
    return out;
  }

  /** An integer tensor (I64, I32, I16, I8, U8, BOOL) widened to long, C order. */
  public long[] readLongs(String name) {
    TensorInfo t = info(name);
    if (!t.dtype().isReadableAsLong()) {
      throw new SafeTensorsException(
          "tensor '" + name + "' is " + t.dtype() + "; readLongs reads integer dtypes");
    }
    long[] out = new long[Math.toIntExact(t.numel())];
    int[] pos = {0};
    forEachChunk(
        t,
        buf -> {
          while (buf.hasRemaining()) {
            out[pos[0]++] =
                switch (t.dtype()) {
                  case I64 -> buf.getLong();
                  case I32 -> buf.getInt();
                  case I16 -> buf.getShort();
                  case I8 -> buf.get();
                  case U8, BOOL -> buf.get() & 0xFF;
                  default -> throw new IllegalStateException();
                };
          }
        });
    return out;
  }

  /** The raw little-endian bytes of a tensor (any dtype). */
  public byte[] readBytes(String name) {
    TensorInfo t = info(name);
    byte[] out = new byte[Math.toIntExact(t.byteLength())];
    int[] pos = {0};
    forEachChunk(
        t,
        buf -> {
          int k = buf.remaining();
          buf.get(out, pos[0], k);
          pos[0] += k;
        });
    return out;
  }

  /**
   * The tensor as an F16 NDArray of its shape (issue 20 point 3): F16 data is copied as it is, F32
   * and BF16 rounded to nearest-even ({@link HalfFloats#floatToF16}, PyTorch's {@code .half()}).
   *
   * @throws SafeTensorsException when a finite value lies beyond F16's range (|x| > 65504)
   */
  public NDArray toF16NDArray(NDManager manager, String name) {
    TensorInfo t = info(name);
    return halves(
        manager, t, DType.F16, DataType.FLOAT16, new Shape(t.shape()), f -> narrow(name, f));
  }

  /**
   * The tensor's values as bfloat16 bits in a UINT8 NDArray of its shape plus a last axis of 2 (the
   * little-endian bytes of each value; see {@code Precision.BF16} for why not a BF16 array): BF16
   * data is copied as it is, F32 and F16 rounded to nearest-even ({@link HalfFloats#floatToBf16},
   * PyTorch's {@code .bfloat16()}).
   */
  public NDArray toBf16Bytes(NDManager manager, String name) {
    TensorInfo t = info(name);
    long[] shape = Arrays.copyOf(t.shape(), t.shape().length + 1);
    shape[shape.length - 1] = 2;
    return halves(
        manager, t, DType.BF16, DataType.UINT8, new Shape(shape), HalfFloats::floatToBf16);
  }

  /** Rounds a float to the bits of a 16-bit type. */
  private interface Narrowing {
    short bits(float f);
  }

  /**
   * Tensor {@code t} as 16-bit values of type {@code target} in a fresh array of {@code arrayType}
   * and {@code shape}: data of that type copied as it is, any other float type read as F32 and
   * rounded by {@code narrowing}.
   */
  private NDArray halves(
      NDManager manager,
      TensorInfo t,
      DType target,
      DataType arrayType,
      Shape shape,
      Narrowing narrowing) {
    if (!t.dtype().isReadableAsFloat()) {
      throw new SafeTensorsException(
          "tensor '"
              + t.name()
              + "' is "
              + t.dtype()
              + "; a "
              + target
              + " load reads F32, F16, BF16");
    }
    long bytes = t.numel() * 2;
    if (bytes > Integer.MAX_VALUE) {
      throw new SafeTensorsException(
          "tensor '"
              + t.name()
              + "' needs "
              + bytes
              + " bytes as "
              + target
              + ", over the 2 GiB buffer limit");
    }
    NDArray array = allocate(manager, shape, arrayType);
    java.nio.ShortBuffer so = writable(array).asShortBuffer();
    forEachChunk(
        t,
        buf -> {
          if (t.dtype() == target) {
            so.put(buf.asShortBuffer());
            return;
          }
          while (buf.hasRemaining()) {
            float f =
                switch (t.dtype()) {
                  case F32 -> buf.getFloat();
                  case F16 -> HalfFloats.f16ToFloat(buf.getShort());
                  case BF16 -> HalfFloats.bf16ToFloat(buf.getShort());
                  default -> throw new IllegalStateException();
                };
            so.put(narrowing.bits(f));
          }
        });
    return array;
  }

  /**
   * A fresh array that libtorch allocates (64-byte aligned, outside Java's direct-memory limit), to
   * be filled through {@link #writable}. An array made from a Java direct buffer instead keeps that
   * buffer as its memory, 16-byte aligned: the decode kernels' 64-byte loads then straddle two
   * cache lines on three rows of four, and the weights count against -XX:MaxDirectMemorySize.
   */
  private static NDArray allocate(NDManager manager, Shape shape, DataType type) {
    return manager.create(shape, type);
  }

  /** The array's own memory, in native order, to write in place. */
  private static ByteBuffer writable(NDArray array) {
    ByteBuffer b = array.toByteBuffer(true);
    if (!b.isDirect() || b.isReadOnly()) {
      throw new IllegalStateException("the engine gives no writable view of a fresh array");
    }
    return b.order(ByteOrder.nativeOrder());
  }

  private static short narrow(String name, float f) {
    short h = HalfFloats.floatToF16(f);
    if ((h & 0x7C00) == 0x7C00 && Float.isFinite(f)) {
      throw new SafeTensorsException(
          "tensor '" + name + "' holds " + f + ", beyond F16's range: load it as F32");
    }
    return h;
  }

  /**
   * The tensor as an F32 NDArray of its shape, attached to {@code manager}. The data is copied
   * (F32) or widened (F16/BF16) into a fresh array, never aliasing the mapping.
   */
  public NDArray toNDArray(NDManager manager, String name) {
    TensorInfo t = info(name);
    if (!t.dtype().isReadableAsFloat()) {
      throw new SafeTensorsException(
          "tensor '" + name + "' is " + t.dtype() + "; toNDArray reads F32, F16, BF16");
    }
    long bytes = t.numel() * 4;
    if (bytes > Integer.MAX_VALUE) {
      throw new SafeTensorsException(
          "tensor '" + name + "' needs " + bytes + " bytes as F32, over the 2 GiB buffer limit");
    }
    NDArray array = allocate(manager, new Shape(t.shape()), DataType.FLOAT32);
    java.nio.FloatBuffer fo = writable(array).asFloatBuffer();
    forEachChunk(
        t,
        buf -> {
          switch (t.dtype()) {
            case F32 -> fo.put(buf.asFloatBuffer());
            case F16 -> {
              while (buf.hasRemaining()) {
                fo.put(HalfFloats.f16ToFloat(buf.getShort()));
              }
            }
            case BF16 -> {
              while (buf.hasRemaining()) {
                fo.put(HalfFloats.bf16ToFloat(buf.getShort()));
              }
            }
            default -> throw new IllegalStateException();
          }
        });
    return array;
  }

  /**
   * Maps the tensor's data read-only in chunks (each a whole number of elements) and hands each,
   * little-endian, to {@code sink}.
   */
  private void forEachChunk(TensorInfo t, java.util.function.Consumer<ByteBuffer> sink) {
    FileChannel ch = channels.get(t.file());
    if (ch == null || !ch.isOpen()) {
      throw new SafeTensorsException("safetensors " + t.file() + " is closed");
    }
    long chunk = CHUNK - CHUNK % t.dtype().bytes();
    try {
      for (long off = 0; off < t.byteLength(); off += chunk) {
        long len = Math.min(chunk, t.byteLength() - off);
        MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, t.dataStart() + off, len);
        m.order(ByteOrder.LITTLE_ENDIAN);
        sink.accept(m);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot map tensor '" + t.name() + "' of " + t.file(), e);
    }
  }

  @Override
  public void close() {
    channels.values().forEach(SafeTensors::closeQuietly);
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // closing a read-only channel: nothing to recover
    }
  }
}
