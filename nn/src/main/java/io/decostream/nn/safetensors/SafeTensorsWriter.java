package io.decostream.nn.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files (spec §6): F32 / F16 / BF16 from float data (narrowed with
 * round-to-nearest-even, as PyTorch does), I64 / I32 from long data, optional {@code __metadata__};
 * and sharded checkpoints ({@code model-0000i-of-0000N.safetensors} + {@value
 * SafeTensors#INDEX_FILE}). Tensors keep insertion order. Used for test fixtures and the tiny
 * random pack.
 */
public final class SafeTensorsWriter {

  /** One tensor to write: exactly one of {@code floats} / {@code longs} is non-null. */
  public record Entry(DType dtype, long[] shape, float[] floats, long[] longs) {
    public Entry {
      shape = shape.clone();
      long n = TensorInfo.numel(shape);
      if ((floats == null) == (longs == null)) {
        throw new IllegalArgumentException("an entry holds either float or long data");
      }
      if (floats != null && !dtype.isReadableAsFloat()) {
        throw new IllegalArgumentException(
            "float data can be written as F32, F16 or BF16, not " + dtype);
      }
      if (longs != null && dtype != DType.I64 && dtype != DType.I32) {
        throw new IllegalArgumentException("long data can be written as I64 or I32, not " + dtype);
      }
      int len = floats != null ? floats.length : longs.length;
      if (len != n) {
        throw new IllegalArgumentException(
            "shape " + Arrays.toString(shape) + " has " + n + " elements but data has " + len);
      }
    }

    long byteLength() {
      return TensorInfo.numel(shape) * dtype.bytes();
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
  private final LinkedHashMap<String, String> metadata = new LinkedHashMap<>();

  /** Adds a float tensor written as {@code dtype} (F32, F16 or BF16). */
  public SafeTensorsWriter add(String name, DType dtype, long[] shape, float[] data) {
    return put(name, new Entry(dtype, shape, data, null));
  }

  /** Adds an F32 tensor. */
  public SafeTensorsWriter addF32(String name, long[] shape, float[] data) {
    return add(name, DType.F32, shape, data);
  }

  /** Adds an integer tensor written as {@code dtype} (I64 or I32). */
  public SafeTensorsWriter addLongs(String name, DType dtype, long[] shape, long[] data) {
    return put(name, new Entry(dtype, shape, null, data));
  }

  /** Adds an I64 tensor (token ids). */
  public SafeTensorsWriter addI64(String name, long[] shape, long[] data) {
    return addLongs(name, DType.I64, shape, data);
  }

  /** Adds a prepared entry. */
  public SafeTensorsWriter put(String name, Entry e) {
    if (name == null || name.isEmpty() || "__metadata__".equals(name)) {
      throw new IllegalArgumentException("invalid tensor name '" + name + "'");
    }
    if (entries.putIfAbsent(name, e) != null) {
      throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
    }
    return this;
  }

  /** Adds a {@code __metadata__} entry (string to string). */
  public SafeTensorsWriter metadata(String key, String value) {
    metadata.put(key, value);
    return this;
  }

  /** The tensors added so far, in order (read-only view). */
  public Map<String, Entry> entries() {
    return java.util.Collections.unmodifiableMap(entries);
  }

  /** Writes every tensor into one file. */
  public void write(Path file) {
    writeFile(file, new ArrayList<>(entries.keySet()), metadata);
  }

  /**
   * Writes the tensors into {@code shards} files {@code model-0000i-of-0000N.safetensors} in {@code
   * dir} (contiguous runs of about equal byte size, in insertion order) plus {@value
   * SafeTensors#INDEX_FILE}.
   *
   * @return the shard files written
   */
  public List<Path> writeSharded(Path dir, int shards) {
    if (shards < 1 || shards > entries.size()) {
      throw new IllegalArgumentException(
          "shards must be in [1, " + entries.size() + "], got " + shards);
    }
    long total = entries.values().stream().mapToLong(Entry::byteLength).sum();
    List<List<String>> groups = new ArrayList<>();
    for (int i = 0; i < shards; i++) {
      groups.add(new ArrayList<>());
    }
    List<String> names = new ArrayList<>(entries.keySet());
    long acc = 0;
    int g = 0;
    for (int i = 0; i < names.size(); i++) {
      // leave at least one tensor for each remaining shard
      int remainingShards = shards - 1 - g;
      int remainingTensors = names.size() - i;
      if (g < shards - 1
          && !groups.get(g).isEmpty()
          && (acc >= total * (g + 1) / shards || remainingTensors == remainingShards)) {
        g++;
      }
      groups.get(g).add(names.get(i));
      acc += entries.get(names.get(i)).byteLength();
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<Path> files = new ArrayList<>();
    ObjectNode index = JSON.createObjectNode();
    index.putObject("metadata").put("total_size", total);
    ObjectNode weightMap = index.putObject("weight_map");
    for (int i = 0; i < shards; i++) {
      String fname = String.format("model-%05d-of-%05d.safetensors", i + 1, shards);
      Path f = dir.resolve(fname);
      writeFile(f, groups.get(i), metadata);
      files.add(f);
      for (String n : groups.get(i)) {
        weightMap.put(n, fname);
      }
    }
    try {
      JSON.writerWithDefaultPrettyPrinter()
          .writeValue(dir.resolve(SafeTensors.INDEX_FILE).toFile(), index);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files;
  }

  private void writeFile(Path file, List<String> names, Map<String, String> meta) {
    ObjectNode header = JSON.createObjectNode();
    if (!meta.isEmpty()) {
      ObjectNode m = header.putObject("__metadata__");
      meta.forEach(m::put);
    }
    long offset = 0;
    for (String n : names) {
      Entry e = entries.get(n);
      ObjectNode t = header.putObject(n);
      t.put("dtype", e.dtype().name());
      ArrayNode sh = t.putArray("shape");
      for (long d : e.shape()) {
        sh.add(d);
      }
      ArrayNode off = t.putArray("data_offsets");
      off.add(offset);
      offset += e.byteLength();
      off.add(offset);
    }
    byte[] json;
    try {
      json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
    // pad the header with spaces to a multiple of 8 so the data buffer is aligned (as the reference
    // writer does)
    int padded = (json.length + 7) / 8 * 8;
    byte[] hdr = Arrays.copyOf(json, padded);
    Arrays.fill(hdr, json.length, padded, (byte) ' ');
    try {
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        out.write(len.array());
        out.write(hdr);
        for (String n : names) {
          writeData(out, entries.get(n));
        }
      }
    } catch (IOException ex) {
      throw new UncheckedIOException("cannot write " + file, ex);
    }
  }

  private static void writeData(OutputStream out, Entry e) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    int n = e.floats() != null ? e.floats().length : e.longs().length;
    for (int i = 0; i < n; i++) {
      if (buf.remaining() < 8) {
        out.write(buf.array(), 0, buf.position());
        buf.clear();
      }
      switch (e.dtype()) {
        case F32 -> buf.putFloat(e.floats()[i]);
        case F16 -> buf.putShort(HalfFloats.floatToF16(e.floats()[i]));
        case BF16 -> buf.putShort(HalfFloats.floatToBf16(e.floats()[i]));
        case I64 -> buf.putLong(e.longs()[i]);
        case I32 -> buf.putInt(Math.toIntExact(e.longs()[i]));
        default -> throw new IllegalStateException(e.dtype().name());
      }
    }
    out.write(buf.array(), 0, buf.position());
  }
}
