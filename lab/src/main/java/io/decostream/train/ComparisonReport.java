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
        sb.append(
            a == 0
                ? " – |"
                : String.format(Locale.ROOT, " %.1f%s |", 100.0 * c / a, spread(rs, t.label())));
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
    sb.append(convergence(runs));
    return sb.toString();
  }

  /**
   * " ± s": the standard deviation over seeds of one type's accuracy in points, or "" for one seed.
   */
  static String spread(List<ProjectorComparison.RunResult> rs, String type) {
    double[] acc =
        rs.stream()
            .filter(r -> r.asked().getOrDefault(type, 0) > 0)
            .mapToDouble(r -> 100.0 * r.correct().getOrDefault(type, 0) / r.asked().get(type))
            .toArray();
    if (acc.length < 2) {
      return "";
    }
    double mean = java.util.Arrays.stream(acc).average().orElseThrow();
    double ss = java.util.Arrays.stream(acc).map(x -> (x - mean) * (x - mean)).sum();
    return String.format(Locale.ROOT, " ± %.1f", Math.sqrt(ss / (acc.length - 1)));
  }

  /**
   * The convergence table: per variant, overall / position accuracy at each stage-2 check (mean
   * over the seeds that reached it); empty when no run has checks.
   */
  static String convergence(List<ProjectorComparison.RunResult> runs) {
    java.util.TreeSet<Double> steps = new java.util.TreeSet<>();
    runs.forEach(r -> r.accuracyCurve().forEach(p -> steps.add(p[0])));
    if (steps.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder("\n| connector |");
    steps.forEach(st -> sb.append(String.format(Locale.ROOT, " step %.0f |", st)));
    sb.append("\n|---|").append("---:|".repeat(steps.size())).append('\n');
    for (var e : byVariant(runs).entrySet()) {
      sb.append("| ").append(e.getKey()).append(" |");
      for (double st : steps) {
        double[] sum = new double[3];
        for (ProjectorComparison.RunResult r : e.getValue()) {
          for (double[] p : r.accuracyCurve()) {
            if (p[0] == st) {
              sum[0] += p[1];
              sum[1] += p[2];
              sum[2]++;
            }
          }
        }
        sb.append(
            sum[2] == 0
                ? " – |"
                : String.format(
                    Locale.ROOT, " %.1f / %.1f |", 100 * sum[0] / sum[2], 100 * sum[1] / sum[2]));
      }
      sb.append('\n');
    }
    return sb.append("\n(all questions / position, % of the first check scenes, mean over seeds)\n")
        .toString();
  }

  /**
   * Two panels against step: the training loss of every run (one colour per variant, one line per
   * seed, stage boundary marked) above, the stage-2 accuracy checks below (overall solid, position
   * dashed), so convergence reads as in the paper's Fig. 5.
   */
  public static void plot(List<ProjectorComparison.RunResult> runs, int alignSteps, Path png) {
    int w = 960;
    int h = 980;
    Axes loss = axes(runs, w, 560);
    Axes acc = new Axes(loss.left(), 600, loss.pw(), 300, loss.maxStep(), 0, 1);
    PngCanvas.write(
        png,
        w,
        h,
        g -> {
          drawAxes(g, loss, 560, alignSteps);
          drawCurves(g, loss, runs);
          drawAccuracy(g, acc, runs, alignSteps);
        });
  }

  /**
   * A plot area (left, top, width pw, height ph in pixels) and its scales: steps 0..maxStep across,
   * values from hi (top) down to lo (the loss panel plots log10 of the loss).
   */
  private record Axes(int left, int top, int pw, int ph, double maxStep, double lo, double hi) {
    int x(double step) {
      return left + (int) Math.round(pw * step / maxStep);
    }

    int y(double value) {
      return top + (int) Math.round(ph * (hi - value) / (hi - lo));
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

  /**
   * The lower panel: accuracy 0..100% on a linear axis; per run its overall accuracy at each check
   * (solid) and its position accuracy (dashed), in the variant's colour.
   */
  private static void drawAccuracy(
      Graphics2D g, Axes a, List<ProjectorComparison.RunResult> runs, int alignSteps) {
    for (int pct = 0; pct <= 100; pct += 20) {
      int y = a.y(pct / 100.0);
      g.setColor(new Color(0xdddddd));
      g.drawLine(a.left(), y, a.left() + a.pw(), y);
      g.setColor(Color.DARK_GRAY);
      g.drawString(pct + "%", 30, y + 4);
    }
    g.setColor(Color.BLACK);
    g.setStroke(new BasicStroke(1f));
    g.drawRect(a.left(), a.top(), a.pw(), a.ph());
    for (int i = 0; i <= 5; i++) {
      int step = (int) Math.round(a.maxStep() * i / 5);
      g.drawString(Integer.toString(step), a.x(step) - 10, a.top() + a.ph() + 18);
    }
    g.drawString(
        "held-out accuracy at the stage-2 checks: all questions (solid), position (dashed)",
        a.left(),
        a.top() - 12);
    g.drawString("step (align, then tune)", a.left() + a.pw() / 2 - 60, a.top() + a.ph() + 40);
    if (alignSteps > 0) {
      g.setColor(Color.GRAY);
      int x = a.x(alignSteps);
      g.drawLine(x, a.top(), x, a.top() + a.ph());
    }
    BasicStroke dashed =
        new BasicStroke(
            1.4f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f);
    int vi = 0;
    for (var e : byVariant(runs).entrySet()) {
      g.setColor(PALETTE[vi % PALETTE.length]);
      for (ProjectorComparison.RunResult r : e.getValue()) {
        g.setStroke(new BasicStroke(1.6f));
        polyline(g, a, r.accuracyCurve(), 1);
        g.setStroke(dashed);
        polyline(g, a, r.accuracyCurve(), 2);
      }
      vi++;
    }
  }

  /** Column {@code col} of (step, ...) points as a line, non-finite values skipped. */
  private static void polyline(Graphics2D g, Axes a, List<double[]> points, int col) {
    int px = -1;
    int py = -1;
    for (double[] p : points) {
      if (!Double.isFinite(p[col])) {
        continue;
      }
      int x = a.x(p[0]);
      int y = a.y(p[col]);
      if (px >= 0) {
        g.drawLine(px, py, x, y);
      }
      px = x;
      py = y;
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
