package io.decostream.lab.bench;

import io.decostream.nn.config.LlamaConfig;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Every headline figure of a {@link ModelBench.Result} (Java side) beside its floor (issue 20 point
 * 6), computed once for both the printed table and {@code --json}. A figure that was not measured
 * is null, never a made-up number.
 *
 * @param decodeTokPerS fp32 KV-cached decode, tokens/s (median)
 * @param decodeTokPerS16 the same with 16-bit weights; null while unavailable
 * @param decodeFloorTokPerS bandwidth / (fp32 weights + KV cache read per token), the bandwidth
 *     being the median of the reads made just before each decode sample
 * @param decodeFloorTokPerS16 bandwidth / (16-bit weights + fp32 KV cache read per token), with the
 *     16-bit decode's own paired reads
 * @param decodeBandwidthGBs the bandwidth of {@code decodeFloorTokPerS}
 * @param decodeBandwidthGBs16 the bandwidth of {@code decodeFloorTokPerS16}
 * @param decodeWeightBytesPerToken fp32 weight bytes read per decoded token
 * @param decodeKvBytesPerToken KV-cache bytes read per decoded token at the average decode position
 * @param prefillTokPerS by prefill length in tokens
 * @param prefillFloorTokPerS sgemm GFLOP/s / FLOPs per token, by prefill length
 * @param ttftMs time to first token on a live window, by window length in frames
 * @param ttftMsFullPrefill time to first token with a full re-prefill, by window length in frames
 * @param ttftFloorMs roofline floor of the live-window first token, by frames
 * @param ttftFloorMsFullPrefill roofline floor of the full re-prefill first token, by frames
 * @param peakRssVitMiB peak RSS of the ViT phase; null where it could not be reset or read
 * @param peakRssLlmMiB peak RSS of the Llama phase (fp32 model)
 * @param peakRssFloorVitMiB the ViT's fp32 weights: what the phase must hold at least
 * @param peakRssFloorLlmMiB the Llama's fp32 weights plus its largest KV cache (the "about
 *     740 MiB"; its target is 2x weights plus KV)
 * @param baselineRssVitMiB the JVM's resident set when the ViT phase starts
 * @param baselineRssLlmMiB the JVM's resident set when the Llama phase starts
 * @param vitSecondsPerFrame CLIP tower forward per frame
 * @param vitFloorSecondsPerFrame ViT FLOPs per frame / sgemm
 * @param decoTimeRatio measured prefill time at 576 over 144 tokens per frame
 * @param decoFlopRatio the FLOP ratio of those two prefills
 */
public record BenchFigures(
    double decodeTokPerS,
    Double decodeTokPerS16,
    double decodeFloorTokPerS,
    double decodeFloorTokPerS16,
    double decodeBandwidthGBs,
    double decodeBandwidthGBs16,
    double decodeWeightBytesPerToken,
    double decodeKvBytesPerToken,
    Map<Integer, Double> prefillTokPerS,
    Map<Integer, Double> prefillFloorTokPerS,
    Map<Integer, Double> ttftMs,
    Map<Integer, Double> ttftMsFullPrefill,
    Map<Integer, Double> ttftFloorMs,
    Map<Integer, Double> ttftFloorMsFullPrefill,
    Double peakRssVitMiB,
    Double peakRssLlmMiB,
    double peakRssFloorVitMiB,
    double peakRssFloorLlmMiB,
    Double baselineRssVitMiB,
    Double baselineRssLlmMiB,
    double vitSecondsPerFrame,
    double vitFloorSecondsPerFrame,
    double decoTimeRatio,
    double decoFlopRatio) {

  public BenchFigures {
    prefillTokPerS = frozen(prefillTokPerS);
    prefillFloorTokPerS = frozen(prefillFloorTokPerS);
    ttftMs = frozen(ttftMs);
    ttftMsFullPrefill = frozen(ttftMsFullPrefill);
    ttftFloorMs = frozen(ttftFloorMs);
    ttftFloorMsFullPrefill = frozen(ttftFloorMsFullPrefill);
  }

  private static Map<Integer, Double> frozen(Map<Integer, Double> m) {
    return Collections.unmodifiableMap(new TreeMap<>(m));
  }

  /** The figures of a run, with the floors from its own machine probe. */
  public static BenchFigures of(ModelBench.Result r) {
    ModelBench.Sizes s = r.options().sizes();
    LlamaConfig c = s.text();
    MachineProbe.Machine mc = r.machine();
    double gflops = mc.gflops();
    double bw = mc.bandwidthGBs();
    ModelBench.Side j = r.java();

    double weights32 = Floors.decodeWeightBytesPerToken(c, Floors.FP32_BYTES);
    double kv =
        Floors.kvBytesPerPosition(c) * Floors.averageDecodeKeys(s.promptTokens(), s.decodeTokens());
    // decode against the read of the same minutes (the machine probe's where none was made)
    double bw32 = median(r.decodeReadGBs(), bw);
    double bw16 = median(r.decode16ReadGBs(), bw);
    double floor32 = Floors.decodeFloorTokPerS(bw32, weights32 + kv);
    double floor16 =
        Floors.decodeFloorTokPerS(
            bw16, Floors.decodeWeightBytesPerToken(c, Floors.HALF_BYTES) + kv);

    Map<Integer, Double> prefill = new LinkedHashMap<>();
    Map<Integer, Double> prefillFloor = new LinkedHashMap<>();
    ModelBench.Stat[] stats = {j.prefill(), j.decoCompressed(), j.decoFull()};
    for (int k = 0; k < stats.length; k++) {
      int t = s.prefillTokens().get(k);
      prefill.put(t, stats[k].perSecond(t));
      prefillFloor.put(t, Floors.prefillFloorTokPerS(c, t, gflops));
    }

    Map<Integer, Double> live = new LinkedHashMap<>();
    Map<Integer, Double> full = new LinkedHashMap<>();
    Map<Integer, Double> liveFloor = new LinkedHashMap<>();
    Map<Integer, Double> fullFloor = new LinkedHashMap<>();
    int q = s.questionTokens();
    for (int n : s.ttftFrames()) {
      int window = n * s.decoTokensPerFrame();
      ModelBench.Stat l = r.ttftLive().get(n);
      ModelBench.Stat f = r.ttftFull().get(n);
      live.put(n, l == null ? null : l.medianMs());
      full.put(n, f == null ? null : f.medianMs());
      liveFloor.put(n, Floors.firstTokenFloorMs(c, q, window, gflops, bw));
      fullFloor.put(n, Floors.firstTokenFloorMs(c, window + q, 0, gflops, bw));
    }

    int tFull = s.frames() * s.fullTokensPerFrame();
    int tDeco = s.frames() * s.decoTokensPerFrame();
    return new BenchFigures(
        j.decode().perSecond(s.decodeTokens()),
        r.decode16() == null ? null : r.decode16().perSecond(s.decodeTokens()),
        floor32,
        floor16,
        bw32,
        bw16,
        weights32,
        kv,
        prefill,
        prefillFloor,
        live,
        full,
        liveFloor,
        fullFloor,
        mib(j.vitPeakRssKb()),
        mib(j.llamaPeakRssKb()),
        r.visionParams() * (double) Floors.FP32_BYTES / (1 << 20),
        (r.textParams() * (double) Floors.FP32_BYTES
                + Floors.kvBytesPerPosition(c) * (double) largestCache(s))
            / (1 << 20),
        mib(r.javaRssBeforeVitKb()),
        mib(r.javaRssBeforeLlamaKb()),
        j.vitPerFrame().medianMs() / 1000.0,
        Floors.vitFloorSecondsPerFrame(s.vision(), s.featureLayer(), gflops),
        j.decoFull().medianMs() / j.decoCompressed().medianMs(),
        Floors.prefillFlops(c, tFull, 0) / Floors.prefillFlops(c, tDeco, 0));
  }

  /** Positions of the largest KV cache the Llama phase holds: decode, DeCo prefill, first token. */
  public static int largestCache(ModelBench.Sizes s) {
    return Math.max(
        Math.max(
            s.promptTokens() + s.decodeTokens(),
            s.frames() * Math.max(s.fullTokensPerFrame(), s.decoTokensPerFrame())),
        ModelBench.maxFrames(s.ttftFrames()) * s.decoTokensPerFrame() + s.questionTokens());
  }

  /** The median of {@code xs}, or {@code otherwise} when there is none. */
  static double median(java.util.List<Double> xs, double otherwise) {
    if (xs.isEmpty()) {
      return otherwise;
    }
    double[] s = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  /** KiB to MiB; null for a figure that could not be read (negative). */
  static Double mib(long kb) {
    return kb < 0 ? null : kb / 1024.0;
  }
}
