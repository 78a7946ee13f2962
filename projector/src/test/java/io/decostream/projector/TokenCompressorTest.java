package io.decostream.projector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TokenCompressorTest {

  @ParameterizedTest(name = "\"{0}\"")
  @CsvSource({
    "avg:12, AVG, 12, 12",
    "average:12, AVG, 12, 12",
    "AVG:12x10, AVG, 12, 10",
    "max:12x12, MAX, 12, 12",
    "' max : 8 ', MAX, 8, 8",
    "12, AVG, 12, 12",
    "20x16, AVG, 20, 16",
    "none, NONE, 0, 0",
    "None:24, NONE, 24, 24"
  })
  void parsesAndRoundTrips(String spec, PoolingMode mode, int h, int w) {
    TokenCompressor c = TokenCompressor.parse(spec);
    assertEquals(new TokenCompressor(mode, h, w), c);
    assertEquals(c, TokenCompressor.parse(c.spec()));
    assertEquals(c, TokenCompressor.parse(c.toString()));
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(
      strings = {
        "",
        "  ",
        "avg",
        "max",
        "mean:12",
        "avg:",
        "avg:0",
        "avg:-3",
        "avg:12x",
        "avg:axb",
        "max:12x12x3",
        "12x0",
        "x12"
      })
  void rejectsBadSpecsWithTheText(String spec) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TokenCompressor.parse(spec));
    assertTrue(e.getMessage().contains("spec") || e.getMessage().contains("mode"), e.getMessage());
  }

  @Test
  void parseNullAndModeErrors() {
    assertThrows(IllegalArgumentException.class, () -> TokenCompressor.parse(null));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> PoolingMode.parse("mean"));
    assertTrue(e.getMessage().contains("avg, average, max or none"), e.getMessage());
    assertEquals(PoolingMode.AVG, PoolingMode.parse(" Average "));
    assertEquals(PoolingMode.MAX, PoolingMode.parse("MAX"));
    assertEquals(PoolingMode.NONE, PoolingMode.parse("none"));
  }

  @Test
  void validatesAtConstruction() {
    assertThrows(IllegalArgumentException.class, () -> new TokenCompressor(PoolingMode.AVG, 0, 12));
    assertThrows(
        IllegalArgumentException.class, () -> new TokenCompressor(PoolingMode.MAX, 12, -1));
    assertThrows(IllegalArgumentException.class, () -> new TokenCompressor(PoolingMode.NONE, 0, 5));
    assertThrows(NullPointerException.class, () -> new TokenCompressor(null, 12, 12));
  }

  @Test
  void decoDefaultCompresses576To144() {
    TokenCompressor c = TokenCompressor.deco(12);
    assertEquals(PoolingMode.AVG, c.mode());
    assertEquals(144, c.tokens());
    int dim = 4;
    float[] x = new float[576 * dim];
    Random r = new Random(3);
    for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
    float[] y = c.compress(x, 24, 24, dim);
    assertArrayEquals(AdaptivePool2d.pool(x, 24, 24, dim, 12, 12, PoolingMode.AVG), y);
    // token (r=1,c=2) averages patches rows 2..3, cols 4..5, channel 3
    float expect =
        (x[(2 * 24 + 4) * dim + 3]
                + x[(2 * 24 + 5) * dim + 3]
                + x[(3 * 24 + 4) * dim + 3]
                + x[(3 * 24 + 5) * dim + 3])
            / 2
            / 2;
    assertEquals(expect, y[(12 + 2) * dim + 3]);
  }

  @Test
  void noneKeepsTheGrid() {
    float[] x = {1, 2, 3, 4, 5, 6};
    TokenCompressor any = TokenCompressor.parse("none");
    assertArrayEquals(x, any.compress(x, 1, 3, 2));
    assertEquals(3, any.tokens(1, 3));
    assertThrows(IllegalStateException.class, any::tokens);
    TokenCompressor fixed = TokenCompressor.parse("none:24");
    assertEquals(576, fixed.tokens());
    assertThrows(IllegalArgumentException.class, () -> fixed.compress(x, 1, 3, 2));
  }

  @Test
  void queryToPatchPerMode() {
    float[] x = new float[16 * 2];
    Random r = new Random(5);
    for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
    assertArrayEquals(
        AdaptivePool2d.averagingMatrix(4, 4, 2, 2),
        TokenCompressor.parse("avg:2").queryToPatch(null, 4, 4, 2));
    assertArrayEquals(
        AdaptivePool2d.maxSelectionMatrix(x, 4, 4, 2, 2, 2),
        TokenCompressor.parse("max:2").queryToPatch(x, 4, 4, 2));
    float[] id = TokenCompressor.none().queryToPatch(null, 4, 4, 2);
    for (int i = 0; i < 16; i++)
      for (int j = 0; j < 16; j++) assertEquals(i == j ? 1f : 0f, id[i * 16 + j]);
  }
}
