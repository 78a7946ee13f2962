import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * A flame graph from a JFR recording with nothing but the JDK (issue 22 point 2; async-profiler's
 * converter is not on Maven Central here). Reads jdk.ExecutionSample (threads running Java code)
 * and jdk.NativeMethodSample (threads inside a native method: FFmpeg, libtorch), drops native
 * samples of threads that are only waiting (poll, sleep, park, accept), groups the stacks under
 * their thread's stage (frames, encoder, llm-worker, other, from the thread name), and writes
 * collapsed stacks (one "a;b;c count" line each, the format every flame-graph tool reads) and a
 * self-contained SVG.
 *
 * <p>Usage: {@code java scripts/JfrFlame.java REC.jfr OUT.svg [OUT.collapsed] [--top N] [--stages
 * frames,encoder]}; prints the N hottest frames by self samples and by the stage's total; --stages
 * keeps only those thread groups.
 */
public final class JfrFlame {
  private static final String[] IDLE = {
    "sun.nio.ch.EPoll.wait",
    "sun.nio.ch.Net.poll",
    "sun.nio.ch.Net.accept",
    "java.lang.Thread.sleep",
    "java.lang.Object.wait",
    "jdk.internal.misc.Unsafe.park",
    "java.net.PlainSocketImpl.socketAccept",
    "sun.nio.ch.SocketDispatcher.read",
    "sun.nio.ch.FileDispatcherImpl.read",
    "java.lang.ProcessHandleImpl.waitForProcessExit",
    "java.lang.Thread.yield",
  };

  private static final class Node {
    final String name;
    long total;
    long self;
    final Map<String, Node> kids = new TreeMap<>();

    Node(String name) {
      this.name = name;
    }
  }

  public static void main(String[] args) throws IOException {
    if (args.length < 2) {
      System.err.println(
          "usage: java JfrFlame.java REC.jfr OUT.svg [OUT.collapsed] [--top N] [--stages a,b]");
      System.exit(2);
    }
    int top = 25;
    Path collapsedOut = null;
    java.util.Set<String> only = null;
    for (int i = 2; i < args.length; i++) {
      if (args[i].equals("--top")) {
        top = Integer.parseInt(args[++i]);
      } else if (args[i].equals("--stages")) {
        only = new java.util.HashSet<>(java.util.Arrays.asList(args[++i].split(",")));
      } else {
        collapsedOut = Path.of(args[i]);
      }
    }
    Map<String, Long> collapsed = new TreeMap<>();
    Map<String, Long> self = new TreeMap<>();
    Map<String, Long> byStage = new TreeMap<>();
    long samples = 0;
    for (RecordedEvent e : RecordingFile.readAllEvents(Path.of(args[0]))) {
      String type = e.getEventType().getName();
      boolean nativeSample = type.equals("jdk.NativeMethodSample");
      if (!nativeSample && !type.equals("jdk.ExecutionSample")) {
        continue;
      }
      RecordedStackTrace st = e.getStackTrace();
      if (st == null || st.getFrames().isEmpty()) {
        continue;
      }
      String leaf = name(st.getFrames().get(0));
      if (excluded(st)) {
        continue;
      }
      if (nativeSample && idle(leaf)) {
        continue;
      }
      RecordedThread t = e.getThread(nativeSample ? "sampledThread" : "sampledThread");
      String stage = stage(t == null ? "" : String.valueOf(t.getJavaName()));
      if (only != null && !only.contains(stage)) {
        continue;
      }
      List<RecordedFrame> frames = st.getFrames();
      StringBuilder sb = new StringBuilder(stage);
      for (int i = frames.size() - 1; i >= 0; i--) {
        sb.append(';').append(name(frames.get(i)));
      }
      collapsed.merge(sb.toString(), 1L, Long::sum);
      self.merge(leaf, 1L, Long::sum);
      byStage.merge(stage, 1L, Long::sum);
      samples++;
    }
    if (collapsedOut != null) {
      try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(collapsedOut))) {
        collapsed.forEach((k, v) -> w.println(k + " " + v));
      }
    }
    Node root = new Node("all");
    collapsed.forEach(
        (k, v) -> {
          Node n = root;
          n.total += v;
          for (String part : k.split(";")) {
            n = n.kids.computeIfAbsent(part, Node::new);
            n.total += v;
          }
          n.self += v;
        });
    writeSvg(root, Path.of(args[1]), args[0] + " (" + samples + " samples)");
    System.out.printf(Locale.ROOT, "%d CPU samples%n", samples);
    System.out.println("by stage (thread group):");
    final long all = samples;
    byStage.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .forEach(
            x ->
                System.out.printf(
                    Locale.ROOT, "  %5.1f%%  %s%n", 100.0 * x.getValue() / all, x.getKey()));
    System.out.println("hottest frames by self samples:");
    self.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(top)
        .forEach(
            x ->
                System.out.printf(
                    Locale.ROOT, "  %5.1f%%  %s%n", 100.0 * x.getValue() / all, x.getKey()));
    System.out.println("hottest frames by total (inclusive) samples, per stage:");
    for (Node stage : root.kids.values()) {
      Map<String, Long> inclusive = new TreeMap<>();
      inclusive(stage, inclusive, new java.util.HashSet<>());
      System.out.printf(Locale.ROOT, " [%s] %.1f%%%n", stage.name, 100.0 * stage.total / all);
      inclusive.entrySet().stream()
          .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
          .filter(x -> !x.getKey().startsWith("java.lang.Thread.run"))
          .limit(top)
          .forEach(
              x ->
                  System.out.printf(
                      Locale.ROOT, "    %5.1f%%  %s%n", 100.0 * x.getValue() / all, x.getKey()));
    }
  }

  /** Inclusive samples per frame name (a name counted once per path, recursion aside). */
  private static void inclusive(Node n, Map<String, Long> out, java.util.Set<String> onPath) {
    for (Node k : n.kids.values()) {
      boolean first = onPath.add(k.name);
      if (first) {
        out.merge(k.name, k.total, Long::sum);
      }
      inclusive(k, out, onPath);
      if (first) {
        onPath.remove(k.name);
      }
    }
  }

  /** The load test's set-up (rendering its clips) is not the pipeline's work. */
  private static boolean excluded(RecordedStackTrace st) {
    for (RecordedFrame f : st.getFrames()) {
      if (f.getMethod().getName().equals("renderClips")) {
        return true;
      }
    }
    return false;
  }

  private static boolean idle(String leaf) {
    for (String s : IDLE) {
      if (leaf.startsWith(s)) {
        return true;
      }
    }
    return false;
  }

  static String stage(String thread) {
    if (thread.contains("deco-frames") || thread.startsWith("chunk-decoder")) {
      return "frames";
    }
    if (thread.contains("deco-encoder")) {
      return "encoder";
    }
    if (thread.contains("deco-llm-worker")) {
      return "llm-worker";
    }
    if (thread.contains("loadtest")) {
      return "loadtest";
    }
    return "other";
  }

  private static String name(RecordedFrame f) {
    String cls = f.getMethod().getType().getName();
    return cls + "." + f.getMethod().getName();
  }

  // ------------------------------------------------------------------ SVG

  private static final int W = 1800;
  private static final int ROW = 16;

  private static void writeSvg(Node root, Path out, String title) throws IOException {
    int depth = depth(root);
    int h = (depth + 2) * ROW + 40;
    StringBuilder s = new StringBuilder();
    s.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"monospace\" font-size=\"11\">%n",
            W,
            h));
    s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>%n", W, h));
    s.append(
        String.format(
            Locale.ROOT,
            "<text x=\"10\" y=\"18\" font-size=\"14\">Flame graph: %s (width = CPU samples;"
                + " bottom = thread group; hover for names)</text>%n",
            esc(title)));
    draw(s, root, 0, 0, W, h - 10, root.total);
    s.append("</svg>\n");
    Files.writeString(out, s.toString());
  }

  private static int depth(Node n) {
    int d = 0;
    for (Node k : n.kids.values()) {
      d = Math.max(d, depth(k));
    }
    return d + 1;
  }

  private static void draw(StringBuilder s, Node n, int level, double x, double w, int base, long all) {
    double y = base - (level + 1) * ROW;
    if (w < 1) {
      return; // narrower than a pixel: neither it nor its callees can be seen
    }
    {
      String label = n.name;
      int cut = label.lastIndexOf('.', label.lastIndexOf('.') - 1);
      String shortLabel = cut > 0 ? label.substring(cut + 1) : label;
      int hue = Math.abs(n.name.hashCode()) % 40;
      String fill =
          n.name.startsWith("ai.djl") || n.name.startsWith("org.bytedeco")
              ? String.format(Locale.ROOT, "hsl(%d,70%%,60%%)", 190 + hue)
              : String.format(Locale.ROOT, "hsl(%d,85%%,60%%)", 10 + hue);
      s.append(
          String.format(
              Locale.ROOT,
              "<g><title>%s (%d samples, %.2f%%)</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\""
                  + " height=\"%d\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.3\"/>",
              esc(n.name),
              n.total,
              100.0 * n.total / all,
              x,
              y,
              w,
              ROW - 1,
              fill));
      int chars = (int) (w / 6.6);
      if (chars >= 3) {
        String t = shortLabel.length() > chars ? shortLabel.substring(0, chars - 1) + "…" : shortLabel;
        s.append(
            String.format(
                Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", x + 2, y + ROW - 4, esc(t)));
      }
      s.append("</g>\n");
    }
    double cx = x;
    List<Node> kids = new ArrayList<>(n.kids.values());
    kids.sort(Comparator.comparing(k -> k.name));
    for (Node k : kids) {
      double kw = w * k.total / Math.max(1, n.total);
      draw(s, k, level + 1, cx, kw, base, all);
      cx += kw;
    }
  }

  private static String esc(String v) {
    return v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
