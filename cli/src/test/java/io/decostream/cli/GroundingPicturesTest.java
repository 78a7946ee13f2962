package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;

class GroundingPicturesTest {

  static int brightness(int rgb) {
    return ((rgb >> 16) & 255) + ((rgb >> 8) & 255) + (rgb & 255);
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
    // the centre of the top-right patch is fully hot and differs from grey; the bottom-left corner
    // is untouched
    int hot = out.getRGB(75, 15);
    assertTrue(hot != 0x808080 && ((hot >> 16) & 255) > 200, Integer.toHexString(hot));
    assertEquals(0x808080, out.getRGB(10, 80) & 0xFFFFFF);
    // relevance falls off between patch centres (bilinear): halfway is between the two
    int mid = out.getRGB(60, 15);
    assertTrue(brightness(mid) < brightness(hot) || mid != hot);
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
