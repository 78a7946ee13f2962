package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.rgae.TextToPatch;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Tensors;
import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroundingPicturesTest {

  static int brightness(int rgb) {
    return ((rgb >> 16) & 255) + ((rgb >> 8) & 255) + (rgb & 255);
  }

  /** How far the overlay moved a pixel from the frame under it: |dR| + |dG| + |dB|. */
  static int heat(int over, int base) {
    return Math.abs(((over >> 16) & 255) - ((base >> 16) & 255))
        + Math.abs(((over >> 8) & 255) - ((base >> 8) & 255))
        + Math.abs((over & 255) - (base & 255));
  }

  /**
   * A 336x336 frame where every pixel's colour tells where it is (red grows left to right, green
   * top to bottom), so a picture drawn over a moved or flipped frame cannot match it.
   */
  static BufferedImage gradientFrame() {
    BufferedImage f = new BufferedImage(336, 336, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 336; y++) {
      for (int x = 0; x < 336; x++) {
        f.setRGB(x, y, ((x * 255 / 335) << 16) | ((y * 255 / 335) << 8) | 0x50);
      }
    }
    return f;
  }

  static BufferedImage flatFrame(int rgb) {
    BufferedImage f = new BufferedImage(336, 336, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 336; y++) {
      for (int x = 0; x < 336; x++) {
        f.setRGB(x, y, rgb);
      }
    }
    return f;
  }

  /** A token's box in pixels of a 336x336 frame on the shipped model's 6x6 token grid. */
  record TokenBox(int row, int col) {
    int x0() {
      return col * 56;
    }

    int y0() {
      return row * 56;
    }

    /** Whether pixel (x, y) lies within {@code margin} pixels of the box. */
    boolean near(int x, int y, int margin) {
      return x >= x0() - margin
          && x < x0() + 56 + margin
          && y >= y0() - margin
          && y < y0() + 56 + margin;
    }

    int index() {
      return row * 6 + col;
    }
  }

  /**
   * The picture of an answer whose relevance sits on known tokens, through the real chain: a
   * Text-to-Query row over 2 frames x 36 tokens (the shipped model's 6x6 grid), mapped to the 12x12
   * patch grid by average pooling's Query-to-Patch (TextToPatch), written as PNGs by {@link
   * GroundingRender} (the demo's {@code --grounding-dir} path) and read back. Frame 7 holds all the
   * relevance: most on the token at row 1, column 4 (top right of centre), some on row 4, column 2;
   * frame 8 holds none. The token is off every axis of symmetry, so a map drawn flipped,
   * transposed, shifted, or on the other frame lands on tokens that have no relevance.
   */
  @Test
  void theHotRegionOfTheWrittenPictureIsWhereTheRelevanceIs(@TempDir Path dir) throws Exception {
    TokenBox strong = new TokenBox(1, 4);
    TokenBox weak = new TokenBox(4, 2);
    float[] ttq = new float[2 * 36];
    ttq[strong.index()] = 1f;
    ttq[weak.index()] = 0.4f;
    float[][] ttp = TextToPatch.perFrame(ttq, 2, QueryToPatch.adaptiveAvg(12, 12, 6, 6));
    float[] flat = new float[2 * 144];
    System.arraycopy(ttp[0], 0, flat, 0, 144);
    System.arraycopy(ttp[1], 0, flat, 144, 144);
    Grounding g =
        Grounding.newBuilder()
            .setRefId("q")
            .setStreamId("cam")
            .setKind("answer")
            .setQuestion("what color is the square?")
            .setText("red")
            .setFrameIndices(List.of(7L, 8L))
            .setGridHeight(12)
            .setGridWidth(12)
            .setTokensPerFrame(36)
            .setTextToPatch(ByteBuffer.wrap(Tensors.toF32(flat)))
            .setTextToQuery(ByteBuffer.wrap(Tensors.toF32(ttq)))
            .setProducedAtMillis(1L)
            .build();
    // drawn once over plain grey frames, where how far a pixel moved measures the heat alone, and
    // once over a gradient frame, where every pixel's colour says where it is
    BufferedImage grey = flatFrame(0x808080);
    GroundingRender.write(g, Map.of(7L, grey, 8L, grey), dir.resolve("grey"));
    BufferedImage pic = ImageIO.read(dir.resolve("grey").resolve("q-frame-7.png").toFile());
    assertEquals(336, pic.getWidth());
    assertEquals(336, pic.getHeight());
    BufferedImage frame = gradientFrame();
    GroundingRender.write(g, Map.of(7L, frame, 8L, frame), dir.resolve("gradient"));
    BufferedImage onGradient =
        ImageIO.read(dir.resolve("gradient").resolve("q-frame-7.png").toFile());

    // the hottest pixels: all of them inside the strong token's box, and its centre among them
    int[][] heat = new int[336][336];
    int max = 0;
    for (int y = 0; y < 336; y++) {
      for (int x = 0; x < 336; x++) {
        heat[y][x] = heat(pic.getRGB(x, y), 0x808080);
        max = Math.max(max, heat[y][x]);
      }
    }
    assertTrue(max > 100, "the relevant token is drawn hot: " + max);
    int centreX = strong.x0() + 28;
    int centreY = strong.y0() + 28;
    assertEquals(max, heat[centreY][centreX], "the strong token's centre is as hot as it gets");
    double sx = 0;
    double sy = 0;
    int hot = 0;
    for (int y = 0; y < 336; y++) {
      for (int x = 0; x < 336; x++) {
        if (heat[y][x] >= 0.9 * max) {
          assertTrue(
              strong.near(x, y, 0),
              "hot pixel (" + x + ", " + y + ") lies outside the relevant token's box");
          sx += x;
          sy += y;
          hot++;
        }
      }
    }
    // the hot area is centred on the token (bilinear between patch centres is symmetric about it)
    assertTrue(hot >= 28 * 28, "the token's inner patch-centre square is fully hot: " + hot);
    assertEquals(centreX, sx / hot, 1.0, "hot area's centre x");
    assertEquals(centreY, sy / hot, 1.0, "hot area's centre y");

    // the weaker token is warm, less than the strong one
    int warm = heat[weak.y0() + 28][weak.x0() + 28];
    assertTrue(warm > 20 && warm < 0.8 * max, "weak token: " + warm + " of " + max);

    // no relevance, no heat: beyond half a patch (14 px) past the relevant tokens' boxes (the reach
    // of bilinear upsampling between patch centres) every pixel is the frame's own, in place; this
    // covers where a flipped (row 1 col 1, row 4 col 4), transposed (row 4 col 1) or shifted map
    // would put the heat
    for (int y = 0; y < 336; y++) {
      for (int x = 0; x < 336; x++) {
        if (!strong.near(x, y, 14) && !weak.near(x, y, 14)) {
          assertEquals(
              frame.getRGB(x, y) & 0xFFFFFF,
              onGradient.getRGB(x, y) & 0xFFFFFF,
              "pixel (" + x + ", " + y + ") is far from any relevance but was changed");
        }
      }
    }
    for (TokenBox mirror :
        List.of(new TokenBox(1, 1), new TokenBox(4, 4), new TokenBox(4, 1), new TokenBox(4, 3))) {
      assertEquals(
          0,
          heat[mirror.y0() + 28][mirror.x0() + 28],
          "a token with no relevance " + mirror + " is not hot");
    }

    // frame 8 had no relevance: its picture is the frame, untouched (the maps are not swapped)
    BufferedImage other = ImageIO.read(dir.resolve("gradient").resolve("q-frame-8.png").toFile());
    for (int y = 0; y < 336; y += 3) {
      for (int x = 0; x < 336; x += 3) {
        assertEquals(frame.getRGB(x, y) & 0xFFFFFF, other.getRGB(x, y) & 0xFFFFFF);
      }
    }
  }

  @Test
  void heatGoesWhereTheMapIsHighAndLeavesTheRestOfTheFrame() {
    // 3x3 map with all relevance in the top-right patch, over a mid-grey 90x90 frame
    float[] map = new float[9];
    map[2] = 1f;
    BufferedImage frame = new BufferedImage(90, 90, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 90; y++) {
      for (int x = 0; x < 90; x++) {
        frame.setRGB(x, y, 0x808080);
      }
    }
    float[] r = GroundingPictures.range(List.of(map));
    BufferedImage out = GroundingPictures.overlay(frame, 0, 0, map, 3, 3, r[0], r[1]);
    assertEquals(90, out.getWidth());
    // the centre of the top-right patch is fully hot (the ramp's top, blended at MAX_ALPHA over
    // grey); the bottom-left corner is untouched
    // (pixel (75, 14) has its centre at the patch's centre row and right of its centre column,
    // where
    // the edge clamps: relevance exactly 1)
    int hot = out.getRGB(75, 14) & 0xFFFFFF;
    int top = GroundingPictures.color(1);
    for (int shift : new int[] {16, 8, 0}) {
      int expected =
          (int)
              Math.round(
                  0x80 * (1 - GroundingPictures.MAX_ALPHA)
                      + ((top >> shift) & 255) * GroundingPictures.MAX_ALPHA);
      assertEquals(expected, (hot >> shift) & 255, Integer.toHexString(hot));
    }
    assertEquals(0x808080, out.getRGB(10, 80) & 0xFFFFFF);
    assertEquals(0x808080, out.getRGB(75, 75) & 0xFFFFFF, "bottom-right: below the hot patch");
    assertEquals(0x808080, out.getRGB(15, 15) & 0xFFFFFF, "top-left: left of the hot patch");
    // relevance falls off between patch centres (bilinear): halfway between the hot patch's centre
    // and its neighbour's the pixel is changed, but less than at the centre
    int mid = out.getRGB(60, 15) & 0xFFFFFF;
    int midHeat = heat(mid, 0x808080);
    assertTrue(
        midHeat > 0 && midHeat < heat(hot, 0x808080),
        "mid " + Integer.toHexString(mid) + " hot " + Integer.toHexString(hot));
    // source coordinates (align_corners=False): x 60 -> 60.5 * 3 / 90 - 0.5 between columns 1 and
    // 2, y 15 -> 15.5 * 3 / 90 - 0.5 just below row 0's centre
    double fx = 60.5 * 3 / 90 - 0.5 - 1;
    double fy = 15.5 * 3 / 90 - 0.5;
    assertEquals(
        (1 - fy) * fx,
        GroundingPictures.sample(map, 3, 3, 60, 15, 90, 90, r[0], r[1]),
        1e-9,
        "bilinear between patch centres");
  }

  @Test
  void constantMapsAndBadShapes() {
    float[] flat = {2f, 2f, 2f, 2f};
    BufferedImage out = GroundingPictures.overlay(null, 20, 10, flat, 2, 2, 2f, 2f);
    assertEquals(20, out.getWidth());
    assertEquals(10, out.getHeight());
    assertEquals(
        0, out.getRGB(5, 5) & 0xFFFFFF, "no relevance contrast -> the (black) frame shows through");
    assertThrows(
        IllegalArgumentException.class,
        () -> GroundingPictures.overlay(null, 4, 4, flat, 3, 3, 0, 1));
    float[] r = GroundingPictures.range(List.of(new float[] {Float.NaN, -1f}, new float[] {3f}));
    assertEquals(-1f, r[0]);
    assertEquals(3f, r[1]);
  }

  @Test
  void stripLaysPanelsSideBySide() {
    BufferedImage a = new BufferedImage(30, 20, BufferedImage.TYPE_INT_RGB);
    BufferedImage b = new BufferedImage(30, 20, BufferedImage.TYPE_INT_RGB);
    BufferedImage s = GroundingPictures.strip("red", List.of(a, b), List.of("#1", "#2"));
    assertTrue(s.getWidth() >= 60 && s.getHeight() > 20);
    assertEquals(0, GroundingPictures.color(0));
    assertTrue(brightness(GroundingPictures.color(1)) > brightness(GroundingPictures.color(0.5)));
    BufferedImage big = new BufferedImage(800, 400, BufferedImage.TYPE_INT_RGB);
    assertEquals(200, GroundingPictures.fit(big, 200).getWidth());
  }
}
