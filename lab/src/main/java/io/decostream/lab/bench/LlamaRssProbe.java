package io.decostream.lab.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import io.decostream.nn.generate.Sampler;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.weights.Precision;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The Llama phase's peak RSS measured in a JVM of its own (issue 20 point 4). In the benchmark's
 * own process the phase starts on top of what the floors and the ViT phase left resident (the Java
 * heap, libtorch blocks the allocator keeps), so its peak says little about the phase. This child
 * starts DJL, reads its resident set, then does the phase's largest work in fp32: the weights, the
 * largest KV cache the phase holds ({@link BenchFigures#largestCache}), a chunked prefill of visual
 * embeddings filling it up to a question, the question, and greedy decode to the end of the cache;
 * it prints its VmRSS at start and its VmHWM.
 */
public final class LlamaRssProbe {

  /** The child's resident set when it began (after DJL started) and its peak, KiB. */
  public record Result(long startKb, long peakKb) {}

  private static final String PREFIX = "llama-rss ";

  private LlamaRssProbe() {}

  /**
   * Runs the probe in a child JVM with this JVM's options and class path, or returns null (with the
   * reason logged) when it cannot.
   */
  public static Result inChild(Path textFile, boolean quick, int threads, Consumer<String> log) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!a.startsWith("-agentlib") && !a.startsWith("-javaagent")) {
        cmd.add(a);
      }
    }
    // every launch path is offline, whatever this JVM was started with
    cmd.add("-Dai.djl.offline=true");
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            LlamaRssProbe.class.getName(),
            textFile.toString(),
            quick ? "quick" : "full",
            Integer.toString(threads)));
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("OPT_OUT_TRACKING", "true");
      Process p = pb.start();
      Result r = null;
      StringBuilder out = new StringBuilder();
      try (var in = p.inputReader(StandardCharsets.UTF_8)) {
        for (String line; (line = in.readLine()) != null; ) {
          out.append(line).append('\n');
          if (line.startsWith(PREFIX)) {
            String[] f = line.substring(PREFIX.length()).trim().split(" ");
            r = new Result(Long.parseLong(f[0]), Long.parseLong(f[1]));
          }
        }
      }
      if (!p.waitFor(10, TimeUnit.MINUTES)) {
        p.destroyForcibly();
      }
      if (r == null || p.exitValue() != 0) {
        log.accept("the Llama RSS probe failed (exit " + p.exitValue() + "): " + out);
        return null;
      }
      return r;
    } catch (IOException e) {
      log.accept("the Llama RSS probe could not start: " + e);
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** {@code LlamaRssProbe TEXT_FILE full|quick THREADS}: the child's side. */
  public static void main(String[] args) {
    ModelBench.Sizes s =
        "quick".equals(args[1]) ? ModelBench.Sizes.quick() : ModelBench.Sizes.full();
    int threads = Integer.parseInt(args[2]);
    try (NDManager root = NDManager.newBaseManager()) {
      JniUtils.setNumThreads(threads);
      ModelBench.resetPeak();
      long start = ModelBench.statusKb("VmRSS:");
      int cap = BenchFigures.largestCache(s);
      int question = s.questionTokens();
      int answer = Math.min(s.decodeTokens(), cap - question - 1);
      int window = cap - question - answer;
      try (BenchModels.LoadedLlama l =
              BenchModels.loadLlama(Path.of(args[0]), s.text(), Precision.F32, root);
          NDManager m = root.newSubManager();
          KvCache cache = l.model().newCache(cap)) {
        LlamaModel model = l.model();
        NDArray frames =
            m.randomNormal(0f, 0.02f, new Shape(window, model.hiddenSize()), DataType.FLOAT32);
        model.prefill(frames, cache, LlamaModel.DEFAULT_PREFILL_CHUNK);
        int[] ids = new SplittableRandom(1).ints(question, 0, s.text().vocabSize()).toArray();
        float[] logits =
            model
                .prefill(model.embed(m, ids), cache, LlamaModel.DEFAULT_PREFILL_CHUNK)
                .toFloatArray();
        for (int i = 0; i < answer; i++) {
          logits = model.decodeNext(Sampler.argmax(logits), cache);
        }
      }
      System.out.println(PREFIX + start + " " + ModelBench.peakRssKb());
    }
  }
}
