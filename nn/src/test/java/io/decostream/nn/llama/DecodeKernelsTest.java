package io.decostream.nn.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.decostream.nn.safetensors.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The decode kernels against exact references: the F16 and BF16 widening (issue 20 point 3) against
 * the exact conversions, the row-quad kernels against the one-row kernels bit for bit, attention's
 * softmax and A·V against sums in double.
 */
class DecodeKernelsTest {

  /** The 16-bit formats as the kernels read them, with the exact conversion beside each. */
  private enum Half {
    F16 {
      @Override
      float exact(short h) {
        return HalfFloats.f16ToFloat(h);
      }

      @Override
      float kernel(int h) {
        return DecodeKernels.half(h);
      }

      @Override
      boolean finite(int h) {
        return (h & 0x7C00) != 0x7C00; // infinities and NaNs: the load refuses them
      }

      @Override
      short random(SplittableRandom r, int i) {
        return switch (i % 4) {
          case 0 -> HalfFloats.floatToF16((float) r.nextGaussian());
          case 1 -> (short) r.nextInt(0x400); // subnormal
          case 2 -> (short) (0x8000 | r.nextInt(0x400)); // negative subnormal or -0
          default -> HalfFloats.floatToF16((float) r.nextGaussian() * 1e4f);
        };
      }

      @Override
      float xScale() {
        return 1;
      }

      @Override
      float dot(NativeView w, int row, int cols, float[] even, float[] odd) {
        return DecodeKernels.dotF16(w, row, cols, even, odd);
      }
    },
    BF16 {
      @Override
      float exact(short b) {
        return HalfFloats.bf16ToFloat(b);
      }

      @Override
      float kernel(int b) {
        return DecodeKernels.bf16(b);
      }

      @Override
      boolean finite(int b) {
        return true; // every bit pattern, NaNs included, widens to the same bits
      }

      @Override
      short random(SplittableRandom r, int i) {
        return switch (i % 4) {
          case 0 -> HalfFloats.floatToBf16((float) r.nextGaussian());
          case 1 -> (short) r.nextInt(0x80); // subnormal or +0
          case 2 -> (short) (0x8000 | r.nextInt(0x80)); // negative subnormal or -0
          default -> HalfFloats.floatToBf16((float) r.nextGaussian() * 1e20f);
        };
      }

      @Override
      float xScale() {
        return 1e-20f; // BF16 reaches far beyond F16: inputs small enough to keep sums finite
      }

      @Override
      float dot(NativeView w, int row, int cols, float[] even, float[] odd) {
        return DecodeKernels.dotBF16(w, row, cols, even, odd);
      }
    };

    abstract float exact(short h);

    abstract float kernel(int h);

    abstract boolean finite(int h);

    abstract short random(SplittableRandom r, int i);

    abstract float xScale();

    abstract float dot(NativeView w, int row, int cols, float[] even, float[] odd);
  }

  @ParameterizedTest
  @EnumSource(Half.class)
  void everyValueWidensExactly(Half f) {
    for (int h = 0; h < 0x10000; h++) {
      if (!f.finite(h)) {
        continue;
      }
      float expected = f.exact((short) h);
      assertEquals(
          Float.floatToRawIntBits(expected),
          Float.floatToRawIntBits(f.kernel(h)),
          f + " 0x" + Integer.toHexString(h));
      assertEquals(
          Float.floatToRawIntBits(expected),
          Float.floatToRawIntBits(f.kernel((short) h)),
          "sign-extended " + f + " 0x" + Integer.toHexString(h));
    }
  }

  @ParameterizedTest
  @EnumSource(Half.class)
  void vectorRowsEqualTheScalarSumOfExactlyWidenedValues(Half f) {
    SplittableRandom r = new SplittableRandom(3);
    for (int cols : new int[] {2, 14, 64, 70, 768}) {
      ByteBuffer w = ByteBuffer.allocateDirect(cols * 2 * 3).order(ByteOrder.LITTLE_ENDIAN);
      short[] bits = new short[cols * 3];
      for (int i = 0; i < bits.length; i++) {
        // every kind of value: normals, subnormals, signed zeros
        bits[i] = f.random(r, i);
        w.putShort(i * 2, bits[i]);
      }
      float[] x = new float[cols];
      for (int i = 0; i < cols; i++) {
        x[i] = (float) r.nextGaussian() * f.xScale();
      }
      float[] even = new float[cols / 2];
      float[] odd = new float[cols / 2];
      DecodeKernels.deinterleave(x, cols, even, odd);
      for (int row = 0; row < 3; row++) {
        double exact = 0;
        double scale = 0;
        for (int c = 0; c < cols; c++) {
          double p = (double) f.exact(bits[row * cols + c]) * x[c];
          exact += p;
          scale += Math.abs(p);
        }
        float got = f.dot(NativeView.of(w), row, cols, even, odd);
        assertEquals(exact, got, 1e-5 * Math.max(1, scale), f + " row " + row + " of " + cols);
      }
    }
  }

  /**
   * The quad kernels give each row the one-row kernel's bits, at every tail length, for quads
   * anywhere in the matrix (decode takes rows s, s + q, s + 2q and s + 3q), and write only their
   * own four rows.
   */
  @Test
  void rowQuadsGiveEachRowTheBitsOfTheOneRowKernels() {
    SplittableRandom r = new SplittableRandom(6);
    int rows = 13;
    for (int cols : new int[] {2, 14, 30, 64, 70, 130, 768}) {
      ByteBuffer f32 = ByteBuffer.allocateDirect(rows * cols * 4).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer f16 = ByteBuffer.allocateDirect(rows * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer bf16 = ByteBuffer.allocateDirect(rows * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < rows * cols; i++) {
        float v = (float) r.nextGaussian();
        f32.putFloat(i * 4, v);
        f16.putShort(i * 2, HalfFloats.floatToF16(v));
        bf16.putShort(i * 2, HalfFloats.floatToBf16(v));
      }
      float[] x = new float[cols];
      for (int i = 0; i < cols; i++) {
        x[i] = (float) r.nextGaussian();
      }
      float[] even = new float[cols / 2];
      float[] odd = new float[cols / 2];
      DecodeKernels.deinterleave(x, cols, even, odd);
      NativeView w32 = NativeView.of(f32);
      NativeView w16 = NativeView.of(f16);
      NativeView wb = NativeView.of(bf16);
      for (int[] p : new int[][] {{0, 3}, {2, 3}, {0, 1}, {9, 1}, {0, 4}}) { // first row, stride
        String at = "rows " + p[0] + " + k*" + p[1] + " of width " + cols;
        float[] a = filled(rows);
        DecodeKernels.dotF32Quad(w32, p[0], p[1], cols, x, a);
        float[] h = filled(rows);
        DecodeKernels.dotF16Quad(w16, p[0], p[1], cols, even, odd, h);
        float[] b = filled(rows);
        DecodeKernels.dotBF16Quad(wb, p[0], p[1], cols, even, odd, b);
        for (int row = 0; row < rows; row++) {
          boolean mine = row >= p[0] && (row - p[0]) % p[1] == 0 && row <= p[0] + 3 * p[1];
          assertBits(mine ? DecodeKernels.dotF32(w32, row, cols, x) : -1f, a[row], "fp32 " + at);
          assertBits(
              mine ? DecodeKernels.dotF16(w16, row, cols, even, odd) : -1f, h[row], "F16 " + at);
          assertBits(
              mine ? DecodeKernels.dotBF16(wb, row, cols, even, odd) : -1f, b[row], "BF16 " + at);
        }
      }
    }
  }

  /**
   * The multi-input quads (a prompt's rows: fp32 four inputs a call, BF16 two; F16's one-input quad
   * beside them) give each (row, input) its dot product over the exactly widened weights within
   * rounding of a double reference, at every tail length and for quads anywhere in the matrix, and
   * write only their own four rows of each output.
   */
  @Test
  void fourInputQuadsGiveEveryRowAndInputItsDotProduct() {
    SplittableRandom r = new SplittableRandom(8);
    int rows = 13;
    for (int cols : new int[] {2, 14, 16, 30, 32, 64, 70, 130, 768}) {
      ByteBuffer f32 = ByteBuffer.allocateDirect(rows * cols * 4).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer f16 = ByteBuffer.allocateDirect(rows * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer bf16 = ByteBuffer.allocateDirect(rows * cols * 2).order(ByteOrder.LITTLE_ENDIAN);
      double[][] wide = new double[3][rows * cols]; // each format's weights, exactly widened
      for (int i = 0; i < rows * cols; i++) {
        float v = (float) r.nextGaussian();
        f32.putFloat(i * 4, v);
        f16.putShort(i * 2, HalfFloats.floatToF16(v));
        bf16.putShort(i * 2, HalfFloats.floatToBf16(v));
        wide[0][i] = v;
        wide[1][i] = HalfFloats.f16ToFloat(f16.getShort(i * 2));
        wide[2][i] = HalfFloats.bf16ToFloat(bf16.getShort(i * 2));
      }
      float[][] x = new float[4][cols];
      float[][] even = new float[4][cols / 2];
      float[][] odd = new float[4][cols / 2];
      for (int in = 0; in < 4; in++) {
        for (int i = 0; i < cols; i++) {
          x[in][i] = (float) r.nextGaussian();
        }
        DecodeKernels.deinterleave(x[in], cols, even[in], odd[in]);
      }
      NativeView w32 = NativeView.of(f32);
      NativeView w16 = NativeView.of(f16);
      NativeView wb = NativeView.of(bf16);
      for (int[] p : new int[][] {{0, 3}, {2, 3}, {0, 1}, {9, 1}, {0, 4}}) { // first row, stride
        float[][][] o = new float[3][4][];
        for (float[][] of : o) {
          for (int in = 0; in < 4; in++) {
            of[in] = filled(rows);
          }
        }
        DecodeKernels.dotF32QuadX4(
            w32, p[0], p[1], cols, x[0], x[1], x[2], x[3], o[0][0], o[0][1], o[0][2], o[0][3]);
        for (int in = 0; in < 4; in++) { // F16 rows take a prompt's inputs one at a time
          DecodeKernels.dotF16Quad(w16, p[0], p[1], cols, even[in], odd[in], o[1][in]);
        }
        for (int in = 0; in < 4; in += 2) {
          DecodeKernels.dotBF16QuadX2(
              wb,
              p[0],
              p[1],
              cols,
              even[in],
              odd[in],
              even[in + 1],
              odd[in + 1],
              o[2][in],
              o[2][in + 1]);
        }
        for (int f = 0; f < 3; f++) {
          for (int in = 0; in < 4; in++) {
            for (int row = 0; row < rows; row++) {
              String at =
                  new String[] {"fp32", "F16", "BF16"}[f]
                      + ", input "
                      + in
                      + ", row "
                      + row
                      + " of width "
                      + cols
                      + ", quad at "
                      + p[0];
              boolean mine = row >= p[0] && (row - p[0]) % p[1] == 0 && row <= p[0] + 3 * p[1];
              if (!mine) {
                assertBits(-1f, o[f][in][row], at);
                continue;
              }
              double want = 0;
              double mag = 0;
              for (int c = 0; c < cols; c++) {
                double t = wide[f][row * cols + c] * x[in][c];
                want += t;
                mag += Math.abs(t);
              }
              assertEquals(want, o[f][in][row], 1e-6 * mag + 1e-30, at);
            }
          }
        }
      }
    }
  }

  private static float[] filled(int n) {
    float[] a = new float[n];
    java.util.Arrays.fill(a, -1f);
    return a;
  }

  private static void assertBits(float expected, float actual, String what) {
    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual), what);
  }

  @Test
  void theGateIsSiluTimesUpAsADoubleReferenceAtEveryTailLength() {
    SplittableRandom r = new SplittableRandom(11);
    for (int n : new int[] {1, 15, 16, 17, 37, 2048}) {
      float[] g = new float[n];
      float[] u = new float[n];
      for (int i = 0; i < n; i++) {
        g[i] = (float) r.nextDouble(-12, 12);
        u[i] = (float) r.nextDouble(-3, 3);
      }
      g[0] =
          n > 1 ? -100f : 100f; // exp(-g) overflows to infinity (or underflows): silu is 0 (or g)
      float[] in = g.clone();
      DecodeKernels.siluTimes(g, u, n);
      for (int i = 0; i < n; i++) {
        double x = in[i];
        double want = x / (1 + Math.exp(-x)) * u[i];
        assertEquals(want, g[i], 1e-6 * Math.max(1, Math.abs(want)), "element " + i + " of " + n);
      }
    }
  }

  @Test
  void softmaxAndWeightedRowsMatchADoubleReferenceAtEveryTailLength() {
    SplittableRandom r = new SplittableRandom(5);
    // counts and row widths around the vector length (4 to 16 lanes) and its multiples
    for (int count : new int[] {1, 3, 15, 16, 17, 70, 513}) {
      for (int n : new int[] {1, 7, 16, 64, 70, 128}) {
        int from = 3; // rows start mid-array, as a head's scores do
        float[] s = new float[from + count + 2];
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < count; t++) {
          s[from + t] = (float) (r.nextGaussian() * 4);
          max = Math.max(max, s[from + t]);
        }
        double[] p = new double[count];
        double z = 0;
        for (int t = 0; t < count; t++) {
          p[t] = Math.exp((double) s[from + t] - max);
          z += p[t];
        }
        DecodeKernels.softmaxShifted(s, from, count, max);
        for (int t = 0; t < count; t++) {
          assertEquals(p[t] / z, s[from + t], 1e-6, "p[" + t + "] of " + count);
        }
        int vByte = 8; // a head's values start inside the cache's buffer
        ByteBuffer v =
            ByteBuffer.allocateDirect(vByte + count * n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count * n; i++) {
          v.putFloat(vByte + i * 4, (float) r.nextGaussian());
        }
        float[] out = new float[n + 5];
        out[1] = 42f; // the kernel writes [2, 2+n) only
        DecodeKernels.weightedRows(s, from, count, NativeView.of(v), vByte, n, out, 2);
        assertEquals(42f, out[1]);
        for (int c = 0; c < n; c++) {
          double e = 0;
          for (int t = 0; t < count; t++) {
            e += (double) s[from + t] * v.getFloat(vByte + (t * n + c) * 4);
          }
          assertEquals(e, out[2 + c], 1e-5, "column " + c + " of " + n + ", " + count + " rows");
        }
        assertEquals(0f, out[2 + n]);
      }
    }
  }

  @Test
  void rowsInLanesAttendCausallyAsADoubleReference() {
    SplittableRandom r = new SplittableRandom(9);
    int lanes = DecodeKernels.LANES;
    for (int hd : new int[] {6, 64}) {
      for (int first : new int[] {0, 1, 40}) {
        for (int rows : new int[] {1, 3, lanes}) {
          int count = first + rows;
          int kvByte = 16; // a KV head starts inside the cache's buffer
          ByteBuffer k =
              ByteBuffer.allocateDirect(kvByte + count * hd * 4).order(ByteOrder.LITTLE_ENDIAN);
          ByteBuffer v =
              ByteBuffer.allocateDirect(kvByte + count * hd * 4).order(ByteOrder.LITTLE_ENDIAN);
          for (int i = 0; i < count * hd; i++) {
            k.putFloat(kvByte + i * 4, (float) r.nextGaussian());
            v.putFloat(kvByte + i * 4, (float) r.nextGaussian());
          }
          float[][] q = new float[rows][hd];
          int qAt = 5;
          float[] qt = new float[qAt + hd * lanes];
          for (int j = 0; j < rows; j++) {
            for (int d = 0; d < hd; d++) {
              q[j][d] = (float) r.nextGaussian();
              qt[qAt + d * lanes + j] = q[j][d];
            }
          }
          float[] scores = new float[2 + (count + 1) * lanes];
          float[] out = new float[3 + hd * lanes];
          DecodeKernels.attendLanes(
              qt,
              qAt,
              hd,
              rows,
              first,
              NativeView.of(k),
              NativeView.of(v),
              kvByte,
              8f,
              scores,
              2,
              out,
              3);
          for (int j = 0; j < rows; j++) {
            int seen = first + j + 1; // row j reads keys 0..first+j
            double[] p = new double[seen];
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < seen; t++) {
              double dot = 0;
              for (int d = 0; d < hd; d++) {
                dot += q[j][d] * k.getFloat(kvByte + (t * hd + d) * 4);
              }
              p[t] = dot / 8;
              max = Math.max(max, p[t]);
            }
            double z = 0;
            for (int t = 0; t < seen; t++) {
              p[t] = Math.exp(p[t] - max);
              z += p[t];
            }
            for (int d = 0; d < hd; d++) {
              double e = 0;
              for (int t = 0; t < seen; t++) {
                e += p[t] / z * v.getFloat(kvByte + (t * hd + d) * 4);
              }
              assertEquals(
                  e,
                  out[3 + d * lanes + j],
                  1e-5,
                  "hd " + hd + ", first " + first + ", row " + j + " of " + rows + ", column " + d);
            }
          }
        }
      }
    }
  }
}
