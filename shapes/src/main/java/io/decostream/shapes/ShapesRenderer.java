package io.decostream.shapes;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.util.SplittableRandom;

/**
 * Draws ShapesWorld frames with Java2D (anti-aliased, no display needed). Geometry follows {@link
 * Scene#stateOf}: the shape's box in pixels is exactly the ground-truth box. The triangle points
 * up, its base on the bottom of the box and its apex at the top middle; the centre of the box (the
 * ground-truth centre) lies inside it.
 */
public final class ShapesRenderer {

  private ShapesRenderer() {}

  /**
   * The frame at {@code timeSeconds} as a {@code TYPE_3BYTE_BGR} image (what JavaCV's converter
   * expects).
   */
  public static BufferedImage render(Scene scene, double timeSeconds, int width, int height) {
    if (width < 8 || height < 8 || width > 8192 || height > 8192) {
      throw new IllegalArgumentException(
          "frame size must be in 8..8192, got " + width + "x" + height);
    }
    if (!Double.isFinite(timeSeconds)) {
      throw new IllegalArgumentException("time must be finite, got " + timeSeconds);
    }
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
    paintBackground(scene.background(), img);
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
      g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
      for (ShapeState st : scene.statesAt(timeSeconds, width, height)) {
        Rgb c = st.shape().rgb();
        g.setColor(new Color(c.r(), c.g(), c.b()));
        Box b = st.box();
        java.awt.Shape outline =
            switch (st.shape().kind()) {
              case CIRCLE -> new Ellipse2D.Double(b.x0(), b.y0(), b.width(), b.height());
              case SQUARE -> new Rectangle2D.Double(b.x0(), b.y0(), b.width(), b.height());
              case TRIANGLE -> {
                Path2D.Double p = new Path2D.Double();
                p.moveTo((b.x0() + b.x1()) / 2, b.y0());
                p.lineTo(b.x1(), b.y1());
                p.lineTo(b.x0(), b.y1());
                p.closePath();
                yield p;
              }
            };
        g.fill(outline);
      }
    } finally {
      g.dispose();
    }
    return img;
  }

  /** The frame as row-major R,G,B bytes ({@code width * height * 3}). */
  public static byte[] renderRgb(Scene scene, double timeSeconds, int width, int height) {
    return toRgb(render(scene, timeSeconds, width, height));
  }

  /** Row-major R,G,B bytes of a {@code TYPE_3BYTE_BGR} image (or any image, through getRGB). */
  public static byte[] toRgb(BufferedImage img) {
    int w = img.getWidth();
    int h = img.getHeight();
    byte[] out = new byte[w * h * 3];
    if (img.getType() == BufferedImage.TYPE_3BYTE_BGR) {
      byte[] bgr = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
      for (int i = 0; i < w * h; i++) {
        out[3 * i] = bgr[3 * i + 2];
        out[3 * i + 1] = bgr[3 * i + 1];
        out[3 * i + 2] = bgr[3 * i];
      }
    } else {
      for (int y = 0, i = 0; y < h; y++) {
        for (int x = 0; x < w; x++, i += 3) {
          int p = img.getRGB(x, y);
          out[i] = (byte) (p >> 16);
          out[i + 1] = (byte) (p >> 8);
          out[i + 2] = (byte) p;
        }
      }
    }
    return out;
  }

  /**
   * Writes the background straight into the BGR raster (static noise: same pattern in every frame).
   */
  private static void paintBackground(Background bg, BufferedImage img) {
    int w = img.getWidth();
    int h = img.getHeight();
    byte[] bgr = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    Rgb a = bg.base();
    Rgb b = bg.second();
    SplittableRandom noise = new SplittableRandom(bg.noiseSeed());
    int amp = bg.noiseAmplitude();
    double denom = Math.max(1, (w - 1) + (h - 1));
    double cx = (w - 1) / 2.0;
    double cy = (h - 1) / 2.0;
    double corner = Math.max(1, Math.hypot(cx, cy));
    int block = Math.max(1, Math.min(w, h) / Background.BLOCKS_PER_SIDE);
    int blocksX = (w + block - 1) / block;
    int[] offsets = new int[blocksX * ((h + block - 1) / block)];
    for (int k = 0; bg.kind() == Background.Kind.BLOCKS && k < offsets.length; k++) {
      offsets[k] = noise.nextInt(2 * amp + 1) - amp;
    }
    for (int y = 0, i = 0; y < h; y++) {
      for (int x = 0; x < w; x++, i += 3) {
        int r = a.r();
        int g = a.g();
        int bl = a.b();
        switch (bg.kind()) {
          case GRADIENT -> {
            double f = (x + y) / denom;
            r = (int) Math.round(a.r() + f * (b.r() - a.r()));
            g = (int) Math.round(a.g() + f * (b.g() - a.g()));
            bl = (int) Math.round(a.b() + f * (b.b() - a.b()));
          }
          case RADIAL -> {
            double f = Math.hypot(x - cx, y - cy) / corner;
            r = (int) Math.round(a.r() + f * (b.r() - a.r()));
            g = (int) Math.round(a.g() + f * (b.g() - a.g()));
            bl = (int) Math.round(a.b() + f * (b.b() - a.b()));
          }
          case NOISE -> {
            int d = noise.nextInt(2 * amp + 1) - amp;
            r = clamp(r + d);
            g = clamp(g + d);
            bl = clamp(bl + d);
          }
          case BLOCKS -> {
            int d = offsets[(y / block) * blocksX + x / block];
            r = clamp(r + d);
            g = clamp(g + d);
            bl = clamp(bl + d);
          }
          default -> {}
        }
        bgr[i] = (byte) bl;
        bgr[i + 1] = (byte) g;
        bgr[i + 2] = (byte) r;
      }
    }
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }
}
