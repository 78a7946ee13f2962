package io.decostream.lab;

import io.decostream.lab.bench.BatchBench;
import io.decostream.lab.bench.BenchFigures;
import io.decostream.lab.bench.BenchJson;
import io.decostream.lab.bench.GroundingBench;
import io.decostream.lab.bench.MachineProbe;
import io.decostream.lab.bench.ModelBench;
import io.decostream.lab.bench.TtftPlot;
import io.decostream.nn.weights.Precision;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code deco bench}: the exact-model benchmark (CLIP-L/336 ViT, ~110M Llama prefill at 512, 1152
 * and 4608 tokens, fp32 and 16-bit decode, time to first token on 8/16/32-frame windows, DeCo 576
 * vs 144 tokens per frame, peak RSS), every Java figure beside this machine's own floor (issue 20
 * point 6), and optionally against plain PyTorch eager on the same CPU and the same weights. A thin
 * printer over {@link ModelBench}, which holds all DJL code (the cli never imports DJL).
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Benchmark the Java models against this machine's measured floors (sgemm, memory read) and,"
            + " when /usr/bin/python3 has torch, a plain-PyTorch eager reference (prints tables).")
public final class BenchCommand implements Callable<Integer> {

  @Option(names = "--quick", description = "Tiny sizes for a smoke run (seconds).")
  boolean quick;

  @Option(names = "--skip-python", description = "Run only the Java side.")
  boolean skipPython;

  @Option(
      names = "--python",
      defaultValue = "/usr/bin/python3",
      description = "Python with torch for the reference (default ${DEFAULT-VALUE}).")
  String python;

  @Option(
      names = "--threads",
      defaultValue = "2",
      description = "Intra-op threads, both sides (default ${DEFAULT-VALUE}).")
  int threads;

  @Option(
      names = "--warmups",
      defaultValue = "2",
      description =
          "Warm-up passes before timing (default ${DEFAULT-VALUE}); a live-window question on"
              + " the shortest window warms up "
              + ModelBench.LIVE_WARMUPS
              + " times as often.")
  int warmups;

  @Option(
      names = "--repeats",
      defaultValue = "5",
      description = "Timed passes, median reported (default ${DEFAULT-VALUE}).")
  int repeats;

  @Option(
      names = "--deco-repeats",
      defaultValue = "2",
      description = "Timed passes of the long DeCo prefills (default ${DEFAULT-VALUE}).")
  int decoRepeats;

  @Option(
      names = "--work-dir",
      description = "Where the random-weight safetensors go (default: a temp dir).")
  Path workDir;

  @Option(names = "--markdown", description = "Also write the table as Markdown to this file.")
  Path markdown;

  @Option(
      names = "--json",
      description =
          "Also write the figures, their floors and the machine's rates as JSON to this file.")
  Path json;

  @Option(
      names = "--plot",
      description =
          "Also draw time to first token against window length (with and without the live window)"
              + " as a PNG to this file.")
  Path plot;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Random seed of the weights (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--grounding",
      description =
          "Instead: the cost of R-GAE grounding, a grounded answer next to an "
              + "ungrounded one on the same model (8 frames x 144 tokens, a 25M-parameter Llama).")
  boolean grounding;

  @Option(
      names = "--half",
      defaultValue = "bf16",
      description =
          "The 16-bit weights of the 16-bit decode: bf16 or f16 (default ${DEFAULT-VALUE}: its"
              + " decode widens a weight with one integer op, F16's with three).")
  String half;

  @Option(
      names = "--new-tokens",
      defaultValue = "8",
      description = "With --grounding: tokens per answer " + "(default ${DEFAULT-VALUE}).")
  int newTokens;

  @Option(
      names = "--batch",
      description =
          "Instead: questions/s of the worker's batched answers (issue 22) at 1, 8 and 32"
              + " concurrent streams, batched and one at a time, on --batch-model.")
  boolean batch;

  @Option(
      names = "--batch-model",
      defaultValue = "models/shapes-demo",
      description =
          "With --batch: the llava_next_video pack, or 'random' for a random-weight pack with the"
              + " grounding benchmark's 25M-parameter Llama (answers run to the token limit instead"
              + " of the demo model's one-word answers) (default ${DEFAULT-VALUE}).")
  String batchModel;

  @Option(
      names = "--batch-frames",
      defaultValue = "8",
      description = "With --batch: frames in each stream's window (default ${DEFAULT-VALUE}).")
  int batchFrames;

  @Option(
      names = "--batch-questions",
      defaultValue = "6",
      description = "With --batch: timed questions per stream (default ${DEFAULT-VALUE}).")
  int batchQuestions;

  @Option(
      names = "--batch-new-tokens",
      defaultValue = "16",
      description = "With --batch: most tokens per answer (default ${DEFAULT-VALUE}).")
  int batchNewTokens;

  @Override
  public Integer call() throws IOException {
    Precision halfWeights = Precision.parse(half); // a bad --half fails before any work
    // DJL reads these when the PyTorch engine starts (ModelBench also sets intra-op threads
    // explicitly)
    System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
    System.setProperty("ai.djl.pytorch.num_interop_threads", Integer.toString(threads));
    if (batch) {
      Path pack = Path.of(batchModel);
      if (batchModel.equals("random")) {
        pack = Files.createTempDirectory("deco-bench-batch").resolve("pack");
        io.decostream.nn.tiny.TinyPack.write(pack, GroundingBench.spec(quick), seed);
      }
      List<BatchBench.Row> rows =
          BatchBench.run(
              pack,
              new int[] {1, 8, 32},
              batchFrames,
              batchNewTokens,
              batchQuestions,
              seed,
              line -> System.err.println("[bench] " + line));
      String table = BatchBench.table(rows);
      System.out.println(table);
      if (markdown != null) {
        Files.writeString(markdown, table);
      }
      return 0;
    }
    Path dir = workDir != null ? workDir : Files.createTempDirectory("deco-bench");
    if (grounding) {
      GroundingBench.Result g =
          GroundingBench.run(
              dir,
              quick,
              8,
              newTokens,
              warmups,
              repeats,
              seed,
              line -> System.err.println("[bench] " + line));
      String table = groundingTable(g);
      System.out.println(table);
      if (markdown != null) {
        Files.writeString(markdown, table);
      }
      return 0;
    }
    // the PyTorch reference is optional (issue 20 point 6): a fresh machine has no torch, and the
    // Java figures stand on their own against this machine's floors
    String pythonNote =
        skipPython ? "skipped (--skip-python)" : ModelBench.pythonTorchMissing(python);
    if (pythonNote != null) {
      System.out.println("PyTorch reference: " + pythonNote + "; printing the Java figures only.");
    }
    ModelBench.Options o =
        new ModelBench.Options(
            quick ? ModelBench.Sizes.quick() : ModelBench.Sizes.full(),
            warmups,
            repeats,
            decoRepeats,
            threads,
            pythonNote == null,
            python,
            dir,
            seed,
            halfWeights);
    ModelBench.Result r = ModelBench.run(o, line -> System.err.println("[bench] " + line));
    String table = table(r, pythonNote);
    System.out.println(table);
    if (markdown != null) {
      try {
        Files.writeString(markdown, table);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + markdown, e);
      }
    }
    if (json != null) {
      BenchJson.write(r, json);
      System.err.println("[bench] wrote " + json);
    }
    if (plot != null) {
      System.setProperty("java.awt.headless", "true");
      TtftPlot.write(r, plot);
      System.err.println("[bench] wrote " + plot);
    }
    return 0;
  }

  /**
   * The results as a Markdown table (Java, PyTorch, Java/PyTorch speed ratio) plus the DeCo window
   * figures.
   */
  static String table(ModelBench.Result r, String pythonNote) {
    StringBuilder b = new StringBuilder();
    header(b, r, pythonNote);
    floorRows(b, r);
    b.append(
        "| measure | Java (DJL) | PyTorch eager | Java / PyTorch speed |\n|---|---:|---:|---:|\n");
    modelRows(b, r);
    decoRows(b, r);
    memoryRows(b, r);
    rawSamples(b, r);
    return b.toString();
  }

  /** The machine, both engines and the model sizes, so a table can be read on its own. */
  private static void header(StringBuilder b, ModelBench.Result r, String pythonNote) {
    ModelBench.Sizes s = r.options().sizes();
    ModelBench.Side j = r.java();
    ModelBench.Side p = r.python();
    b.append(
        String.format(
            Locale.ROOT,
            "Machine: %d CPUs, %s. Java: %s, %d threads. PyTorch: %s.%n",
            r.nproc(),
            r.cpuModel(),
            j.engine(),
            j.threads(),
            p == null
                ? (pythonNote == null ? "skipped" : pythonNote)
                : p.engine() + ", " + p.threads() + " threads"));
    b.append(
        String.format(
            Locale.ROOT,
            "Vision %.1fM params (to layer %d of %d), text %.1fM params; warm-ups %d, "
                + "median of %d (DeCo prefills: median of %d).%n%n",
            r.visionParams() / 1e6,
            s.featureLayer(),
            s.vision().numHiddenLayers(),
            r.textParams() / 1e6,
            r.options().warmups(),
            r.options().repeats(),
            r.options().decoRepeats()));
  }

  /**
   * Every Java figure beside this machine's floor (issue 20 point 6): the machine's measured sgemm
   * and read rates, then per figure the measured value, the floor and the fraction of the floor
   * reached (for a time: floor / time; for a rate: rate / floor), then the DeCo effect as measured
   * time ratio beside FLOP ratio.
   */
  private static void floorRows(StringBuilder b, ModelBench.Result r) {
    ModelBench.Sizes s = r.options().sizes();
    MachineProbe.Machine mc = r.machine();
    BenchFigures f = BenchFigures.of(r);
    b.append(
        String.format(
            Locale.ROOT,
            "This machine at %d threads: sgemm %.1f GFLOP/s (%d^3 fp32, libtorch, best of 5); "
                + "memory read %.1f GB/s (%s, %d MiB; plain Java %.1f, libtorch sum %.1f).%n%n",
            r.options().threads(),
            mc.gflops(),
            mc.gemmN(),
            mc.bandwidthGBs(),
            mc.bandwidthMethod(),
            mc.readBytes() >> 20,
            mc.javaGBs(),
            mc.torchGBs()));
    b.append("| Java figure | measured | floor | of floor |\n|---|---:|---:|---:|\n");
    floorRow(
        b,
        "ViT forward per frame, s",
        f.vitSecondsPerFrame(),
        f.vitFloorSecondsPerFrame(),
        true,
        "%.4g");
    List<Integer> t = s.prefillTokens();
    String[] what = {
      "",
      " (" + s.frames() + " frames x " + s.decoTokensPerFrame() + ")",
      " (" + s.frames() + " frames x " + s.fullTokensPerFrame() + ")"
    };
    for (int k = 0; k < t.size(); k++) {
      floorRow(
          b,
          "prefill " + t.get(k) + " tokens" + what[k] + ", tok/s",
          f.prefillTokPerS().get(t.get(k)),
          f.prefillFloorTokPerS().get(t.get(k)),
          false,
          "%.1f");
    }
    floorRow(
        b,
        "decode " + s.decodeTokens() + " tokens, fp32 weights, tok/s",
        f.decodeTokPerS(),
        f.decodeFloorTokPerS(),
        false,
        "%.1f");
    floorRow(
        b,
        "decode " + s.decodeTokens() + " tokens, 16-bit weights, tok/s",
        f.decodeTokPerS16(),
        f.decodeFloorTokPerS16(),
        false,
        "%.1f");
    for (int n : s.ttftFrames()) {
      floorRow(
          b,
          "first token, live window of " + n + " frames, ms",
          f.ttftMs().get(n),
          f.ttftFloorMs().get(n),
          true,
          "%.1f");
    }
    for (int n : s.ttftFrames()) {
      floorRow(
          b,
          "first token, full re-prefill of " + n + " frames, ms",
          f.ttftMsFullPrefill().get(n),
          f.ttftFloorMsFullPrefill().get(n),
          true,
          "%.1f");
    }
    floorRow(
        b, "peak RSS, ViT phase, MiB", f.peakRssVitMiB(), f.peakRssFloorVitMiB(), true, "%.0f");
    floorRow(
        b,
        "peak RSS, Llama phase (fp32), MiB",
        f.peakRssLlmMiB(),
        f.peakRssFloorLlmMiB(),
        true,
        "%.0f");
    b.append(
        String.format(
            Locale.ROOT,
            "%nFloors: decode reads %.1f MB of fp32 weights (%.1f MB at 16 bits) plus %.1f MB of "
                + "fp32 KV cache per token (average position of the %d decode steps after a %d-token "
                + "prompt), at the memory read measured again just before each decode sample "
                + "(median %.1f GB/s for fp32, %.1f for 16-bit: this machine's bandwidth drifts); "
                + "prefill counts 2 FLOPs per weight per token, the lm head on the last row "
                + "and causal attention; first token: the larger of FLOPs / sgemm and bytes / "
                + "bandwidth; a question is %d tokens after N frames x %d tokens.%n",
            f.decodeWeightBytesPerToken() / 1e6,
            f.decodeWeightBytesPerToken() / 2e6,
            f.decodeKvBytesPerToken() / 1e6,
            s.decodeTokens(),
            s.promptTokens(),
            f.decodeBandwidthGBs(),
            f.decodeBandwidthGBs16(),
            s.questionTokens(),
            s.decoTokensPerFrame()));
    b.append(
        String.format(
            Locale.ROOT,
            "Memory floors: fp32 weights (Llama: plus its largest KV cache, %d positions); the "
                + "peaks include the JVM's resident set at each phase's start: %s MiB (ViT), %s MiB "
                + "(Llama, whose peak is measured in a JVM of its own doing the phase's largest "
                + "work: that cache filled by a prefill, a question and decode).%n",
            BenchFigures.largestCache(s),
            mib(r.javaRssBeforeVitKb()),
            mib(r.javaRssBeforeLlamaKb())));
    b.append(
        String.format(
            Locale.ROOT,
            "16-bit decode: %s. Live window: %s.%n",
            r.decode16() == null ? r.decode16Note() : "measured, " + r.decode16Note(),
            r.liveWindow()));
    b.append(
        String.format(
            Locale.ROOT,
            "DeCo effect, %d frames at %d vs %d tokens per frame: measured prefill time ratio %.2fx, "
                + "FLOP ratio %.2fx.%n%n",
            s.frames(),
            s.fullTokensPerFrame(),
            s.decoTokensPerFrame(),
            f.decoTimeRatio(),
            f.decoFlopRatio()));
  }

  /**
   * One figure beside its floor; {@code lowerIsBetter}: a time (fraction = floor / measured), else
   * a rate (measured / floor). A missing figure shows "n/a".
   */
  private static void floorRow(
      StringBuilder b,
      String name,
      Double measured,
      Double floor,
      boolean lowerIsBetter,
      String format) {
    String m = measured == null ? "n/a" : String.format(Locale.ROOT, format, measured);
    String fl = floor == null ? "n/a" : String.format(Locale.ROOT, format, floor);
    String frac = "-";
    if (measured != null && floor != null && measured > 0 && floor > 0) {
      frac =
          String.format(Locale.ROOT, "%.2f", lowerIsBetter ? floor / measured : measured / floor);
    }
    b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s |%n", name, m, fl, frac));
  }

  /** Measures (a) ViT per frame and (b) Llama prefill and KV-cached decode. */
  private static void modelRows(StringBuilder b, ModelBench.Result r) {
    ModelBench.Sizes s = r.options().sizes();
    ModelBench.Side j = r.java();
    ModelBench.Side p = r.python();
    row(
        b,
        "(a) ViT forward per frame, ms",
        j.vitPerFrame().medianMs(),
        p == null ? null : p.vitPerFrame().medianMs(),
        true);
    row(
        b,
        "(b) prefill " + s.promptTokens() + " tokens, tokens/s",
        j.prefill().perSecond(s.promptTokens()),
        p == null ? null : p.prefill().perSecond(s.promptTokens()),
        false);
    row(
        b,
        "(b) decode " + s.decodeTokens() + " tokens (KV cache), tokens/s",
        j.decode().perSecond(s.decodeTokens()),
        p == null ? null : p.decode().perSecond(s.decodeTokens()),
        false);
  }

  /**
   * Measure (c), the DeCo effect: prefill at the full and the compressed tokens per frame, the
   * speed-up between them, and how many frames each fits in the context window.
   */
  private static void decoRows(StringBuilder b, ModelBench.Result r) {
    ModelBench.Sizes s = r.options().sizes();
    ModelBench.Side j = r.java();
    ModelBench.Side p = r.python();
    int full = s.frames() * s.fullTokensPerFrame();
    int deco = s.frames() * s.decoTokensPerFrame();
    row(
        b,
        "(c) prefill "
            + s.frames()
            + " frames x "
            + s.fullTokensPerFrame()
            + " = "
            + full
            + " tokens, ms",
        j.decoFull().medianMs(),
        p == null ? null : p.decoFull().medianMs(),
        true);
    row(
        b,
        "(c) prefill "
            + s.frames()
            + " frames x "
            + s.decoTokensPerFrame()
            + " = "
            + deco
            + " tokens, ms",
        j.decoCompressed().medianMs(),
        p == null ? null : p.decoCompressed().medianMs(),
        true);
    row(
        b,
        "(c) DeCo prefill speed-up ("
            + s.fullTokensPerFrame()
            + " / "
            + s.decoTokensPerFrame()
            + " tpf), x",
        j.decoFull().medianMs() / j.decoCompressed().medianMs(),
        p == null ? null : p.decoFull().medianMs() / p.decoCompressed().medianMs(),
        null);
    for (int[] fit :
        new int[][] {
          {s.fullTokensPerFrame(), r.framesFitFull()}, {s.decoTokensPerFrame(), r.framesFitDeco()}
        }) {
      // pure arithmetic, the same for both engines: floor((window - reserved) / tokens per frame)
      b.append(
          String.format(
              Locale.ROOT,
              "| (c) frames fitting a %d-token window (%d reserved for text) at %d tokens/frame"
                  + " | %d | %d | |%n",
              s.window(),
              s.reservedTextTokens(),
              fit[0],
              fit[1],
              fit[1]));
    }
  }

  /** Measure (d), peak RSS per phase, with the JVM baseline that the Java peaks include. */
  private static void memoryRows(StringBuilder b, ModelBench.Result r) {
    ModelBench.Side j = r.java();
    ModelBench.Side p = r.python();
    rowMem(b, "(d) peak RSS, ViT phase, MiB", j.vitPeakRssKb(), p == null ? -2 : p.vitPeakRssKb());
    rowMem(
        b,
        "(d) peak RSS, Llama phase, MiB",
        j.llamaPeakRssKb(),
        p == null ? -2 : p.llamaPeakRssKb());
    b.append(
        String.format(
            Locale.ROOT,
            "%nJava peak RSS includes the JVM's resident set at the start of each phase "
                + "(after GC, before loading weights): %s MiB (ViT), %s MiB (Llama, in a JVM of its own). PyTorch peak: VmHWM of the script.%n",
            mib(r.javaRssBeforeVitKb()),
            mib(r.javaRssBeforeLlamaKb())));
  }

  /** Every timing sample behind the medians, so noisy runs show. */
  private static void rawSamples(StringBuilder b, ModelBench.Result r) {
    ModelBench.Sizes s = r.options().sizes();
    ModelBench.Side j = r.java();
    ModelBench.Side p = r.python();
    int full = s.frames() * s.fullTokensPerFrame();
    int deco = s.frames() * s.decoTokensPerFrame();
    b.append(String.format(Locale.ROOT, "%nRaw samples, ms (medians above):%n"));
    samples(b, "ViT per frame", j.vitPerFrame(), p == null ? null : p.vitPerFrame());
    samples(b, "prefill " + s.promptTokens(), j.prefill(), p == null ? null : p.prefill());
    samples(b, "decode " + s.decodeTokens(), j.decode(), p == null ? null : p.decode());
    samples(b, "prefill " + full, j.decoFull(), p == null ? null : p.decoFull());
    samples(b, "prefill " + deco, j.decoCompressed(), p == null ? null : p.decoCompressed());
    if (r.decode16() != null) {
      samples(b, "decode " + s.decodeTokens() + ", 16-bit", r.decode16(), null);
    }
    for (int n : s.ttftFrames()) {
      samples(b, "first token, live window " + n + " frames", r.ttftLive().get(n), null);
      samples(b, "first token, full re-prefill " + n + " frames", r.ttftFull().get(n), null);
    }
  }

  private static void samples(
      StringBuilder b, String name, ModelBench.Stat java, ModelBench.Stat py) {
    b.append(
        String.format(
            Locale.ROOT,
            "- %s: Java %s; PyTorch %s%n",
            name,
            fmt(java),
            py == null ? "-" : fmt(py)));
  }

  private static String fmt(ModelBench.Stat st) {
    return st.samplesMs().stream()
        .map(x -> String.format(Locale.ROOT, "%.0f", x))
        .collect(java.util.stream.Collectors.joining(", ", "[", "]"));
  }

  /**
   * A row; {@code lowerIsBetter} true for times (speed ratio = PyTorch / Java), false for rates,
   * null: no ratio.
   */
  static String groundingTable(GroundingBench.Result g) {
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            "R-GAE grounding cost: %d frames x %d tokens (prompt %d tokens), %d generated tokens, "
                + "Llama ~%.0fM parameters, %d threads%n%n",
            g.frames(),
            g.tokensPerFrame(),
            g.promptTokens(),
            g.generatedTokens(),
            g.textParams() / 1e6,
            Runtime.getRuntime().availableProcessors()));
    b.append("| answer | median ms | min ms | peak RSS MiB |\n|---|---:|---:|---:|\n");
    b.append(
        String.format(
            "| ungrounded (prefill + %d decode steps) | %.0f | %.0f | %s |%n",
            g.generatedTokens(),
            g.ungrounded().medianMs(),
            g.ungrounded().minMs(),
            mib(g.answerPeakRssKb())));
    b.append(
        String.format(
            "| grounded (the answer + %d tapped forward/backward passes) | %.0f | %.0f | %s |%n",
            g.generatedTokens(),
            g.groundedMedianMs(),
            g.ungrounded().minMs() + g.explain().minMs(),
            mib(g.groundedPeakRssKb())));
    b.append(
        String.format(
            "| of which R-GAE, per explained token | %.0f | %.0f | |%n",
            g.explain().medianMs() / g.generatedTokens(),
            g.explain().minMs() / g.generatedTokens()));
    b.append(
        String.format(
            "%ngrounded / ungrounded: %.1fx. Ungrounded answers run the untapped inference path "
                + "(the taps are a separate method), so they cost the same whether or not grounding exists.%n",
            g.groundedMedianMs() / g.ungrounded().medianMs()));
    return b.toString();
  }

  private static void row(
      StringBuilder b, String name, double java, Double py, Boolean lowerIsBetter) {
    String ratio = "";
    if (py != null && lowerIsBetter != null) {
      ratio = String.format(Locale.ROOT, "%.2fx", lowerIsBetter ? py / java : java / py);
    }
    b.append(
        String.format(
            Locale.ROOT,
            "| %s | %.1f | %s | %s |%n",
            name,
            java,
            py == null ? "-" : String.format(Locale.ROOT, "%.1f", py),
            ratio));
  }

  private static void rowMem(StringBuilder b, String name, long javaKb, long pyKb) {
    b.append(
        String.format(
            Locale.ROOT, "| %s | %s | %s | |%n", name, mib(javaKb), pyKb == -2 ? "-" : mib(pyKb)));
  }

  private static String mib(long kb) {
    return kb < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f", kb / 1024.0);
  }

  /** Direct launch (until the lead registers {@code bench} in {@link Deco}). */
  public static void main(String[] args) {
    System.exit(new CommandLine(new BenchCommand()).execute(args));
  }
}
