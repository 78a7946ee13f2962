package io.decostream.lab.bench;

import io.decostream.lab.PngCanvas;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code deco bench --plot FILE} (issue 20 point 6): time to first token against window length in
 * frames, one curve per path (full re-prefill, live window), log-scaled time, each point labelled
 * with its value. Java2D, headless. Written beside the projector comparison's loss plot ({@code
 * io.decostream.train.ComparisonReport}), whose drawing is specific to loss curves; the two share
 * no code beyond the PNG boilerplate.
 */
public final class TtftPlot {

  private static final Color[] COLORS = {new Color(0xd62728), new Color(0x1f77b4)};
  private static final int W = 860;
  private static final int H = 520;

  private TtftPlot() {}

  /** Curves of one run: the two TTFT series by frames, in legend order. */
  public static Map<String, Map<Integer, Double>> curves(ModelBench.Result r) {
    BenchFigures f = BenchFigures.of(r);
    Map<String, Map<Integer, Double>> c = new LinkedHashMap<>();
    c.put("full re-prefill of window + question", f.ttftMsFullPrefill());
    c.put("live window (question tokens only)", f.ttftMs());
    return c;
  }

  /** Draws the run's two curves to {@code png}. */
  public static void write(ModelBench.Result r, Path png) {
    ModelBench.Sizes s = r.options().sizes();
    String title =
        String.format(
            Locale.ROOT,
            "Time to first token of a %d-token question, window of N frames x %d tokens "
                + "(%.1fM-parameter Llama, fp32, %d threads)",
            s.questionTokens(),
            s.decoTokensPerFrame(),
            r.textParams() / 1e6,
            r.options().threads());
    write(title, curves(r), png);
  }

  /** Draws {@code curves} (name to frames to ms; null values skipped) to {@code png}. */
  public static void write(String title, Map<String, Map<Integer, Double>> curves, Path png) {
    double maxX = 1;
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    List<Integer> xs = new ArrayList<>();
    for (Map<Integer, Double> c : curves.values()) {
      for (Map.Entry<Integer, Double> e : c.entrySet()) {
        if (!xs.contains(e.getKey())) {
          xs.add(e.getKey());
        }
        maxX = Math.max(maxX, e.getKey());
        if (e.getValue() != null && e.getValue() > 0 && Double.isFinite(e.getValue())) {
          lo = Math.min(lo, e.getValue());
          hi = Math.max(hi, e.getValue());
        }
      }
    }
    if (!Double.isFinite(lo)) {
      lo = 1;
      hi = 10;
    }
    Axes a =
        new Axes(
            80,
            60,
            W - 80 - 40,
            H - 60 - 110,
            maxX * 1.08,
            Math.floor(Math.log10(lo * 0.8)),
            Math.ceil(Math.log10(hi * 1.25)));
    PngCanvas.write(
        png,
        W,
        H,
        g -> {
          g.setColor(Color.BLACK);
          g.drawString(title, 20, 24);
          drawAxes(g, a, xs);
          drawCurves(g, a, curves);
        });
  }

  /** Plot area in pixels; frames 0..maxX across, log10(ms) lo..hi up. */
  private record Axes(int left, int top, int pw, int ph, double maxX, double lo, double hi) {
    int x(double frames) {
      return left + (int) Math.round(pw * frames / maxX);
    }

    int y(double ms) {
      return top + (int) Math.round(ph * (hi - Math.log10(ms)) / (hi - lo));
    }
  }

  private static void drawAxes(Graphics2D g, Axes a, List<Integer> xs) {
    for (int e = (int) a.lo(); e <= (int) a.hi(); e++) {
      for (double m : new double[] {1, 2, 5}) {
        double v = m * Math.pow(10, e);
        if (Math.log10(v) < a.lo() - 1e-9 || Math.log10(v) > a.hi() + 1e-9) {
          continue;
        }
        int y = a.y(v);
        g.setColor(m == 1 ? new Color(0xcccccc) : new Color(0xeeeeee));
        g.drawLine(a.left(), y, a.left() + a.pw(), y);
        g.setColor(Color.DARK_GRAY);
        g.drawString(label(v), a.left() - 8 - g.getFontMetrics().stringWidth(label(v)), y + 4);
      }
    }
    g.setColor(Color.BLACK);
    g.drawRect(a.left(), a.top(), a.pw(), a.ph());
    for (int x : xs) {
      int px = a.x(x);
      g.drawLine(px, a.top() + a.ph(), px, a.top() + a.ph() + 5);
      g.drawString(Integer.toString(x), px - 6, a.top() + a.ph() + 20);
    }
    g.drawString("window length, frames", a.left() + a.pw() / 2 - 60, a.top() + a.ph() + 40);
    g.drawString("time to first token (log scale)", a.left(), a.top() - 10);
  }

  private static void drawCurves(Graphics2D g, Axes a, Map<String, Map<Integer, Double>> curves) {
    int ci = 0;
    for (Map.Entry<String, Map<Integer, Double>> c : curves.entrySet()) {
      Color color = COLORS[ci % COLORS.length];
      g.setColor(color);
      g.setStroke(new BasicStroke(2f));
      int px = -1;
      int py = -1;
      for (Map.Entry<Integer, Double> p : c.getValue().entrySet()) {
        Double v = p.getValue();
        if (v == null || !(v > 0) || !Double.isFinite(v)) {
          continue;
        }
        int x = a.x(p.getKey());
        int y = a.y(v);
        if (px >= 0) {
          g.drawLine(px, py, x, y);
        }
        g.fillOval(x - 4, y - 4, 8, 8);
        g.drawString(label(v), x + 7, y - 7);
        px = x;
        py = y;
      }
      int ly = a.top() + a.ph() + 62 + ci * 20;
      g.fillRect(a.left(), ly - 5, 22, 4);
      g.setColor(Color.BLACK);
      g.drawString(c.getKey(), a.left() + 30, ly);
      ci++;
    }
  }

  /** Milliseconds as ms below one second, as seconds above. */
  static String label(double ms) {
    if (ms >= 1000) {
      return String.format(Locale.ROOT, ms >= 10_000 ? "%.0f s" : "%.1f s", ms / 1000);
    }
    return String.format(Locale.ROOT, ms >= 10 ? "%.0f ms" : "%.1f ms", ms);
  }
}
