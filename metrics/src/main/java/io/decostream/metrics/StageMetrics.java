package io.decostream.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The process's metrics (issue 21 point 3): one Prometheus registry per JVM, shared by every stage
 * the process runs (the demo runs all three in one JVM; the {@code stage} tag tells them apart),
 * served as Prometheus text at {@code http://HOST:PORT/metrics} by the JDK's own HTTP server.
 *
 * <p>Stage code records through the static helpers ({@link #latency}, {@link #frame}, {@link
 * #deadLetter}, {@link #modelTime}, {@link #tokensPerFrame}); they cost a map lookup and work
 * whether or not anything serves the registry, so topology tests need no set-up.
 */
public final class StageMetrics {
  /** Prometheus text exposition format 0.0.4, what every Prometheus scrapes. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** Distinct dead-letter reasons kept per stage before the rest count as "other". */
  static final int MAX_REASONS = 32;

  private static final PrometheusMeterRegistry REGISTRY = create();
  private static final Map<String, Set<String>> REASONS = new ConcurrentHashMap<>();
  private static HttpServer server;
  private static ExecutorService serverThreads;

  /** Set on a thread whose records are not the service's (a stage warming up before it starts). */
  private static final ThreadLocal<Boolean> MUTED = ThreadLocal.withInitial(() -> false);

  private StageMetrics() {}

  /**
   * Until the result is closed, this thread's records leave no trace: a stage's warm-up (issue 22)
   * runs its own code on synthetic frames, whose stream, counts and cold timings would otherwise
   * show on the console beside the real ones. Other threads record as usual.
   */
  public static AutoCloseable mute() {
    boolean before = MUTED.get();
    MUTED.set(true);
    return () -> MUTED.set(before);
  }

  private static PrometheusMeterRegistry create() {
    PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(r);
    // JvmGcMetrics listens for GC notifications for the life of the process: never closed
    new JvmGcMetrics().bindTo(r);
    new JvmThreadMetrics().bindTo(r);
    new ClassLoaderMetrics().bindTo(r);
    new ProcessorMetrics().bindTo(r);
    // native memory: the heap gauges miss what PyTorch, FFmpeg and RocksDB allocate off-heap
    Gauge.builder("deco.process.rss", StageMetrics::residentBytes)
        .description("Resident set size of the process (VmRSS in /proc/self/status)")
        .baseUnit("bytes")
        .register(r);
    return r;
  }

  /** The process's registry. */
  public static PrometheusMeterRegistry registry() {
    return REGISTRY;
  }

  /** The registry as Prometheus text, what {@code /metrics} answers. */
  public static String scrape() {
    return REGISTRY.scrape();
  }

  /**
   * Serves {@code /metrics} on {@code port} (0: a free port) on every interface, so a Prometheus in
   * another container can scrape it; returns the bound port. One server per process: a second call
   * returns the port of the first.
   */
  public static synchronized int serve(int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("metrics port " + port + " is not in 0..65535");
    }
    if (server != null) {
      return server.getAddress().getPort();
    }
    HttpServer s;
    try {
      s = HttpServer.create(new InetSocketAddress(port), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot serve metrics on port " + port + ": " + e.getMessage(), e);
    }
    s.createContext("/metrics", StageMetrics::handle);
    serverThreads =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "deco-metrics-http");
              t.setDaemon(true);
              return t;
            });
    s.setExecutor(serverThreads);
    s.start();
    server = s;
    return s.getAddress().getPort();
  }

  /** The port {@code /metrics} is served on, -1 when it is not. */
  public static synchronized int port() {
    return server == null ? -1 : server.getAddress().getPort();
  }

  /** Stops serving (tests; a stage process serves until it exits). */
  public static synchronized void stopServing() {
    if (server != null) {
      server.stop(0);
      serverThreads.shutdownNow();
      server = null;
    }
  }

  private static void handle(HttpExchange ex) throws IOException {
    try (ex) {
      if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
        ex.sendResponseHeaders(405, -1);
        return;
      }
      byte[] body = scrape().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
      if ("HEAD".equals(ex.getRequestMethod())) {
        ex.sendResponseHeaders(200, -1);
        return;
      }
      ex.sendResponseHeaders(200, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /**
   * Binds a KafkaStreams instance's client metrics (consumer lag {@code records-lag-max}, commit
   * and poll rates, ...) to the registry; close the result when the instance closes.
   */
  public static AutoCloseable bind(KafkaStreams streams, String stage) {
    KafkaStreamsMetrics m = new KafkaStreamsMetrics(streams, Tags.of("stage", stage));
    m.bindTo(REGISTRY);
    return m;
  }

  /** Processing time of one record in {@code stage}, as a histogram. */
  public static Timer latency(String stage) {
    return Timer.builder("deco.stage.latency")
        .description("Time a stage spends on one input record")
        .tag("stage", stage)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(2))
        .register(REGISTRY);
  }

  /** Records one record's processing time, started at {@code startNanos} (System.nanoTime). */
  public static void recordLatency(String stage, long startNanos) {
    if (MUTED.get()) {
      return;
    }
    latency(stage).record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  /**
   * Counts frames a stage emitted for a stream: {@code rate(deco_frames_total[1m])} is frames/s.
   */
  public static void frame(String stage, String stream, long n) {
    if (MUTED.get()) {
      return;
    }
    Counter.builder("deco.frames")
        .description("Frames emitted, per stage and stream")
        .tag("stage", stage)
        .tag("stream", stream == null ? "" : stream)
        .register(REGISTRY)
        .increment(n);
  }

  /** Tokens the encoder kept for one frame of a stream (its live budget). */
  public static void tokensPerFrame(String stream, int tokens) {
    if (MUTED.get()) {
      return;
    }
    DistributionSummary.builder("deco.tokens.per.frame")
        .description("Visual tokens per frame after DeCo pooling, per stream")
        .tag("stream", stream == null ? "" : stream)
        .register(REGISTRY)
        .record(tokens);
  }

  /** Model time of one part (vit, pooling, prefill, decode, grounding, ...) in {@code stage}. */
  public static void modelTime(String stage, String part, double millis) {
    if (!(millis >= 0) || Double.isInfinite(millis) || MUTED.get()) {
      return; // a missing or broken timing is not a measurement, nor is a muted thread's
    }
    Timer.builder("deco.model.time")
        .description("Model time by part")
        .tag("stage", stage)
        .tag("part", part)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(2))
        .register(REGISTRY)
        .record(Math.round(millis * 1000), TimeUnit.MICROSECONDS);
  }

  /** Counts one dead letter of {@code stage}, its reason bucketed by {@link #reasonBucket}. */
  public static void deadLetter(String stage, String reason) {
    if (MUTED.get()) {
      return;
    }
    String bucket = reasonBucket(reason);
    Set<String> seen = REASONS.computeIfAbsent(stage, s -> ConcurrentHashMap.newKeySet());
    if (!seen.contains(bucket)) {
      synchronized (seen) {
        if (seen.size() >= MAX_REASONS) {
          bucket = "other";
        } else {
          seen.add(bucket);
        }
      }
    }
    Counter.builder("deco.dead.letters")
        .description("Dead letters per stage and reason (first words of the reason)")
        .tag("stage", stage)
        .tag("reason", bucket)
        .register(REGISTRY)
        .increment();
  }

  /**
   * A reason's first three plain words, lower case, joined by '_' ("frame 12 of stream cam1 cannot
   * be decoded: ..." is "frame_of_stream"): words with digits, quotes or punctuation (ids, offsets,
   * values) are skipped and everything after the first ':' is dropped, so the label has few values
   * whatever the record said.
   */
  static String reasonBucket(String reason) {
    if (reason == null || reason.isBlank()) {
      return "unknown";
    }
    String head = reason;
    int colon = head.indexOf(':');
    if (colon >= 0) {
      head = head.substring(0, colon);
    }
    List<String> words = new ArrayList<>();
    for (String w : head.trim().split("\\s+")) {
      String lw = w.toLowerCase(Locale.ROOT);
      if (lw.matches("[a-z][a-z-]*")) {
        words.add(lw);
        if (words.size() == 3) {
          break;
        }
      }
    }
    return words.isEmpty() ? "other" : String.join("_", words);
  }

  /** VmRSS of this process in bytes, NaN where /proc is not there. */
  static double residentBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          String[] parts = line.substring(6).trim().split("\\s+");
          return Long.parseLong(parts[0]) * 1024.0; // the kernel reports kB
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: no figure
    }
    return Double.NaN;
  }
}
