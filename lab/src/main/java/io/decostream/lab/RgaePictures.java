package io.decostream.lab;

import io.decostream.nn.image.RgbImage;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.shapes.Box;
import io.decostream.train.ConnectorRgae;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The R-GAE analysis's table and pictures ({@code deco compare --rgae}; DeCo Figs. 1 and 3 in
 * miniature): per connector the locality of the answers' Text-to-Patch against chance, the
 * Query-to-Patch rows of each connector (the Q-Former's learned queries beside the pooling
 * windows), and the Text-to-Patch of a few answers over their frame with the named object's box.
 */
final class RgaePictures {

  static final int CELL = 6; // px per patch in the Query-to-Patch panels
  static final int FRAME = 126; // px of a frame in the Text-to-Patch panels

  private RgaePictures() {}

  /** The Markdown table: mean locality and the uniform map's (chance) per run. */
  static String table(List<ConnectorRgae.Run> runs) {
    StringBuilder sb = new StringBuilder();
    sb.append("| connector | seed | questions | locality | chance (uniform map) | note |\n");
    sb.append("|---|---:|---:|---:|---:|---|\n");
    for (ConnectorRgae.Run r : runs) {
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %d | %s | %s | %s |%n",
              r.variant(),
              r.seed(),
              r.questions(),
              Double.isNaN(r.locality()) ? "–" : String.format(Locale.ROOT, "%.3f", r.locality()),
              Double.isNaN(r.chance()) ? "–" : String.format(Locale.ROOT, "%.3f", r.chance()),
              r.note()));
    }
    return sb.toString();
  }

  /** One row per run: each query's (token's) Query-to-Patch map over the patch grid. */
  static void queryToPatch(List<ConnectorRgae.Run> runs, Path png) {
    List<ConnectorRgae.Run> drawn = runs.stream().filter(r -> r.queryToPatch() != null).toList();
    int label = 130;
    int maxQ =
        drawn.stream().mapToInt(r -> Math.min(r.queryToPatch().queries(), 16)).max().orElse(1);
    int grid = drawn.stream().mapToInt(ConnectorRgae.Run::grid).max().orElse(1);
    int panel = grid * CELL + 6;
    PngCanvas.write(
        png,
        label + maxQ * panel + 10,
        Math.max(1, drawn.size()) * (panel + 8) + 10,
        g -> {
          for (int i = 0; i < drawn.size(); i++) {
            ConnectorRgae.Run r = drawn.get(i);
            int y = 10 + i * (panel + 8);
            g.setColor(Color.BLACK);
            g.drawString(r.variant() + " s" + r.seed(), 6, y + panel / 2);
            QueryToPatch m = r.queryToPatch();
            for (int q = 0; q < Math.min(m.queries(), 16); q++) {
              float[] row = new float[m.patches()];
              for (int p = 0; p < row.length; p++) {
                row[p] = m.get(q, p);
              }
              heat(g, row, r.grid(), label + q * panel, y, CELL);
            }
          }
        });
  }

  /** One row per run: a few answers' Text-to-Patch over the last frame, the box in green. */
  static void textToPatch(List<ConnectorRgae.Run> runs, Path png) {
    int label = 130;
    int per = runs.stream().mapToInt(r -> r.examples().size()).max().orElse(1);
    int h = FRAME + 34;
    PngCanvas.write(
        png,
        label + Math.max(1, per) * (FRAME + 10) + 10,
        Math.max(1, runs.size()) * (h + 6) + 10,
        g -> {
          for (int i = 0; i < runs.size(); i++) {
            ConnectorRgae.Run r = runs.get(i);
            int y = 10 + i * (h + 6);
            g.setColor(Color.BLACK);
            g.drawString(r.variant() + " s" + r.seed(), 6, y + FRAME / 2);
            for (int k = 0; k < r.examples().size(); k++) {
              answer(g, r.examples().get(k), r.grid(), label + k * (FRAME + 10), y);
            }
          }
        });
  }

  private static void answer(Graphics2D g, ConnectorRgae.Answer a, int grid, int x, int y) {
    RgbImage f = a.frame();
    g.drawImage(image(f), x, y, FRAME, FRAME, null);
    float max = 0;
    for (float v : a.textToPatch()) {
      max = Math.max(max, v);
    }
    double cell = (double) FRAME / grid;
    for (int p = 0; max > 0 && p < a.textToPatch().length; p++) {
      int alpha = (int) (200 * Math.max(0, a.textToPatch()[p]) / max);
      g.setColor(new Color(255, 0, 0, alpha));
      g.fillRect(
          x + (int) Math.round((p % grid) * cell),
          y + (int) Math.round((p / grid) * cell),
          (int) Math.ceil(cell),
          (int) Math.ceil(cell));
    }
    Box b = a.box();
    double sx = (double) FRAME / f.width();
    double sy = (double) FRAME / f.height();
    g.setColor(new Color(0, 170, 0));
    g.setStroke(new BasicStroke(2f));
    g.drawRect(
        x + (int) (b.x0() * sx),
        y + (int) (b.y0() * sy),
        (int) ((b.x1() - b.x0()) * sx),
        (int) ((b.y1() - b.y0()) * sy));
    g.setColor(Color.BLACK);
    g.drawString(a.answer() + String.format(Locale.ROOT, "  %.2f", a.share()), x, y + FRAME + 14);
  }

  /** A row-major map as white-to-red cells, scaled to its maximum; a black frame around it. */
  private static void heat(Graphics2D g, float[] map, int grid, int x, int y, int cell) {
    float max = 0;
    for (float v : map) {
      max = Math.max(max, v);
    }
    for (int p = 0; p < map.length; p++) {
      float t = max > 0 ? Math.max(0, map[p]) / max : 0;
      g.setColor(new Color(1f, 1f - t, 1f - t));
      g.fillRect(x + (p % grid) * cell, y + (p / grid) * cell, cell, cell);
    }
    g.setColor(Color.GRAY);
    g.drawRect(x, y, grid * cell, grid * cell);
  }

  private static BufferedImage image(RgbImage f) {
    BufferedImage img = new BufferedImage(f.width(), f.height(), BufferedImage.TYPE_INT_RGB);
    for (int yy = 0; yy < f.height(); yy++) {
      for (int xx = 0; xx < f.width(); xx++) {
        img.setRGB(xx, yy, (f.get(xx, yy, 0) << 16) | (f.get(xx, yy, 1) << 8) | f.get(xx, yy, 2));
      }
    }
    return img;
  }
}
