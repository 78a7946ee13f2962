package io.decostream.lab.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.decostream.nn.clip.ClipVisionTower;
import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.generate.Generator;
import io.decostream.nn.generate.Sampler;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.safetensors.SafeTensorsWriter;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.Precision;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Model benchmark of the exact-model path (CLIP vision tower, spec §1.3; Llama with KV cache, spec
 * §4.2/§4.3) against a plain-PyTorch eager reference ({@code torch_reference.py}, a resource beside
 * this class) run on the same CPU, with the same thread count, over the same random-weight
 * safetensors files written here by {@link SafeTensorsWriter}.
 *
 * <p>Measures first this machine's sgemm and memory-read rates ({@link MachineProbe}, the inputs of
 * the {@link Floors}), then (a) ViT forward per frame up to LLaVA's feature layer, (b) Llama
 * prefill and KV-cached decode throughput (fp32, and 16-bit where {@link BenchModels} can load it),
 * (c) the DeCo effect: prefill time of {@code frames} frames at the full vs the compressed token
 * count per frame and how many frames fit a context window, (d) peak resident memory per phase, (e)
 * time to a question's first token over windows of frames, by full re-prefill and on a {@link
 * LiveWindow}. Phases run Java then Python (when asked) back to back, each side's weights released
 * before the other starts; the reference covers (a) to (d). Prints nothing itself (progress goes to
 * the {@code log} consumer); the caller formats the {@link Result}.
 */
public final class ModelBench {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Resource name of the PyTorch reference script. */
  public static final String SCRIPT = "torch_reference.py";

  private ModelBench() {}

  /**
   * Model sizes and workload of one run.
   *
   * @param promptTokens the plain prefill and the decode's prompt (512)
   * @param frames frames of the DeCo prefills: {@code frames x decoTokensPerFrame} (1152) and
   *     {@code frames x fullTokensPerFrame} (4608) tokens
   * @param ttftFrames window lengths of the time-to-first-token runs, in frames of {@code
   *     decoTokensPerFrame} tokens
   * @param questionTokens a question's own tokens after the window
   * @param gemmN matrix size of the sgemm probe (n x n x n)
   * @param readBytes buffer size of the memory-read probe
   */
  public record Sizes(
      ClipVisionConfig vision,
      int featureLayer,
      LlamaConfig text,
      int promptTokens,
      int decodeTokens,
      int frames,
      int fullTokensPerFrame,
      int decoTokensPerFrame,
      int window,
      int reservedTextTokens,
      List<Integer> ttftFrames,
      int questionTokens,
      int gemmN,
      long readBytes) {
    public Sizes {
      Objects.requireNonNull(vision, "vision");
      Objects.requireNonNull(text, "text");
      vision = vision.resolved();
      text = text.resolved();
      ttftFrames = List.copyOf(Objects.requireNonNull(ttftFrames, "ttftFrames"));
      require(
          featureLayer >= 1 && featureLayer <= vision.numHiddenLayers(),
          "featureLayer must be in [1, " + vision.numHiddenLayers() + "], got " + featureLayer);
      require(
          promptTokens >= 1 && decodeTokens >= 1 && frames >= 1,
          "prompt, decode and frames must be >= 1");
      require(fullTokensPerFrame >= 1 && decoTokensPerFrame >= 1, "tokens per frame must be >= 1");
      require(
          reservedTextTokens >= 0 && window > reservedTextTokens,
          "window must exceed the reserved text tokens");
      require(
          !ttftFrames.isEmpty() && ttftFrames.stream().allMatch(f -> f >= 1),
          "ttftFrames must be a non-empty list of frame counts >= 1");
      require(questionTokens >= 1, "questionTokens must be >= 1");
      require(gemmN >= 16, "gemmN must be >= 16");
      require(
          readBytes >= (1 << 20) && readBytes <= (1L << 30),
          "readBytes must be in [1 MiB, 1 GiB], got " + readBytes);
      int longest =
          Math.max(
              Math.max(
                  promptTokens + decodeTokens,
                  frames * Math.max(fullTokensPerFrame, decoTokensPerFrame)),
              maxFrames(ttftFrames) * decoTokensPerFrame + questionTokens);
      require(
          longest <= text.maxPositionEmbeddings(),
          "the workload needs "
              + longest
              + " positions but max_position_embeddings is "
              + text.maxPositionEmbeddings());
    }

    /**
     * CLIP-L/14-336 to layer 23, a ~110M Llama (768/12/12/2048, vocab 32000, tied), 512+128 tokens,
     * 8 frames, questions of 20 tokens on windows of 8, 16 and 32 frames x 144 tokens, a 2048^3
     * sgemm and a 1 GiB read.
     */
    public static Sizes full() {
      return new Sizes(
          new ClipVisionConfig(null, 1024, 4096, 24, 16, 3, 336, 14, "quick_gelu", 1e-5, 768),
          23,
          llama(768, 12, 12, 2048, 32000, 8192),
          512,
          128,
          8,
          576,
          144,
          4096,
          256,
          List.of(8, 16, 32),
          20,
          2048,
          1L << 30);
    }

    /**
     * Tiny models for a smoke run (seconds): the same code paths and the same token counts (so the
     * JSON has the same keys), a 512^3 sgemm and a 256 MiB read.
     */
    public static Sizes quick() {
      return new Sizes(
          new ClipVisionConfig(null, 64, 128, 3, 4, 3, 56, 14, "quick_gelu", 1e-5, 32),
          2,
          llama(64, 2, 4, 128, 256, 8192),
          512,
          8,
          8,
          576,
          144,
          4096,
          256,
          List.of(8, 16, 32),
          20,
          512,
          256L << 20);
    }

    /** Tokens of the three prefills: the prompt, frames x 144, frames x 576. */
    public List<Integer> prefillTokens() {
      return List.of(promptTokens, frames * decoTokensPerFrame, frames * fullTokensPerFrame);
    }

    static LlamaConfig llama(int hidden, int layers, int heads, int inter, int vocab, int context) {
      return new LlamaConfig(
          "llama", vocab, hidden, inter, layers, heads, heads, null, "silu", context, 1e-6, 10000.0,
          null, false, true, 1, 2, null);
    }
  }

  static int maxFrames(List<Integer> frames) {
    return frames.stream().mapToInt(Integer::intValue).max().orElse(0);
  }

  /** How to run. */
  public record Options(
      Sizes sizes,
      int warmups,
      int repeats,
      int decoRepeats,
      int threads,
      boolean python,
      String pythonExe,
      Path workDir,
      long seed,
      Precision half) {
    public Options {
      Objects.requireNonNull(sizes, "sizes");
      Objects.requireNonNull(half, "half");
      require(half != Precision.F32, "the 16-bit decode needs F16 or BF16 weights");
      Objects.requireNonNull(workDir, "workDir");
      require(warmups >= 0, "warmups must be >= 0");
      require(repeats >= 1 && decoRepeats >= 1, "repeats must be >= 1");
      require(threads >= 1, "threads must be >= 1");
      require(
          !python || (pythonExe != null && !pythonExe.isBlank()),
          "pythonExe is required when python is on");
    }
  }

  /** Timing samples in milliseconds. */
  public record Stat(List<Double> samplesMs) {
    public Stat {
      samplesMs = List.copyOf(samplesMs);
      require(!samplesMs.isEmpty(), "a timing needs at least one sample");
    }

    public double medianMs() {
      double[] s = samplesMs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    public double minMs() {
      return samplesMs.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
    }

    /** Items per second at the median time. */
    public double perSecond(int items) {
      return items * 1000.0 / medianMs();
    }
  }

  /**
   * One engine's figures.
   *
   * @param vitPeakRssKb peak RSS during the ViT phase (-1 when it cannot be read)
   * @param llamaPeakRssKb peak RSS during the Llama phase
   */
  public record Side(
      String engine,
      int threads,
      Stat vitPerFrame,
      Stat prefill,
      Stat decode,
      Stat decoFull,
      Stat decoCompressed,
      long vitPeakRssKb,
      long llamaPeakRssKb) {}

  /**
   * A complete run; {@code python} is null when the reference was skipped. {@code
   * javaRssBeforeVitKb} / {@code javaRssBeforeLlamaKb}: the JVM's resident set when each phase
   * starts (after GC, before loading the weights), the baseline inside the Java peak figures.
   * {@code decode16} is null (and {@code decode16Note} says why) while 16-bit weights are not
   * available; {@code ttftFull} / {@code ttftLive}: time to a question's first token by window
   * length in frames, with a full re-prefill of window and question, and on a live window ({@code
   * liveWindow} names its implementation). {@code decodeReadGBs} / {@code decode16ReadGBs}: the
   * memory read made just before each decode sample (same order), the floor each is compared with.
   */
  public record Result(
      Options options,
      long visionParams,
      long textParams,
      Side java,
      Side python,
      int framesFitFull,
      int framesFitDeco,
      String cpuModel,
      int nproc,
      boolean peakResetWorked,
      long javaRssBeforeVitKb,
      long javaRssBeforeLlamaKb,
      MachineProbe.Machine machine,
      Stat decode16,
      String decode16Note,
      Map<Integer, Stat> ttftFull,
      Map<Integer, Stat> ttftLive,
      String liveWindow,
      List<Double> decodeReadGBs,
      List<Double> decode16ReadGBs) {
    public Result {
      ttftFull = Collections.unmodifiableMap(new TreeMap<>(ttftFull));
      ttftLive = Collections.unmodifiableMap(new TreeMap<>(ttftLive));
      decodeReadGBs = List.copyOf(decodeReadGBs);
      decode16ReadGBs = List.copyOf(decode16ReadGBs);
    }
  }

  /**
   * Frames that fit a window after reserving text tokens: floor((window - reserved) /
   * tokensPerFrame).
   */
  public static int framesThatFit(int window, int reservedTextTokens, int tokensPerFrame) {
    require(
        tokensPerFrame >= 1 && window > reservedTextTokens && reservedTextTokens >= 0,
        "invalid window arithmetic");
    return (window - reservedTextTokens) / tokensPerFrame;
  }

  /** Runs every phase; {@code log} receives progress lines. */
  public static Result run(Options o, Consumer<String> log) {
    Sizes s = o.sizes();
    try {
      Files.createDirectories(o.workDir());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + o.workDir(), e);
    }
    Path visionFile = o.workDir().resolve("bench-vision.safetensors");
    Path textFile = o.workDir().resolve("bench-text.safetensors");
    Path script = extractScript(o.workDir());
    Path cfgFile = o.workDir().resolve("bench-config.json");
    writePythonConfig(o, visionFile, textFile, cfgFile);
    try (NDManager root = NDManager.newBaseManager()) {
      // DJL reads ai.djl.pytorch.num_threads only when the engine starts; set intra-op threads
      // explicitly too
      JniUtils.setNumThreads(o.threads());
      int djlThreads = JniUtils.getNumThreads();
      // the machine's own floors first, at the same thread count, before any weights are loaded
      MachineProbe.Machine machine =
          MachineProbe.measure(root, s.gemmN(), s.readBytes(), o.threads(), 5, log);
      // Each phase runs Java then Python back to back, each side's weights released before the
      // other starts, so the peak RSS of one side does not include the other's.
      VitRun vit = javaVit(o, root, visionFile, log);
      JsonNode pyVit = o.python() ? python(o, script, cfgFile, "vit", log) : null;
      LlamaRun llama = javaLlama(o, root, textFile, log);
      JsonNode pyText = o.python() ? python(o, script, cfgFile, "llama", log) : null;
      Side java = javaSide(djlThreads, vit, llama);
      Side py = o.python() ? pythonSide(pyVit, pyText) : null;
      return new Result(
          o,
          vit.params(),
          llama.params(),
          java,
          py,
          framesThatFit(s.window(), s.reservedTextTokens(), s.fullTokensPerFrame()),
          framesThatFit(s.window(), s.reservedTextTokens(), s.decoTokensPerFrame()),
          cpuModel(),
          Runtime.getRuntime().availableProcessors(),
          vit.peakReset(),
          vit.rssBeforeKb(),
          llama.rssBeforeKb(),
          machine,
          llama.decode16() == null ? null : llama.decode16().time(),
          llama.decode16Note(),
          llama.ttftFull(),
          llama.ttftLive(),
          llama.liveWindow(),
          llama.decode().readGBs(),
          llama.decode16() == null ? List.of() : llama.decode16().readGBs());
    } finally {
      deleteQuietly(visionFile);
      deleteQuietly(textFile);
    }
  }

  /** Java's phase (a): parameters, peak reset, RSS before and peak RSS, ViT time per frame. */
  private record VitRun(long params, boolean peakReset, long rssBeforeKb, Stat vit, long peakKb) {}

  /**
   * Java's phases (b) and (c): parameters, RSS before and peak RSS (fp32 model), the four timings,
   * the 16-bit decode (null with a note while unavailable) and time to first token.
   */
  private record LlamaRun(
      long params,
      long rssBeforeKb,
      Stat prefill,
      DecodeRun decode,
      Stat decoFull,
      Stat decoCompressed,
      long peakKb,
      DecodeRun decode16,
      String decode16Note,
      Map<Integer, Stat> ttftFull,
      Map<Integer, Stat> ttftLive,
      String liveWindow) {}

  /** Phase (a) on the Java side: the CLIP tower's forward of one frame up to the feature layer. */
  private static VitRun javaVit(Options o, NDManager root, Path visionFile, Consumer<String> log) {
    Sizes s = o.sizes();
    log.accept("writing random CLIP weights to " + visionFile);
    long visionParams = writeVision(s, visionFile, o.seed());
    boolean reset = resetPeak();
    long rssBeforeVit = statusKb("VmRSS:");
    Stat vit;
    try (CheckpointWeights w = CheckpointWeights.open(visionFile, root);
        ClipVisionTower tower =
            new ClipVisionTower(w.scoped("vision_model."), s.vision(), s.featureLayer(), true);
        NDManager m = root.newSubManager()) {
      int px = s.vision().imageSize();
      NDArray pixels = m.randomNormal(new Shape(1, 3, px, px));
      log.accept("java: ViT forward to layer " + s.featureLayer());
      vit =
          time(
              o.warmups(),
              o.repeats(),
              () -> tower.forward(pixels, s.featureLayer(), true).close());
    }
    return new VitRun(visionParams, reset, rssBeforeVit, vit, peakRssKb());
  }

  /**
   * Phases (b) and (c) on the Java side: prefill of the prompt, KV-cached greedy decode, the DeCo
   * prefill of the frames at the compressed and at the full token count per frame, and time to a
   * question's first token over windows of frames; then the 16-bit decode where available.
   */
  private static LlamaRun javaLlama(
      Options o, NDManager root, Path textFile, Consumer<String> log) {
    Sizes s = o.sizes();
    log.accept("writing random Llama weights to " + textFile);
    long textParams = writeText(s, textFile, o.seed() + 1);
    resetPeak();
    long rssBeforeLlama = statusKb("VmRSS:");
    Stat prefill;
    DecodeRun decode;
    Stat decoFull;
    Stat decoCompressed;
    Map<Integer, Stat> ttftFull = new TreeMap<>();
    Map<Integer, Stat> ttftLive = new TreeMap<>();
    String liveWindow;
    SplittableRandom rnd = new SplittableRandom(o.seed());
    int[] ids = rnd.ints(s.promptTokens(), 0, s.text().vocabSize()).toArray();
    int[] question = rnd.ints(s.questionTokens(), 0, s.text().vocabSize()).toArray();
    int cap = s.promptTokens() + s.decodeTokens();
    try (BenchModels.LoadedLlama loaded =
            BenchModels.loadLlama(textFile, s.text(), Precision.F32, root);
        NDManager m = root.newSubManager()) {
      LlamaModel model = loaded.model();
      log.accept("java: Llama prefill of " + s.promptTokens() + " tokens");
      prefill =
          time(
              o.warmups(),
              o.repeats(),
              () -> {
                try (NDManager step = m.newSubManager();
                    KvCache cache = model.newCache(cap)) {
                  model.prefill(model.embed(step, ids), cache, LlamaModel.DEFAULT_PREFILL_CHUNK);
                }
              });
      log.accept("java: Llama decode of " + s.decodeTokens() + " tokens (KV cache)");
      decode = timeDecode(model, m, ids, cap, s.decodeTokens(), o);
      decoCompressed =
          decoPrefill(
              model, m, s.frames() * s.decoTokensPerFrame(), o.warmups(), o.decoRepeats(), log);
      decoFull =
          decoPrefill(model, m, s.frames() * s.fullTokensPerFrame(), 0, o.decoRepeats(), log);
      liveWindow = timeFirstToken(o, model, m, question, ttftFull, ttftLive, log);
    }
    // the peak is read once the weights are released, as for the ViT phase
    long peak = peakRssKb();
    // ... but in this process the phase starts on what the floors and the ViT phase left resident,
    // so the figure reported is the phase's largest work in a JVM of its own, where it can run
    log.accept("java: the Llama phase's peak RSS in a JVM of its own");
    LlamaRssProbe.Result alone =
        LlamaRssProbe.inChild(textFile, o.sizes().equals(Sizes.quick()), o.threads(), log);
    if (alone != null) {
      log.accept(
          String.format(
              "java: Llama phase peak RSS %d MiB in this process (from %d MiB), %d MiB alone"
                  + " (from %d MiB)",
              peak / 1024, rssBeforeLlama / 1024, alone.peakKb() / 1024, alone.startKb() / 1024));
      peak = alone.peakKb();
      rssBeforeLlama = alone.startKb();
    }
    DecodeRun decode16;
    String decode16Note;
    // the 16-bit decode runs after the fp32 model is released, so the Llama phase's peak above is
    // the fp32 model's alone
    try (BenchModels.LoadedLlama half = BenchModels.loadLlama(textFile, s.text(), o.half(), root);
        NDManager m = root.newSubManager()) {
      log.accept("java: Llama decode of " + s.decodeTokens() + " tokens, 16-bit weights");
      decode16 = timeDecode(half.model(), m, ids, cap, s.decodeTokens(), o);
      decode16Note = "16-bit weights (" + half.precision() + ")";
    }
    return new LlamaRun(
        textParams,
        rssBeforeLlama,
        prefill,
        decode,
        decoFull,
        decoCompressed,
        peak,
        decode16,
        decode16Note,
        ttftFull,
        ttftLive,
        liveWindow);
  }

  /**
   * Time to a question's first token (issue 20 point 6) over windows of {@code ttftFrames} frames
   * of {@code decoTokensPerFrame} random visual embeddings, two ways: a full re-prefill of window
   * and question from an empty cache (what the worker did before its live window), and on a {@link
   * LiveWindow} prefilled frame by frame beforehand (untimed), where only the question's tokens
   * run. Both include the greedy pick of the first token. The full re-prefill warms up on the
   * shortest window only (the longest takes the longest of all the runs); the live window runs
   * {@link #LIVE_WARMUPS} questions per warm-up there, and the usual warm-ups on the others.
   * Returns the live window's description.
   */
  private static String timeFirstToken(
      Options o,
      LlamaModel model,
      NDManager m,
      int[] questionIds,
      Map<Integer, Stat> full,
      Map<Integer, Stat> live,
      Consumer<String> log) {
    Sizes s = o.sizes();
    int tpf = s.decoTokensPerFrame();
    String described = null;
    try (NDManager vm = m.newSubManager()) {
      NDArray frames =
          vm.randomNormal(
              0f,
              0.02f,
              new Shape((long) maxFrames(s.ttftFrames()) * tpf, model.hiddenSize()),
              ai.djl.ndarray.types.DataType.FLOAT32);
      NDArray question = model.embed(vm, questionIds);
      int first = s.ttftFrames().stream().mapToInt(Integer::intValue).min().orElseThrow();
      for (int n : s.ttftFrames()) {
        int windowTokens = n * tpf;
        int total = windowTokens + questionIds.length;
        log.accept(
            "java: first token of a "
                + questionIds.length
                + "-token question on "
                + n
                + " frames ("
                + windowTokens
                + " tokens): full re-prefill");
        try (NDManager pm = vm.newSubManager()) {
          NDArray prompt = frames.get("0:" + windowTokens).concat(question);
          prompt.attach(pm);
          full.put(
              n,
              time(
                  n == first ? o.warmups() : 0,
                  o.decoRepeats(),
                  () -> {
                    try (NDManager step = pm.newSubManager()) {
                      step.tempAttachAll(prompt);
                      // the worker's full path: the generator's chunked prefill, first token
                      new Generator(model, Set.of()).generate(prompt, 1, Sampler.greedy());
                    }
                  }));
        }
        log.accept("java: first token on " + n + " frames: live window");
        try (LiveWindow w = LiveWindow.open(model, total);
            NDManager fm = vm.newSubManager()) {
          for (int f = 0; f < n; f++) {
            NDArray frame = frames.get(f * tpf + ":" + (f + 1) * tpf);
            frame.attach(fm);
            w.appendFrame(frame);
          }
          if (w.length() != windowTokens) {
            throw new IllegalStateException(
                "live window holds " + w.length() + " positions, expected " + windowTokens);
          }
          // the JIT compiles the step's prompt kernels over a question's first few runs: with one
          // warm-up the shortest window's samples were 124, 125 and 72 ms, the next windows' steady
          int warm = n == first ? LIVE_WARMUPS * o.warmups() : o.warmups();
          live.put(n, time(warm, o.repeats(), () -> w.firstToken(question)));
          described = w.describe();
        }
      }
    }
    return described;
  }

  /** Live-window questions per warm-up on the shortest window (each about a tenth of a second). */
  public static final int LIVE_WARMUPS = 10;

  /** Decode samples, each with the memory read (GB/s) made just before it. */
  private record DecodeRun(Stat time, List<Double> readGBs) {}

  /**
   * (b) Decode throughput: after an untimed prefill of the prompt, {@code tokens} greedy steps
   * through the KV cache are timed together; one warm-up run, then {@code repeats} samples. Just
   * before each sample the machine's memory read is measured again (best of 3, as the probe's), so
   * that the decode is compared with the bandwidth of the same minute: this VM's drifts.
   */
  private static DecodeRun timeDecode(
      LlamaModel model, NDManager m, int[] ids, int cap, int tokens, Options o) {
    List<Double> dec = new ArrayList<>();
    List<Double> reads = new ArrayList<>();
    try (MachineProbe.Reader reader =
        new MachineProbe.Reader(m, o.sizes().readBytes(), o.threads())) {
      for (int r = -1; r < o.repeats(); r++) { // r = -1 is the warm-up
        try (NDManager step = m.newSubManager();
            KvCache cache = model.newCache(cap)) {
          float[] logits =
              model
                  .prefill(model.embed(step, ids), cache, LlamaModel.DEFAULT_PREFILL_CHUNK)
                  .toFloatArray();
          if (r >= 0) {
            reads.add(reader.readGBs(3));
          }
          long t0 = System.nanoTime();
          for (int i = 0; i < tokens; i++) { // serving's decode step, as the generator runs it
            logits = model.decodeNext(Sampler.argmax(logits), cache);
          }
          double ms = (System.nanoTime() - t0) / 1e6;
          if (r >= 0) {
            dec.add(ms);
          }
        }
      }
    }
    return new DecodeRun(new Stat(dec), reads);
  }

  /** The Java side's figures; peak RSS is -1 where /proc/self/clear_refs could not reset it. */
  private static Side javaSide(int djlThreads, VitRun vit, LlamaRun llama) {
    return new Side(
        "DJL "
            + ai.djl.engine.Engine.getInstance().getEngineName()
            + " "
            + ai.djl.engine.Engine.getInstance().getVersion(),
        djlThreads,
        vit.vit(),
        llama.prefill(),
        llama.decode().time(),
        llama.decoFull(),
        llama.decoCompressed(),
        vit.peakReset() ? vit.peakKb() : -1,
        vit.peakReset() ? llama.peakKb() : -1);
  }

  /** The PyTorch reference's figures, from the JSON its two phases print. */
  private static Side pythonSide(JsonNode pyVit, JsonNode pyText) {
    return new Side(
        "PyTorch " + pyVit.path("torch").asText() + " eager",
        pyVit.path("threads").asInt(),
        stat(pyVit, "vit_ms"),
        stat(pyText, "prefill_ms"),
        stat(pyText, "decode_ms"),
        stat(pyText, "deco_full_ms"),
        stat(pyText, "deco_compressed_ms"),
        pyVit.path("peak_rss_kb").asLong(),
        pyText.path("peak_rss_kb").asLong());
  }

  /**
   * (c) Prefill of {@code n} random visual embeddings (std 0.02, as projected features are small)
   * in one pass.
   */
  private static Stat decoPrefill(
      LlamaModel model, NDManager m, int n, int warmups, int repeats, Consumer<String> log) {
    log.accept("java: DeCo prefill of " + n + " visual tokens");
    try (NDManager vm = m.newSubManager()) {
      NDArray vis =
          vm.randomNormal(
              0f, 0.02f, new Shape(n, model.hiddenSize()), ai.djl.ndarray.types.DataType.FLOAT32);
      return time(
          warmups,
          repeats,
          () -> {
            try (NDManager step = vm.newSubManager();
                KvCache cache = model.newCache(n)) {
              step.tempAttachAll(vis);
              model.prefill(vis, cache, LlamaModel.DEFAULT_PREFILL_CHUNK).close();
            }
          });
    }
  }

  private static Stat time(int warmups, int repeats, Runnable r) {
    for (int i = 0; i < warmups; i++) {
      r.run();
    }
    List<Double> ms = new ArrayList<>();
    for (int i = 0; i < repeats; i++) {
      long t0 = System.nanoTime();
      r.run();
      ms.add((System.nanoTime() - t0) / 1e6);
    }
    return new Stat(ms);
  }

  // ------------------------------------------------------------------ random weights (HF names,
  // F32)

  /**
   * Uniform weights with std ~0.02 (keeps 23 random pre-LN layers finite); norms 1; biases small.
   */
  private static float[] rand(SplittableRandom r, long n, float std) {
    float[] a = new float[Math.toIntExact(n)];
    float half = (float) (std * Math.sqrt(3.0));
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) ((r.nextDouble() * 2 - 1) * half);
    }
    return a;
  }

  private static float[] ones(long n) {
    float[] a = new float[Math.toIntExact(n)];
    Arrays.fill(a, 1f);
    return a;
  }

  private static long add(SafeTensorsWriter w, String name, float[] data, long... shape) {
    w.addF32(name, shape, data);
    return data.length;
  }

  static long writeVision(Sizes s, Path file, long seed) {
    ClipVisionConfig c = s.vision();
    SplittableRandom r = new SplittableRandom(seed);
    SafeTensorsWriter w = new SafeTensorsWriter();
    int d = c.hiddenSize();
    int i = c.intermediateSize();
    int p = c.patchSize();
    int g = c.gridSize();
    String v = "vision_model.";
    long n = 0;
    n += add(w, v + "embeddings.class_embedding", rand(r, d, 0.02f), d);
    n +=
        add(
            w,
            v + "embeddings.patch_embedding.weight",
            rand(r, (long) d * 3 * p * p, 0.02f),
            d,
            3,
            p,
            p);
    n +=
        add(
            w,
            v + "embeddings.position_embedding.weight",
            rand(r, (long) (g * g + 1) * d, 0.02f),
            g * g + 1,
            d);
    n += add(w, v + "pre_layrnorm.weight", ones(d), d);
    n += add(w, v + "pre_layrnorm.bias", rand(r, d, 0.02f), d);
    for (int l = 0; l < c.numHiddenLayers(); l++) {
      String k = v + "encoder.layers." + l + ".";
      n += add(w, k + "layer_norm1.weight", ones(d), d);
      n += add(w, k + "layer_norm1.bias", rand(r, d, 0.02f), d);
      for (String proj : List.of("q_proj", "k_proj", "v_proj", "out_proj")) {
        n += add(w, k + "self_attn." + proj + ".weight", rand(r, (long) d * d, 0.02f), d, d);
        n += add(w, k + "self_attn." + proj + ".bias", rand(r, d, 0.02f), d);
      }
      n += add(w, k + "layer_norm2.weight", ones(d), d);
      n += add(w, k + "layer_norm2.bias", rand(r, d, 0.02f), d);
      n += add(w, k + "mlp.fc1.weight", rand(r, (long) i * d, 0.02f), i, d);
      n += add(w, k + "mlp.fc1.bias", rand(r, i, 0.02f), i);
      n += add(w, k + "mlp.fc2.weight", rand(r, (long) d * i, 0.02f), d, i);
      n += add(w, k + "mlp.fc2.bias", rand(r, d, 0.02f), d);
    }
    n += add(w, v + "post_layernorm.weight", ones(d), d);
    n += add(w, v + "post_layernorm.bias", rand(r, d, 0.02f), d);
    w.write(file);
    return n;
  }

  static long writeText(Sizes s, Path file, long seed) {
    LlamaConfig c = s.text();
    SplittableRandom r = new SplittableRandom(seed);
    SafeTensorsWriter w = new SafeTensorsWriter();
    int d = c.hiddenSize();
    int i = c.intermediateSize();
    int q = c.numAttentionHeads() * c.headDim();
    int kv = c.numKeyValueHeads() * c.headDim();
    long n =
        add(
            w,
            "model.embed_tokens.weight",
            rand(r, (long) c.vocabSize() * d, 0.02f),
            c.vocabSize(),
            d);
    for (int l = 0; l < c.numHiddenLayers(); l++) {
      String k = "model.layers." + l + ".";
      n += add(w, k + "input_layernorm.weight", ones(d), d);
      n += add(w, k + "self_attn.q_proj.weight", rand(r, (long) q * d, 0.02f), q, d);
      n += add(w, k + "self_attn.k_proj.weight", rand(r, (long) kv * d, 0.02f), kv, d);
      n += add(w, k + "self_attn.v_proj.weight", rand(r, (long) kv * d, 0.02f), kv, d);
      n += add(w, k + "self_attn.o_proj.weight", rand(r, (long) d * q, 0.02f), d, q);
      n += add(w, k + "post_attention_layernorm.weight", ones(d), d);
      n += add(w, k + "mlp.gate_proj.weight", rand(r, (long) i * d, 0.02f), i, d);
      n += add(w, k + "mlp.up_proj.weight", rand(r, (long) i * d, 0.02f), i, d);
      n += add(w, k + "mlp.down_proj.weight", rand(r, (long) d * i, 0.02f), d, i);
    }
    n += add(w, "model.norm.weight", ones(d), d);
    w.write(file);
    return n;
  }

  // ------------------------------------------------------------------ Python side

  /**
   * Why the PyTorch reference cannot run with {@code pythonExe}, in a few words, or null when it
   * can: the executable must exist and import torch and numpy (a fresh machine has neither).
   */
  public static String pythonTorchMissing(String pythonExe) {
    ProcessBuilder pb =
        new ProcessBuilder(pythonExe, "-c", "import torch, numpy").redirectErrorStream(true);
    try {
      Process p = pb.start();
      p.getInputStream().readAllBytes();
      if (!p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return pythonExe + " did not import torch within 120 s";
      }
      return p.exitValue() == 0
          ? null
          : pythonExe
              + " has no torch/numpy (Debian: apt-get install python3-torch libopenblas0-pthread)";
    } catch (IOException e) {
      return "cannot run " + pythonExe + " (" + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted while checking " + pythonExe;
    }
  }

  private static Path extractScript(Path dir) {
    Path out = dir.resolve(SCRIPT);
    try (InputStream in = ModelBench.class.getResourceAsStream(SCRIPT)) {
      if (in == null) {
        throw new IllegalStateException(
            "resource " + SCRIPT + " is missing beside " + ModelBench.class.getName());
      }
      Files.write(out, in.readAllBytes());
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void writePythonConfig(Options o, Path visionFile, Path textFile, Path cfgFile) {
    Sizes s = o.sizes();
    ObjectNode n = JSON.createObjectNode();
    n.put("threads", o.threads())
        .put("seed", o.seed())
        .put("warmups", o.warmups())
        .put("repeats", o.repeats())
        .put("deco_repeats", o.decoRepeats())
        .put("vision_file", visionFile.toString())
        .put("text_file", textFile.toString())
        .put("prompt", s.promptTokens())
        .put("decode", s.decodeTokens())
        .put("frames", s.frames())
        .put("full_tokens_per_frame", s.fullTokensPerFrame())
        .put("deco_tokens_per_frame", s.decoTokensPerFrame());
    ClipVisionConfig v = s.vision();
    n.putObject("vision")
        .put("hidden", v.hiddenSize())
        .put("heads", v.numAttentionHeads())
        .put("patch", v.patchSize())
        .put("image", v.imageSize())
        .put("eps", v.layerNormEps())
        .put("feature_layer", s.featureLayer());
    LlamaConfig t = s.text();
    n.putObject("text")
        .put("hidden", t.hiddenSize())
        .put("heads", t.numAttentionHeads())
        .put("kv_heads", t.numKeyValueHeads())
        .put("layers", t.numHiddenLayers())
        .put("vocab", t.vocabSize())
        .put("eps", t.rmsNormEps())
        .put("theta", t.ropeTheta())
        .put("context", t.maxPositionEmbeddings());
    try {
      JSON.writerWithDefaultPrettyPrinter().writeValue(cfgFile.toFile(), n);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static JsonNode python(
      Options o, Path script, Path cfg, String phase, Consumer<String> log) {
    log.accept("python: phase " + phase);
    ProcessBuilder pb =
        new ProcessBuilder(o.pythonExe(), script.toString(), cfg.toString(), phase)
            .redirectErrorStream(true);
    pb.environment().put("OMP_NUM_THREADS", Integer.toString(o.threads()));
    try {
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int rc = p.waitFor();
      String[] lines = out.strip().split("\n");
      String last = lines[lines.length - 1];
      if (rc != 0 || !last.startsWith("{")) {
        throw new IllegalStateException(
            "PyTorch reference (" + phase + ") failed with exit code " + rc + ":\n" + out);
      }
      return JSON.readTree(last);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot run " + o.pythonExe() + " (use --skip-python without PyTorch)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running the PyTorch reference", e);
    }
  }

  private static Stat stat(JsonNode n, String field) {
    List<Double> l = new ArrayList<>();
    n.path(field).forEach(x -> l.add(x.asDouble()));
    if (l.isEmpty()) {
      throw new IllegalStateException("PyTorch reference output lacks " + field + ": " + n);
    }
    return new Stat(l);
  }

  // ------------------------------------------------------------------ machine

  /** Peak RSS of this process (VmHWM, KiB), or -1 where /proc is unavailable. */
  public static long peakRssKb() {
    return statusKb("VmHWM:");
  }

  /** A KiB field of /proc/self/status, or -1 where it cannot be read. */
  static long statusKb(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(field)) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /**
   * Returns the Java heap used to generate the weights to the OS and resets VmHWM (writing 5 to
   * /proc/self/clear_refs), so the peak reflects the model phase, not weight generation.
   */
  static boolean resetPeak() {
    System.gc();
    // JDK 17's G1 returns freed heap to the OS concurrently after the GC, later on a loaded
    // machine: wait until the RSS has stopped falling for three checks in a row (at most 5 s), so
    // the phase's baseline and peak do not carry the heap used to generate the weights
    long rss = statusKb("VmRSS:");
    int steady = 0;
    for (int i = 0; i < 50 && steady < 3; i++) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      long now = statusKb("VmRSS:");
      steady = now >= rss - 1024 ? steady + 1 : 0;
      rss = Math.min(rss, now);
    }
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  static String cpuModel() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
          .filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).strip())
          .findFirst()
          .orElse("unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      // a leftover temp file is harmless
    }
  }

  private static void require(boolean ok, String msg) {
    if (!ok) {
      throw new IllegalArgumentException(msg);
    }
  }
}
