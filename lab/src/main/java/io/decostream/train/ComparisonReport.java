package io.decostream.train;

import io.decostream.lab.PngCanvas;
import io.decostream.shapes.QuestionType;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The comparison's table (Markdown) and loss-curve plot (PNG) from the runs' results. */
public final class ComparisonReport {

  /**
   * Text tokens kept free of frames when counting what fits a window (as the llm-worker reserves).
   */
  public static final int TEXT_RESERVE = 256;

  private static final Color[] PALETTE = {
    new Color(0x1f77b4),
    new Color(0xd62728),
    new Color(0x2ca02c),
    new Color(0x9467bd),
    new Color(0xff7f0e),
    new Color(0x8c564b),
    new Color(0xe377c2),
    new Color(0x7f7f7f)
  };

  private ComparisonReport() {}

  /** Runs grouped by variant, in first-seen order. */
  static Map<String, List<ProjectorComparison.RunResult>> byVariant(
      List<ProjectorComparison.RunResult> runs) {
    Map<String, List<ProjectorComparison.RunResult>> out = new LinkedHashMap<>();
    for (ProjectorComparison.RunResult r : runs) {
      out.computeIfAbsent(r.variant(), k -> new ArrayList<>()).add(r);
    }
    return out;
  }

  /**
   * The Markdown tables: cost and capacity per variant, then accuracy per question type (mean over
   * seeds).
   */
  public static String markdown(List<ProjectorComparison.RunResult> runs) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        "| connector | tokens/frame (mini) | tokens/frame (paper) | frames in 4096 (paper) | frames in 4096 (mini)"
            + " | connector params | stage-2 trainable | s/step (stage 2) | final loss |\n");
    sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (var e : byVariant(runs).entrySet()) {
      List<ProjectorComparison.RunResult> rs = e.getValue();
      ProjectorComparison.RunResult r0 = rs.get(0);
      double sec =
          rs.stream()
              .mapToDouble(ProjectorComparison.RunResult::secondsPerStep)
              .average()
              .orElse(0);
      double loss =
          rs.stream()
              .mapToDouble(
                  r -> r.curve().isEmpty() ? Double.NaN : r.curve().get(r.curve().size() - 1)[1])
              .average()
              .orElse(Double.NaN);
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %d | %d | %d | %,d | %,d | %.2f | %.3f |%n",
              e.getKey(),
              r0.tokensPerFrame(),
              r0.paperTokensPerFrame(),
              ProjectorComparison.framesThatFit(4096, TEXT_RESERVE, r0.paperTokensPerFrame()),
              ProjectorComparison.framesThatFit(4096, TEXT_RESERVE, r0.tokensPerFrame()),
              r0.connectorParameters(),
              r0.tunedParameters(),
              sec,
              loss));
    }
    sb.append("\n");
    sb.append("| connector | seeds |");
    for (QuestionType t : QuestionType.values()) {
      sb.append(' ').append(t.label()).append(" |");
    }
    sb.append(" all | all, per seed |\n|---|---:|");
    sb.append("---:|".repeat(QuestionType.values().length + 2)).append('\n');
    for (var e : byVariant(runs).entrySet()) {
      List<ProjectorComparison.RunResult> rs = e.getValue();
      sb.append("| ").append(e.getKey()).append(" | ").append(rs.size()).append(" |");
      for (QuestionType t : QuestionType.values()) {
        int c = rs.stream().mapToInt(r -> r.correct().getOrDefault(t.label(), 0)).sum();
        int a = rs.stream().mapToInt(r -> r.asked().getOrDefault(t.label(), 0)).sum();
        sb.append(a == 0 ? " – |" : String.format(Locale.ROOT, " %.1f |", 100.0 * c / a));
      }
      double all =
          rs.stream()
              .mapToDouble(ProjectorComparison.RunResult::overall)
              .average()
              .orElse(Double.NaN);
      StringBuilder per = new StringBuilder();
      for (ProjectorComparison.RunResult r : rs) {
        per.append(per.isEmpty() ? "" : ", ")
            .append(String.format(Locale.ROOT, "%.1f", 100 * r.overall()));
      }
      sb.append(String.format(Locale.ROOT, " **%.1f** | %s |%n", 100 * all, per));
    }
    return sb.toString();
  }

  /**
   * Loss against step for every run (one colour per variant, one line per seed), stage boundary
   * marked.
   */
  public static void plot(List<ProjectorComparison.RunResult> runs, int alignSteps, Path png) {
    int w = 960;
    int h = 560;
    Axes a = axes(runs, w, h);
    PngCanvas.write(
        png,
        w,
        h,
        g -> {
          drawAxes(g, a, h, alignSteps);
          drawCurves(g, a, runs);
        });
  }

  /**
   * The plot area (left, top, width pw, height ph in pixels) and its scales: steps 0..maxStep
   * across, log10 of the loss from hi (top) down to lo.
   */
  private record Axes(int left, int top, int pw, int ph, double maxStep, double lo, double hi) {
    int x(double step) {
      return left + (int) Math.round(pw * step / maxStep);
    }

    int y(double log10Loss) {
      return top + (int) Math.round(ph * (hi - log10Loss) / (hi - lo));
    }
  }

  /**
   * Scales that hold every run's curve: the last step, and the finite losses on a log axis (early
   * losses are an order of magnitude above the late ones), with a margin above and below.
   */
  private static Axes axes(List<ProjectorComparison.RunResult> runs, int w, int h) {
    int left = 70;
    int right = 210;
    int top = 40;
    int bottom = 60;
    double maxStep = 1;
    double minLoss = Double.POSITIVE_INFINITY;
    double maxLoss = Double.NEGATIVE_INFINITY;
    for (ProjectorComparison.RunResult r : runs) {
      for (double[] p : r.curve()) {
        maxStep = Math.max(maxStep, p[0]);
        if (Double.isFinite(p[1])) {
          minLoss = Math.min(minLoss, p[1]);
          maxLoss = Math.max(maxLoss, p[1]);
        }
      }
    }
    if (!Double.isFinite(minLoss)) {
      minLoss = 0;
      maxLoss = 1;
    }
    double lo = Math.log10(Math.max(1e-3, minLoss * 0.9));
    double hi = Math.log10(Math.max(1e-3, maxLoss * 1.1));
    if (hi - lo < 1e-6) {
      hi = lo + 1;
    }
    return new Axes(left, top, w - left - right, h - top - bottom, maxStep, lo, hi);
  }

  /**
   * Loss grid lines and labels, step ticks, axis titles, and the dashed line where stage 1 (align)
   * ends and stage 2 (tune) begins.
   */
  private static void drawAxes(Graphics2D g, Axes a, int h, int alignSteps) {
    g.setColor(new Color(0xdddddd));
    for (double v : niceTicks(Math.pow(10, a.lo()), Math.pow(10, a.hi()))) {
      int y = a.y(Math.log10(v));
      g.drawLine(a.left(), y, a.left() + a.pw(), y);
      g.setColor(Color.DARK_GRAY);
      g.drawString(String.format(Locale.ROOT, "%.2f", v), 20, y + 4);
      g.setColor(new Color(0xdddddd));
    }
    g.setColor(Color.BLACK);
    g.drawRect(a.left(), a.top(), a.pw(), a.ph());
    for (int i = 0; i <= 5; i++) {
      int step = (int) Math.round(a.maxStep() * i / 5);
      g.drawString(Integer.toString(step), a.x(step) - 10, a.top() + a.ph() + 18);
    }
    g.drawString("step (align, then tune)", a.left() + a.pw() / 2 - 60, h - 18);
    g.drawString("training loss (EMA, log scale)", a.left(), a.top() - 12);
    if (alignSteps > 0) {
      int x = a.x(alignSteps);
      g.setColor(Color.GRAY);
      g.setStroke(
          new BasicStroke(
              1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {5f, 5f}, 0f));
      g.drawLine(x, a.top(), x, a.top() + a.ph());
      g.drawString("align | tune", x - 32, a.top() + 14);
    }
  }

  /**
   * One colour per variant, one polyline per seed (non-finite losses skipped), and a legend entry
   * per variant with its number of seeds.
   */
  private static void drawCurves(Graphics2D g, Axes a, List<ProjectorComparison.RunResult> runs) {
    int vi = 0;
    for (var e : byVariant(runs).entrySet()) {
      Color c = PALETTE[vi % PALETTE.length];
      g.setColor(c);
      g.setStroke(new BasicStroke(1.6f));
      for (ProjectorComparison.RunResult r : e.getValue()) {
        int px = -1;
        int py = -1;
        for (double[] p : r.curve()) {
          if (!Double.isFinite(p[1])) {
            continue;
          }
          int x = a.x(p[0]);
          int y = a.y(Math.log10(Math.max(1e-3, p[1])));
          if (px >= 0) {
            g.drawLine(px, py, x, y);
          }
          px = x;
          py = y;
        }
      }
      int ly = a.top() + 10 + vi * 22;
      g.fillRect(a.left() + a.pw() + 16, ly, 18, 4);
      g.setColor(Color.BLACK);
      g.drawString(
          e.getKey()
              + " ("
              + e.getValue().size()
              + (e.getValue().size() == 1 ? " seed)" : " seeds)"),
          a.left() + a.pw() + 40,
          ly + 6);
      vi++;
    }
  }

  private static List<Double> niceTicks(double min, double max) {
    List<Double> out = new ArrayList<>();
    for (int exp = (int) Math.floor(Math.log10(min));
        exp <= (int) Math.ceil(Math.log10(max));
        exp++) {
      for (double m : new double[] {1, 1.5, 2, 3, 5, 7}) {
        double v = m * Math.pow(10, exp);
        if (v >= min && v <= max) {
          out.add(v);
        }
      }
    }
    return out;
  }
}
