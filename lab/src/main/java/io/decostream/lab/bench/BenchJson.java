package io.decostream.lab.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code deco bench --json FILE} (issue 20 point 6): the keys the issue names, always all present
 * ({@link #REQUIRED}), a figure that was not measured written as null; then extra keys (machine
 * rates, floors' inputs, the full re-prefill TTFT, the DeCo ratios, the PyTorch reference).
 */
public final class BenchJson {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The keys, in its order. */
  public static final List<String> REQUIRED =
      List.of(
          "decodeTokPerS",
          "decodeTokPerS16",
          "decodeFloorTokPerS",
          "decodeFloorTokPerS16",
          "prefillTokPerS",
          "prefillFloorTokPerS",
          "ttftMs",
          "peakRssMiB",
          "vitSecondsPerFrame",
          "vitFloorSecondsPerFrame");

  private BenchJson() {}

  /** The run as a JSON object. */
  public static ObjectNode toJson(ModelBench.Result r) {
    BenchFigures f = BenchFigures.of(r);
    ObjectNode n = JSON.createObjectNode();
    num(n, "decodeTokPerS", f.decodeTokPerS());
    num(n, "decodeTokPerS16", f.decodeTokPerS16());
    num(n, "decodeFloorTokPerS", f.decodeFloorTokPerS());
    num(n, "decodeFloorTokPerS16", f.decodeFloorTokPerS16());
    byKey(n, "prefillTokPerS", f.prefillTokPerS());
    byKey(n, "prefillFloorTokPerS", f.prefillFloorTokPerS());
    byKey(n, "ttftMs", f.ttftMs());
    ObjectNode rss = n.putObject("peakRssMiB");
    num(rss, "vit", f.peakRssVitMiB());
    num(rss, "llm", f.peakRssLlmMiB());
    num(n, "vitSecondsPerFrame", f.vitSecondsPerFrame());
    num(n, "vitFloorSecondsPerFrame", f.vitFloorSecondsPerFrame());

    // extras: what the floors are made of, and the other curve of the plot
    MachineProbe.Machine mc = r.machine();
    n.put("threads", r.options().threads());
    n.put("quick", r.options().sizes().equals(ModelBench.Sizes.quick()));
    num(n, "sgemmGflops", mc.gflops());
    n.put("sgemmN", mc.gemmN());
    num(n, "bandwidthGBs", mc.bandwidthGBs());
    n.put("bandwidthMethod", mc.bandwidthMethod());
    num(n, "bandwidthJavaGBs", mc.javaGBs());
    num(n, "bandwidthTorchGBs", mc.torchGBs());
    n.put("bandwidthReadBytes", mc.readBytes());
    num(n, "decodeBandwidthGBs", f.decodeBandwidthGBs());
    num(n, "decodeBandwidthGBs16", f.decodeBandwidthGBs16());
    r.decodeReadGBs().forEach(n.putArray("decodeReadGBsSamples")::add);
    r.decode16ReadGBs().forEach(n.putArray("decode16ReadGBsSamples")::add);
    num(n, "decodeWeightBytesPerToken", f.decodeWeightBytesPerToken());
    num(n, "decodeKvBytesPerToken", f.decodeKvBytesPerToken());
    n.put("decode16Note", r.decode16Note());
    byKey(n, "ttftMsFullPrefill", f.ttftMsFullPrefill());
    byKey(n, "ttftFloorMs", f.ttftFloorMs());
    byKey(n, "ttftFloorMsFullPrefill", f.ttftFloorMsFullPrefill());
    n.put("ttftQuestionTokens", r.options().sizes().questionTokens());
    n.put("ttftTokensPerFrame", r.options().sizes().decoTokensPerFrame());
    n.put("ttftLiveWindow", r.liveWindow());
    num(n, "decoTimeRatio", f.decoTimeRatio());
    num(n, "decoFlopRatio", f.decoFlopRatio());
    ObjectNode rssFloor = n.putObject("peakRssFloorMiB");
    num(rssFloor, "vit", f.peakRssFloorVitMiB());
    num(rssFloor, "llm", f.peakRssFloorLlmMiB());
    ObjectNode base = n.putObject("rssBaselineMiB");
    num(base, "vit", f.baselineRssVitMiB());
    num(base, "llm", f.baselineRssLlmMiB());
    n.put("textParams", r.textParams());
    n.put("visionParams", r.visionParams());
    n.put("cpuModel", r.cpuModel());
    n.put("nproc", r.nproc());
    ModelBench.Side p = r.python();
    if (p == null) {
      n.putNull("pytorchReference");
    } else {
      ModelBench.Sizes s = r.options().sizes();
      ObjectNode pn = n.putObject("pytorchReference");
      pn.put("engine", p.engine());
      num(pn, "decodeTokPerS", p.decode().perSecond(s.decodeTokens()));
      ObjectNode pp = pn.putObject("prefillTokPerS");
      List<Integer> t = s.prefillTokens();
      num(pp, t.get(0).toString(), p.prefill().perSecond(t.get(0)));
      num(pp, t.get(1).toString(), p.decoCompressed().perSecond(t.get(1)));
      num(pp, t.get(2).toString(), p.decoFull().perSecond(t.get(2)));
      num(pn, "vitSecondsPerFrame", p.vitPerFrame().medianMs() / 1000.0);
      ObjectNode pr = pn.putObject("peakRssMiB");
      num(pr, "vit", BenchFigures.mib(p.vitPeakRssKb()));
      num(pr, "llm", BenchFigures.mib(p.llamaPeakRssKb()));
    }
    return n;
  }

  /** Writes {@link #toJson} to {@code file}, pretty-printed. */
  public static void write(ModelBench.Result r, Path file) {
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), toJson(r));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** A number, or null when missing or not finite (JSON has no NaN). */
  private static void num(ObjectNode n, String key, Double v) {
    if (v == null || !Double.isFinite(v)) {
      n.putNull(key);
    } else {
      n.put(key, v);
    }
  }

  private static void byKey(ObjectNode n, String key, Map<Integer, Double> values) {
    ObjectNode o = n.putObject(key);
    values.forEach((k, v) -> num(o, Integer.toString(k), v));
  }
}
