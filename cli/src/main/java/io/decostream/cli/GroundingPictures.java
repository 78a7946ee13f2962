package io.decostream.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Objects;

/**
 * Pictures of R-GAE maps a person can read (issue 4 "Pictures"): a Text-to-Patch map (gh x gw patch
 * relevances) bilinearly upsampled to the frame, normalised to [0, 1] for display only (min–max
 * over the maps shown together, spec §7.5: maps are stored raw), coloured with a perceptual-ish
 * "inferno"-like ramp and alpha-blended over the frame where relevant. Strips put several frames
 * side by side with a caption.
 */
final class GroundingPictures {

  /** Blend strength of the heatmap at full relevance. */
  static final double MAX_ALPHA = 0.7;

  private GroundingPictures() {}

  /** Min and max over several maps, for a shared display scale. */
  static float[] range(List<float[]> maps) {
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    for (float[] m : maps) {
      for (float v : m) {
        if (Float.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    if (lo > hi) {
      return new float[] {0f, 1f};
    }
    return new float[] {lo, hi};
  }

  /**
   * The relevance at pixel centre (x, y) of a w x h picture, bilinear over the patch-centre grid,
   * in [0,1].
   */
  static double sample(
      float[] map, int gh, int gw, double x, double y, int w, int h, float lo, float hi) {
    // patch centres sit at ((c + 0.5) * w / gw); align_corners=False style source coordinates
    double sx = Math.max(0, (x + 0.5) * gw / w - 0.5);
    double sy = Math.max(0, (y + 0.5) * gh / h - 0.5);
    int x0 = Math.min((int) sx, gw - 1);
    int y0 = Math.min((int) sy, gh - 1);
    int x1 = Math.min(x0 + 1, gw - 1);
    int y1 = Math.min(y0 + 1, gh - 1);
    double fx = Math.min(1, sx - x0);
    double fy = Math.min(1, sy - y0);
    double v =
        (1 - fy) * ((1 - fx) * map[y0 * gw + x0] + fx * map[y0 * gw + x1])
            + fy * ((1 - fx) * map[y1 * gw + x0] + fx * map[y1 * gw + x1]);
    double span = hi - lo;
    return span <= 0 ? 0 : Math.min(1, Math.max(0, (v - lo) / span));
  }

  /** A dark-to-bright ramp (black → purple → red → yellow → white), readable over video. */
  static int color(double t) {
    double[][] stops = {
      {0, 0, 0}, {0.34, 0.06, 0.43}, {0.86, 0.2, 0.27}, {0.99, 0.65, 0.04}, {0.99, 1.0, 0.64}
    };
    double p = Math.min(1, Math.max(0, t)) * (stops.length - 1);
    int i = Math.min((int) p, stops.length - 2);
    double f = p - i;
    int r = (int) Math.round(255 * (stops[i][0] + f * (stops[i + 1][0] - stops[i][0])));
    int g = (int) Math.round(255 * (stops[i][1] + f * (stops[i + 1][1] - stops[i][1])));
    int b = (int) Math.round(255 * (stops[i][2] + f * (stops[i + 1][2] - stops[i][2])));
    return (r << 16) | (g << 8) | b;
  }

  /**
   * The frame with the map blended over it: each pixel mixes towards the ramp colour by {@code
   * MAX_ALPHA * t}, so irrelevant regions keep the frame visible. {@code frame} may be null (a
   * black frame of the given size).
   */
  static BufferedImage overlay(
      BufferedImage frame, int width, int height, float[] map, int gh, int gw, float lo, float hi) {
    Objects.requireNonNull(map, "map");
    if (map.length != gh * gw) {
      throw new IllegalArgumentException(
          "map has " + map.length + " values, expected " + gh + "x" + gw);
    }
    int w = frame == null ? width : frame.getWidth();
    int h = frame == null ? height : frame.getHeight();
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        double t = sample(map, gh, gw, x, y, w, h, lo, hi);
        int base = frame == null ? 0 : frame.getRGB(x, y) & 0xFFFFFF;
        int c = color(t);
        double a = MAX_ALPHA * t;
        int r = mix((base >> 16) & 255, (c >> 16) & 255, a);
        int g = mix((base >> 8) & 255, (c >> 8) & 255, a);
        int b = mix(base & 255, c & 255, a);
        out.setRGB(x, y, (r << 16) | (g << 8) | b);
      }
    }
    return out;
  }

  private static int mix(int base, int over, double a) {
    return (int) Math.round(base * (1 - a) + over * a);
  }

  /** Panels side by side with a caption bar on top and a label under each panel. */
  static BufferedImage strip(String caption, List<BufferedImage> panels, List<String> labels) {
    if (panels.isEmpty()) {
      throw new IllegalArgumentException("a strip needs at least one panel");
    }
    int pad = 4;
    int captionH = 22;
    int labelH = 16;
    int ph = panels.stream().mapToInt(BufferedImage::getHeight).max().orElse(1);
    int w = pad + panels.stream().mapToInt(p -> p.getWidth() + pad).sum();
    int h = captionH + ph + labelH + pad;
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    try {
      g.setRenderingHint(
          RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(new Color(24, 24, 28));
      g.fillRect(0, 0, w, h);
      g.setColor(Color.WHITE);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
      g.drawString(caption, pad, 16);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      int x = pad;
      for (int i = 0; i < panels.size(); i++) {
        BufferedImage p = panels.get(i);
        g.drawImage(p, x, captionH, null);
        g.setColor(new Color(90, 90, 100));
        g.setStroke(new BasicStroke(1));
        g.drawRect(x - 1, captionH - 1, p.getWidth() + 1, p.getHeight() + 1);
        g.setColor(Color.LIGHT_GRAY);
        if (i < labels.size()) {
          g.drawString(labels.get(i), x, captionH + ph + 13);
        }
        x += p.getWidth() + pad;
      }
    } finally {
      g.dispose();
    }
    return out;
  }

  /**
   * Scales an image to fit within {@code max} pixels on its longer side (nearest-neighbour free:
   * bilinear).
   */
  static BufferedImage fit(BufferedImage img, int max) {
    int w = img.getWidth();
    int h = img.getHeight();
    double s = Math.min(1.0, (double) max / Math.max(w, h));
    if (s >= 1.0) {
      return img;
    }
    int nw = Math.max(1, (int) Math.round(w * s));
    int nh = Math.max(1, (int) Math.round(h * s));
    BufferedImage out = new BufferedImage(nw, nh, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    try {
      g.setRenderingHint(
          RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.drawImage(img, 0, 0, nw, nh, null);
    } finally {
      g.dispose();
    }
    return out;
  }
}
