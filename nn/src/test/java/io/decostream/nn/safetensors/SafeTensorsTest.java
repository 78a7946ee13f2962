package io.decostream.nn.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

  @TempDir Path tmp;

  static Path golden(String rel) {
    try {
      return Path.of(SafeTensorsTest.class.getResource("/golden/" + rel).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private static float[] randomFloats(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (r.nextGaussian() * 2);
    }
    return a;
  }

  @Test
  void roundTripAllDtypes() {
    Random r = new Random(7);
    float[] f = randomFloats(r, 2 * 3 * 5);
    long[] ids = {1, -2, 3L << 40, Long.MAX_VALUE};
    Path file = tmp.resolve("rt.safetensors");
    new SafeTensorsWriter()
        .metadata("format", "pt")
        .addF32("a.f32", new long[] {2, 3, 5}, f)
        .add("a.f16", DType.F16, new long[] {30}, f)
        .add("a.bf16", DType.BF16, new long[] {5, 6}, f)
        .addI64("ids", new long[] {4}, ids)
        .addLongs("ids32", DType.I32, new long[] {2, 1}, new long[] {7, -9})
        .addF32("scalar", new long[] {}, new float[] {4.25f})
        .addF32("empty", new long[] {0, 3}, new float[0])
        .write(file);
    try (SafeTensors st = SafeTensors.open(file)) {
      assertEquals(
          List.of("a.f32", "a.f16", "a.bf16", "ids", "ids32", "scalar", "empty"),
          List.copyOf(st.names()));
      assertEquals("pt", st.metadata().get("format"));
      assertEquals(DType.F16, st.info("a.f16").dtype());
      assertArrayEquals(new long[] {5, 6}, st.info("a.bf16").shape());
      assertArrayEquals(f, st.readFloats("a.f32"));
      float[] h = st.readFloats("a.f16");
      float[] b = st.readFloats("a.bf16");
      for (int i = 0; i < f.length; i++) {
        // narrowing then widening is the nearest representable value
        assertEquals(HalfFloats.f16ToFloat(HalfFloats.floatToF16(f[i])), h[i]);
        assertEquals(f[i], h[i], Math.abs(f[i]) * 0x1p-11 + 1e-7);
        assertEquals(f[i], b[i], Math.abs(f[i]) * 0x1p-8);
      }
      assertArrayEquals(ids, st.readLongs("ids"));
      assertArrayEquals(new long[] {7, -9}, st.readLongs("ids32"));
      assertArrayEquals(new float[] {4.25f}, st.readFloats("scalar"));
      assertEquals(0, st.readFloats("empty").length);
      assertThrows(SafeTensorsException.class, () -> st.readLongs("a.f32"));
      assertThrows(SafeTensorsException.class, () -> st.readFloats("ids"));
      SafeTensorsException missing =
          assertThrows(SafeTensorsException.class, () -> st.info("nope"));
      assertTrue(missing.getMessage().contains("nope"));
      try (NDManager m = NDManager.newBaseManager()) {
        NDArray a = st.toNDArray(m, "a.bf16");
        assertEquals(new ai.djl.ndarray.types.Shape(5, 6), a.getShape());
        assertArrayEquals(b, a.toFloatArray());
        // the array is writable: an in-place op must not touch the mapping
        a.addi(1f);
        assertArrayEquals(b, st.readFloats("a.bf16"));
      }
    }
  }

  @Test
  void shardedRoundTrip() throws IOException {
    Random r = new Random(11);
    SafeTensorsWriter w = new SafeTensorsWriter();
    for (int i = 0; i < 7; i++) {
      w.add(
          "layers." + i + ".weight",
          i % 2 == 0 ? DType.F32 : DType.BF16,
          new long[] {4, i + 1},
          randomFloats(r, 4 * (i + 1)));
    }
    List<Path> shards = w.writeSharded(tmp, 3);
    assertEquals(3, shards.size());
    assertTrue(Files.exists(tmp.resolve(SafeTensors.INDEX_FILE)));
    try (SafeTensors st = SafeTensors.open(tmp)) {
      assertEquals(7, st.names().size());
      long distinctFiles = st.names().stream().map(n -> st.info(n).file()).distinct().count();
      assertEquals(3, distinctFiles);
      for (String n : w.entries().keySet()) {
        SafeTensorsWriter.Entry e = w.entries().get(n);
        float[] got = st.readFloats(n);
        for (int i = 0; i < got.length; i++) {
          float want =
              e.dtype() == DType.BF16
                  ? HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(e.floats()[i]))
                  : e.floats()[i];
          assertEquals(
              Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]), n + "[" + i + "]");
        }
      }
    }
  }

  @Test
  void indexNamingAWrongShardFails() throws IOException {
    new SafeTensorsWriter()
        .addF32("x", new long[] {1}, new float[] {1})
        .addF32("y", new long[] {1}, new float[] {2})
        .writeSharded(tmp, 2);
    Path idx = tmp.resolve(SafeTensors.INDEX_FILE);
    Files.writeString(
        idx,
        Files.readString(idx)
            .replace("\"x\" : \"model-00001-of-00002", "\"x\" : \"model-00002-of-00002"));
    SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(tmp));
    assertTrue(e.getMessage().contains("'x'"), e.getMessage());
  }

  @Test
  void malformedFilesFailClearly() throws IOException {
    Path bad = tmp.resolve("bad.safetensors");
    Files.write(bad, new byte[] {1, 2, 3});
    assertThrows(SafeTensorsException.class, () -> SafeTensors.open(bad));
    // header says 1000 bytes of JSON but the file is shorter
    ByteBuffer b =
        ByteBuffer.allocate(16)
            .order(ByteOrder.LITTLE_ENDIAN)
            .putLong(1000)
            .put("{}      ".getBytes());
    Files.write(bad, b.array());
    assertThrows(SafeTensorsException.class, () -> SafeTensors.open(bad));
    // data_offsets do not match the shape
    String hdr = "{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";
    ByteBuffer c =
        ByteBuffer.allocate(8 + hdr.length() + 8)
            .order(ByteOrder.LITTLE_ENDIAN)
            .putLong(hdr.length())
            .put(hdr.getBytes());
    Files.write(bad, c.array());
    SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(bad));
    assertTrue(e.getMessage().contains("'t'"), e.getMessage());
  }

  /**
   * Fixture written by plain PyTorch (golden/safetensors/make_fixture.py): widening and narrowing
   * are bitwise torch's.
   */
  @Test
  void matchesPyTorchBitForBit() {
    try (SafeTensors st = SafeTensors.open(golden("safetensors/fixture.safetensors"))) {
      assertEquals("pt", st.metadata().get("format"));
      float[] src = st.readFloats("src");
      float[] f16 = st.readFloats("src_f16");
      float[] f16ref = st.readFloats("src_f16_f32");
      float[] bf16 = st.readFloats("src_bf16");
      float[] bf16ref = st.readFloats("src_bf16_f32");
      byte[] f16raw = st.readBytes("src_f16");
      byte[] bf16raw = st.readBytes("src_bf16");
      ByteBuffer h = ByteBuffer.wrap(f16raw).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer bb = ByteBuffer.wrap(bf16raw).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < src.length; i++) {
        assertEquals(
            Float.floatToRawIntBits(f16ref[i]),
            Float.floatToRawIntBits(f16[i]),
            "F16 widening at " + i);
        assertEquals(
            Float.floatToRawIntBits(bf16ref[i]),
            Float.floatToRawIntBits(bf16[i]),
            "BF16 widening at " + i);
        short th = h.getShort(2 * i);
        short tb = bb.getShort(2 * i);
        if (Float.isNaN(src[i])) {
          // NaN payloads differ between torch's scalar and vectorised kernels (0x7FC0 / 0xFFFF):
          // only NaN-ness matters
          assertTrue(
              Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(src[i])))
                  && Float.isNaN(f16ref[i]));
          assertTrue(
              Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(src[i])))
                  && Float.isNaN(bf16ref[i]));
          continue;
        }
        assertEquals(th, HalfFloats.floatToF16(src[i]), "F16 narrowing of " + src[i] + " at " + i);
        assertEquals(
            tb, HalfFloats.floatToBf16(src[i]), "BF16 narrowing of " + src[i] + " at " + i);
      }
      assertArrayEquals(new long[] {1, 319, 13563, 1546, 32000, -7, 1L << 40}, st.readLongs("ids"));
      assertArrayEquals(new long[] {1, 2, 3, 32000, 32001, -1}, st.readLongs("ids32"));
      assertArrayEquals(new long[] {2, 3}, st.info("ids32").shape());
      float[] m3 = st.readFloats("m3");
      for (int i = 0; i < 24; i++) {
        assertEquals(i * 0.5f - 3f, m3[i]);
      }
    }
  }
}
