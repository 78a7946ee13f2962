package io.decostream.shapes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class GridCellTest {

  @Test
  void cellsAreHalfOpenThirds() {
    // 336 / 3 = 112: [0,112) left column, [112,224) middle, [224,336] right
    assertEquals(GridCell.TOP_LEFT, GridCell.of(0, 0, 336, 336));
    assertEquals(GridCell.TOP_LEFT, GridCell.of(111.999, 111.999, 336, 336));
    assertEquals(GridCell.CENTER, GridCell.of(112, 112, 336, 336));
    assertEquals(GridCell.CENTER, GridCell.of(223.999, 223.999, 336, 336));
    assertEquals(GridCell.BOTTOM_RIGHT, GridCell.of(224, 224, 336, 336));
    assertEquals(GridCell.BOTTOM_RIGHT, GridCell.of(336, 336, 336, 336));
    assertEquals(GridCell.TOP_RIGHT, GridCell.of(300, 10, 336, 336));
    assertEquals(GridCell.TOP, GridCell.of(168, 111, 336, 336));
    assertEquals(GridCell.LEFT, GridCell.of(111, 168, 336, 336));
    assertEquals(GridCell.RIGHT, GridCell.of(224, 168, 336, 336));
    assertEquals(GridCell.BOTTOM_LEFT, GridCell.of(5, 330, 336, 336));
    assertEquals(GridCell.BOTTOM, GridCell.of(168, 224, 336, 336));
    // non-square frame: thirds of each side
    assertEquals(GridCell.TOP_RIGHT, GridCell.of(430, 119, 640, 360));
    assertEquals(GridCell.CENTER, GridCell.of(426.66, 120, 640, 360));
  }

  @Test
  void wordsAndRoundTrip() {
    String[] expected = {
      "top left",
      "top",
      "top right",
      "left",
      "center",
      "right",
      "bottom left",
      "bottom",
      "bottom right"
    };
    for (GridCell c : GridCell.values()) {
      assertEquals(expected[c.ordinal()], c.words());
      assertEquals(c, GridCell.fromWords(" " + c.words().toUpperCase() + ". "));
      assertEquals(c, GridCell.at(c.row(), c.col()));
    }
    assertEquals(GridCell.CENTER, GridCell.fromWords("Centre"));
    assertThrows(IllegalArgumentException.class, () -> GridCell.fromWords("middle"));
  }

  @Test
  void distanceToBoundary() {
    assertEquals(0, GridCell.distanceToBoundary(112, 50, 336, 336), 1e-9);
    assertEquals(6, GridCell.distanceToBoundary(60, 230, 336, 336), 1e-9);
    assertEquals(56, GridCell.distanceToBoundary(168, 168, 336, 336), 1e-9);
  }
}
