package io.decostream.projector;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Minimal reader for the hand-written safetensors fixtures of make_pool_goldens.py (spec §6): u64
 * LE header length, compact JSON header, raw LE data. F32 and I32 only; test code only.
 */
final class Golden {
  record Tensor(String dtype, long[] shape, ByteBuffer data) {
    float[] f32() {
      if (!dtype.equals("F32")) throw new IllegalStateException("not F32: " + dtype);
      float[] a = new float[data.remaining() / 4];
      data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a);
      return a;
    }

    int[] i32() {
      if (!dtype.equals("I32")) throw new IllegalStateException("not I32: " + dtype);
      int[] a = new int[data.remaining() / 4];
      data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(a);
      return a;
    }
  }

  private static final Pattern ENTRY =
      Pattern.compile(
          "\"([^\"]+)\":\\{\"dtype\":\"(\\w+)\",\"shape\":\\[([0-9,]*)\\],\"data_offsets\":\\[(\\d+),(\\d+)\\]\\}");

  static Map<String, Tensor> load(String resource) {
    try (InputStream in = Golden.class.getResourceAsStream("/golden/" + resource)) {
      if (in == null) throw new IllegalStateException("missing fixture /golden/" + resource);
      ByteBuffer all = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
      int n = Math.toIntExact(all.getLong(0));
      String header = new String(all.array(), 8, n, StandardCharsets.UTF_8);
      Map<String, Tensor> out = new HashMap<>();
      Matcher m = ENTRY.matcher(header);
      while (m.find()) {
        String[] dims = m.group(3).isEmpty() ? new String[0] : m.group(3).split(",");
        long[] shape = new long[dims.length];
        for (int i = 0; i < dims.length; i++) shape[i] = Long.parseLong(dims[i]);
        int b = 8 + n + Integer.parseInt(m.group(4));
        int e = 8 + n + Integer.parseInt(m.group(5));
        out.put(m.group(1), new Tensor(m.group(2), shape, all.slice(b, e - b)));
      }
      if (out.isEmpty()) throw new IllegalStateException("no tensors in " + resource);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Max absolute difference; NaNs must sit at the same places (and are then skipped). */
  static double absErr(float[] actual, float[] expected) {
    if (actual.length != expected.length) {
      throw new AssertionError("length " + actual.length + " != " + expected.length);
    }
    double maxDiff = 0;
    for (int i = 0; i < actual.length; i++) {
      if (Float.isNaN(expected[i]) != Float.isNaN(actual[i])) {
        throw new AssertionError("NaN mismatch at " + i + ": " + actual[i] + " vs " + expected[i]);
      }
      if (!Float.isNaN(expected[i])) {
        maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
      }
    }
    return maxDiff;
  }

  /** Spec §8 tolerance rule: max|a-b| / max(1, max|b|). */
  static double relErr(float[] actual, float[] expected) {
    double maxRef = 1;
    for (float v : expected) {
      if (!Float.isNaN(v)) maxRef = Math.max(maxRef, Math.abs(v));
    }
    return absErr(actual, expected) / maxRef;
  }

  private Golden() {}
}
