package io.decostream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.decostream.broker.EmbeddedBroker;
import io.decostream.encoder.EncoderConfig;
import io.decostream.frames.FramesConfig;
import io.decostream.frames.FramesWarmup;
import io.decostream.nn.config.ConfigFiles;
import io.decostream.schemas.Answer;
import io.decostream.schemas.ClientConfig;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Question;
import io.decostream.schemas.Topic;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.schemas.VideoChunk;
import io.decostream.shapes.VideoSpec;
import io.decostream.worker.WorkerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code deco loadtest} (issue 22 point 1): N synthetic cameras against the pipeline for a set
 * time, questions at a set rate, and what the pipeline then did: offered and achieved frames/s,
 * camera-to-tokens and question-to-answer latency percentiles, every stage's largest consumer lag
 * and whether it grows, CPU per stage, dead letters, and every sampled frame of every camera
 * accounted for (lost, duplicated). The operator's tool: it needs the runtime modules only, never
 * the lab.
 */
@Command(
    name = "loadtest",
    mixinStandardHelpOptions = true,
    description = {
      "Load-test the pipeline: N synthetic ShapesWorld cameras published in real time for a set",
      "time, with questions at a set rate, on an in-process broker with the stages in this JVM",
      "(default) or against --bootstrap (--external-stages: drive stages already running there).",
      "Prints a progress line while it runs and a report at the end; --json writes it as JSON."
    })
public final class LoadtestCommand implements Callable<Integer> {

  @Option(
      names = "--streams",
      defaultValue = "10",
      description = "Synthetic cameras (default ${DEFAULT-VALUE}).")
  int streams;

  @Option(
      names = "--seconds",
      defaultValue = "60",
      description = "How long the cameras publish (default ${DEFAULT-VALUE}).")
  int seconds;

  @Option(
      names = "--questions-per-minute",
      defaultValue = "1",
      description = "Questions per stream per minute (default ${DEFAULT-VALUE}; 0 = none).")
  double questionsPerMinute;

  @Option(
      names = "--warmup",
      description =
          "Seconds at the start left out of the rates and latencies (models warming up; default"
              + " min(30, seconds/5)). Frames of the warm-up still count as lost or duplicated.")
  Integer warmup;

  @Option(
      names = "--drain",
      defaultValue = "60",
      description =
          "After the cameras stop, seconds to wait for the last frames and answers"
              + " (default ${DEFAULT-VALUE}); what is still missing then is lost.")
  int drainSeconds;

  @Option(
      names = "--bootstrap",
      paramLabel = "HOST:PORT",
      description = "Kafka bootstrap servers (default: an in-process broker).")
  String bootstrap;

  @Option(
      names = "--external-stages",
      description =
          "Drive the frames, encoder and llm-worker stages already running on --bootstrap"
              + " instead of starting them in this JVM (CPU per stage is then not measured).")
  boolean externalStages;

  @Option(
      names = "--topic-prefix",
      paramLabel = "PREFIX",
      description = "Prefix of the DeCo topic names (as the stages were started with).")
  String topicPrefix;

  @Option(
      names = "--partitions",
      defaultValue = Clients.PARTITIONS_OPTION_DEFAULT,
      description =
          "With in-process stages: partitions of the topics created (env "
              + Clients.PARTITIONS_ENV
              + "; default ${DEFAULT-VALUE}, as deco broker creates).")
  int partitions;

  @Option(
      names = "--even-partitions",
      description =
          "Name the cameras so that camera i lands on partition i mod P of the topics, the spread"
              + " many streams reach on average, instead of where the hash of a random name puts"
              + " it: with few streams the hash alone can leave one of two worker processes most"
              + " of them (docs/scaling.md, Scale-out).")
  boolean evenPartitions;

  @Option(
      names = "--model",
      description =
          "With in-process stages: the model pack (default: the shipped models/shapes-demo).")
  Path model;

  @Option(
      names = "--fps",
      defaultValue = "1.0",
      description = "Frames sampled per second of video (default ${DEFAULT-VALUE}).")
  double fps;

  @Option(
      names = "--camera-fps",
      defaultValue = "8",
      description = "Frame rate of the synthetic cameras (default ${DEFAULT-VALUE}).")
  double cameraFps;

  @Option(
      names = "--size",
      defaultValue = "336",
      description = "Width and height of the synthetic video (default ${DEFAULT-VALUE}).")
  int size;

  @Option(
      names = "--clips",
      defaultValue = "4",
      description = "Distinct ShapesWorld clips the cameras loop (default ${DEFAULT-VALUE}).")
  int clipCount;

  @Option(
      names = "--clip-seconds",
      defaultValue = "16",
      description = "Length of each clip (default ${DEFAULT-VALUE}).")
  int clipSeconds;

  @Option(
      names = "--caption-every",
      defaultValue = "0",
      description =
          "With in-process stages: a caption every N frames per stream (default ${DEFAULT-VALUE}:"
              + " none).")
  int captionEvery;

  @Option(
      names = "--max-new-tokens",
      defaultValue = "8",
      description = "Tokens generated per answer at most (default ${DEFAULT-VALUE}).")
  int maxNewTokens;

  @Option(
      names = "--progress-every",
      defaultValue = "5",
      description = "Seconds between progress lines (default ${DEFAULT-VALUE}).")
  int progressEvery;

  @Option(
      names = "--encoder-batch",
      description = "With in-process stages: frames per ViT micro-batch (default: the encoder's).")
  Integer encoderBatch;

  @Option(
      names = "--encoder-wait-ms",
      description =
          "With in-process stages: longest wait for a micro-batch to fill (default: the"
              + " encoder's).")
  Long encoderWaitMs;

  @Option(
      names = "--live-window",
      paramLabel = "on|off",
      description =
          "With in-process stages: the worker's live window (frames kept prefilled per stream;"
              + " default: the worker's default).")
  String liveWindow;

  @Option(
      names = "--live-hot-seconds",
      description =
          "With in-process stages: how long a stream stays hot after a question (default: the"
              + " worker's).")
  Long liveHotSeconds;

  @Option(
      names = "--live-warm-after",
      description =
          "With in-process stages: questions within --live-hot-seconds that make a stream's live"
              + " window kept; 0 = every stream's (default: the worker's).")
  Integer liveWarmAfter;

  @Option(
      names = "--max-frame-size",
      paramLabel = "PIXELS",
      description =
          "With in-process stages: the frames stage scales frames down (FFmpeg) to fit this size"
              + " each way. Default: the vision tower's input size (config.json"
              + " vision_config.image_size, 168 for the shipped model), so the frames topic carries"
              + " no pixels the encoder throws away (deco frames --max-size; docs/scaling.md:"
              + " FFmpeg's bicubic instead of Pillow's, a mean difference of 1.15 of 255)."
              + " 0 = the frames stage's own default, 1920x1080.")
  Integer maxFrameSize;

  @Option(
      names = "--torch-threads",
      paramLabel = "N",
      description =
          "With in-process stages: libtorch's intra-op threads (ai.djl.pytorch.num_threads) for"
              + " the encoder's ViT and the worker's LLM. Default 1 unless that property is set: on"
              + " a small machine the ViT's batches are too small for OpenMP to pay for its"
              + " spinning threads, and the frames stage and the broker want the other cores"
              + " (docs/scaling.md). 0 = libtorch's own default (one per core).")
  Integer torchThreads;

  @Option(
      names = "--encoder-warmup-frames",
      defaultValue = "" + Stages.ENCODER_WARMUP_FRAMES,
      description =
          "With in-process stages: synthetic frames the encoder runs through its own topology"
              + " before the cameras start, so its per-frame path is compiled by the JIT first;"
              + " 0 = none (default ${DEFAULT-VALUE}).")
  int encoderWarmupFrames;

  @Option(
      names = "--frames-warmup-chunks",
      defaultValue = "" + Stages.FRAMES_WARMUP_CHUNKS,
      description =
          "With in-process stages: chunks of the first clip the frames stage decodes through its"
              + " own topology before the cameras start, so its per-chunk path is compiled by the"
              + " JIT first; 0 = none (default ${DEFAULT-VALUE}).")
  int framesWarmupChunks;

  @Option(
      names = "--streams-config",
      paramLabel = "FILE",
      description =
          "With in-process stages: Kafka Streams properties (a Java properties file) added to every"
              + " stage's config, e.g. consumer.fetch.min.bytes=65536 and"
              + " consumer.fetch.max.wait.ms=50 for fewer, larger fetches.")
  Path streamsConfig;

  @Option(
      names = "--preroll",
      defaultValue = "60",
      paramLabel = "SECONDS",
      description =
          "Before the measured run: as many other cameras (streams lt-RUN-pre-*), asked the same"
              + " questions, for this many seconds, then a wait (at most 180 s) until no stage is"
              + " more than one chunk per camera behind; none of it is measured. It stands for a"
              + " pipeline that was already running, the load a deployment is sized for: a cold JVM"
              + " compiles Kafka's own paths (broker, clients) in its first minute under load, which"
              + " no stage's warm-up covers, and on 2 cores that minute's backlog decides the run's"
              + " p95 (docs/scaling.md)."
              + " 0 = a cold start (default ${DEFAULT-VALUE}).")
  int prerollSeconds;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the report as JSON.")
  Path json;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Scene seed of the first clip (default ${DEFAULT-VALUE}).")
  long seed;

  /** Questions asked in turn (ShapesWorld's kinds; the answers are not checked, only timed). */
  static final List<String> QUESTIONS =
      List.of(
          "what color is the circle?",
          "what shape is the red object?",
          "how many shapes are there?",
          "where is the blue square?",
          "which way is the green triangle moving?",
          "is there a yellow circle?");

  /** Issue 22's "done when" bounds, for the verdict line. */
  static final double MIN_ACHIEVED_RATIO = 0.95;

  static final double MAX_P95_MS = 2000;

  @Override
  public Integer call() throws Exception {
    check();
    int warm = warmup != null ? warmup : Math.min(30, seconds / 5);
    Path work = Files.createTempDirectory("deco-loadtest-");
    EmbeddedBroker broker = null;
    LoadStages.Running pipeline = null;
    try {
      step(
          String.format(
              Locale.ROOT,
              "rendering %d ShapesWorld clip(s) of %d s (%dx%d, %.0f fps, H.264) for %d camera(s)",
              clipCount,
              clipSeconds,
              size,
              size,
              cameraFps,
              streams));
      List<SyntheticCameras.Clip> clips =
          SyntheticCameras.renderClips(
              work, clipCount, seed, new VideoSpec(size, size, cameraFps, clipSeconds));
      String servers = bootstrap;
      if (servers == null) {
        step("starting an in-process Kafka broker (KRaft)");
        broker = EmbeddedBroker.start();
        servers = broker.bootstrapServers();
      }
      TopicNames names =
          topicPrefix == null || topicPrefix.isBlank()
              ? TopicNames.defaults()
              : TopicNames.withPrefix(topicPrefix);
      Topics topics = Topics.of(names);
      if (!externalStages) {
        Clients.ensureTopics(servers, topics, partitions);
        Path pack = model != null ? model : DemoCommand.shippedModel();
        if (pack == null) {
          throw new IllegalArgumentException(
              "no model: models/shapes-demo not found; give --model DIR");
        }
        frameSize = frameSize(maxFrameSize, pack);
        threads = torchThreads(torchThreads);
        step(
            "starting frames, encoder and llm-worker in this JVM (model "
                + pack
                + "; frames at most "
                + (frameSize == null ? "the frames stage's default" : frameSize + "x" + frameSize)
                + ", libtorch "
                + (threads == null ? "default" : threads)
                + " thread(s))");
        pipeline =
            new LoadStages(
                    pack,
                    fps,
                    captionEvery,
                    maxNewTokens,
                    encoderBatch,
                    encoderWaitMs,
                    liveWindow == null ? null : liveWindow.equalsIgnoreCase("on"),
                    liveHotSeconds,
                    liveWarmAfter,
                    frameSize,
                    encoderWarmupFrames,
                    framesWarmupChunks,
                    SyntheticCameras.records(clips.get(0), FramesWarmup.STREAM),
                    size,
                    streamsConfig == null ? new Properties() : ClientConfig.load(streamsConfig),
                    work.resolve("state"))
                .start(servers, names);
        pipeline.awaitRunning(Duration.ofSeconds(180));
      }
      Map<String, Object> report = run(servers, topics, clips, warm, !externalStages);
      print(report);
      if (json != null) {
        new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .writeValue(json.toFile(), report);
        System.out.println("report written to " + json);
      }
      return 0;
    } finally {
      if (pipeline != null) {
        pipeline.close();
      }
      if (broker != null) {
        broker.close();
      }
      DemoCommand.deleteQuietly(work);
    }
  }

  /** What the in-process stages ran with (null: the stage's or libtorch's own default). */
  private Integer frameSize;

  private String threads;

  /**
   * The frames stage's size bound: the flag, 0 meaning the stage's own default (null), and without
   * the flag the vision tower's input size from the pack's config.json (null when it has none).
   */
  static Integer frameSize(Integer flag, Path pack) {
    if (flag != null) {
      return flag == 0 ? null : flag;
    }
    Path config = pack.resolve("config.json");
    if (!Files.isRegularFile(config)) {
      return null;
    }
    try {
      int side =
          ConfigFiles.JSON
              .readTree(config.toFile())
              .path("vision_config")
              .path("image_size")
              .asInt(0);
      return side > 0 ? side : null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + config + ": " + e.getMessage(), e);
    }
  }

  /**
   * libtorch's intra-op threads for the in-process models, set as DJL's system property before the
   * engine loads: the flag (0 = libtorch's default, the property left alone), else a property the
   * user set, else 1. Returns the value in effect (null = libtorch's default).
   */
  static String torchThreads(Integer flag) {
    String key = "ai.djl.pytorch.num_threads";
    if (flag != null && flag == 0) {
      return System.getProperty(key);
    }
    if (flag != null) {
      System.setProperty(key, Integer.toString(flag));
    } else if (System.getProperty(key) == null) {
      System.setProperty(key, "1");
    }
    return System.getProperty(key);
  }

  private void check() {
    if (streams < 1 || streams > 10_000) {
      throw new IllegalArgumentException("--streams must be 1..10000, not " + streams);
    }
    if (seconds < 1) {
      throw new IllegalArgumentException("--seconds must be at least 1, not " + seconds);
    }
    if (questionsPerMinute < 0) {
      throw new IllegalArgumentException("--questions-per-minute must be >= 0");
    }
    if (warmup != null && (warmup < 0 || warmup >= seconds)) {
      throw new IllegalArgumentException("--warmup must be in 0.." + (seconds - 1));
    }
    if (liveWindow != null
        && !liveWindow.equalsIgnoreCase("on")
        && !liveWindow.equalsIgnoreCase("off")) {
      throw new IllegalArgumentException("--live-window is on or off, not " + liveWindow);
    }
    if ((liveHotSeconds != null && liveHotSeconds < 1)
        || (liveWarmAfter != null && liveWarmAfter < 0)) {
      throw new IllegalArgumentException("--live-hot-seconds >= 1 and --live-warm-after >= 0");
    }
    if (externalStages && bootstrap == null) {
      throw new IllegalArgumentException(
          "--external-stages drives stages on a broker: give --bootstrap HOST:PORT");
    }
    if ((maxFrameSize != null && maxFrameSize != 0 && (maxFrameSize < 16 || maxFrameSize > 8192))
        || (torchThreads != null && (torchThreads < 0 || torchThreads > 1024))) {
      throw new IllegalArgumentException(
          "--max-frame-size is 0 or 16..8192 and --torch-threads 0..1024");
    }
    if (clipCount < 1 || clipSeconds < 2 || progressEvery < 1 || drainSeconds < 0) {
      throw new IllegalArgumentException(
          "--clips >= 1, --clip-seconds >= 2, --progress-every >= 1 and --drain >= 0 required");
    }
  }

  /** The load itself: cameras, questions, the reader and the samplers; returns the report. */
  private Map<String, Object> run(
      String servers, Topics topics, List<SyntheticCameras.Clip> clips, int warm, boolean inProcess)
      throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    int spread = evenPartitions ? partitionsOf(servers, topics) : 0;
    List<String> ids = cameraIds(run, "cam", spread);
    Set<String> ours = new HashSet<>(ids);
    LoadLedger ledger = new LoadLedger();
    SyntheticCameras cameras = new SyntheticCameras(clips, ids, fps);
    Reader reader = new Reader(servers, topics, ledger, ours);
    reader.awaitAssigned();
    Map<String, LagSeries> lags = new LinkedHashMap<>();
    Map<String, String> groups = new LinkedHashMap<>();
    groups.put(StageCpu.FRAMES, FramesConfig.defaults().applicationId());
    groups.put(StageCpu.ENCODER, EncoderConfig.defaults().applicationId());
    groups.put(StageCpu.WORKER, WorkerConfig.defaults().applicationId());
    groups.keySet().forEach(s -> lags.put(s, new LagSeries()));
    long chunkMillis = clips.get(0).chunks().get(0).durationMicros() / 1000;
    if (prerollSeconds > 0) {
      preroll(servers, topics, clips, cameraIds(run, "pre", spread), groups);
    }
    // from here on: the run's CPU, not the models' loading or the pre-roll
    StageCpu cpu = inProcess ? new StageCpu() : null;

    step(
        String.format(
            Locale.ROOT,
            "%d camera(s) for %d s (%.1f frames/s offered), %.2f question(s) per stream per minute,"
                + " first %d s warm-up",
            streams,
            seconds,
            streams * fps,
            questionsPerMinute,
            warm));
    long t0 = System.currentTimeMillis() + 500;
    long end = t0 + seconds * 1000L;
    AtomicLong chunksSent = new AtomicLong();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread publisher =
        publisher(
            "loadtest-cameras", servers, topics, cameras, ledger, t0, end, chunksSent, failure);
    Thread asker =
        asker("loadtest-questions", servers, topics, ids, ledger, t0 + warm * 1000L, end, failure);
    publisher.start();
    asker.start();
    try (Admin admin = Clients.admin(servers, new Properties())) {
      long nextProgress = t0 + progressEvery * 1000L;
      while (System.currentTimeMillis() < end && failure.get() == null && reader.failure == null) {
        Thread.sleep(Math.max(1, Math.min(2000, end - System.currentTimeMillis())));
        double at = (System.currentTimeMillis() - t0) / 1000.0;
        lags(admin, groups).forEach((stage, lag) -> lags.get(stage).add(at, lag));
        if (cpu != null) {
          cpu.sample();
        }
        long now = System.currentTimeMillis();
        if (now >= nextProgress) {
          nextProgress += progressEvery * 1000L;
          System.out.println(progress(ledger, lags, reader, now - t0, now, chunkMillis));
        }
      }
    } finally {
      publisher.interrupt();
      asker.interrupt();
      publisher.join(30_000);
      asker.join(30_000);
    }
    rethrow(failure.get());
    rethrow(reader.failure);
    Map<String, Double> cores = cpu == null ? null : cpu.cores();
    double cpuSeconds = cpu == null ? 0 : cpu.seconds();
    step("cameras stopped; waiting up to " + drainSeconds + " s for the last frames and answers");
    long drainEnd = System.currentTimeMillis() + drainSeconds * 1000L;
    while (System.currentTimeMillis() < drainEnd
        && !(ledger.allFramesSeen() && ledger.allAnswered())) {
      Thread.sleep(200);
    }
    // a late copy of a frame would be a duplicate: give the read_committed reader a moment more
    Thread.sleep(1000);
    reader.close();
    // what the stages still have queued after the drain: missing frames behind a backlog are late,
    // and a longer --drain may still see them; with no backlog they are lost
    Map<String, Long> backlog;
    try (Admin admin = Clients.admin(servers, new Properties())) {
      backlog = lags(admin, groups);
    }
    Map<String, Object> r =
        report(
            ledger, lags, reader, cores, cpuSeconds, t0, end, warm, chunkMillis, chunksSent.get());
    r.put("lagAfterDrainRecords", backlog);
    r.put("prerollSeconds", prerollSeconds);
    if (inProcess) {
      r.put("maxFrameSize", frameSize);
      r.put("torchThreads", threads);
    }
    return r;
  }

  /**
   * This run's camera ids: spread evenly over {@code partitions}, or (0) where the hash puts them.
   */
  private List<String> cameraIds(String run, String kind, int partitions) {
    return partitions > 0
        ? CameraIds.even(run, kind, streams, partitions)
        : CameraIds.hashed(run, kind, streams);
  }

  /** The partition count of the chunks topic, the one the cameras' keys are spread over. */
  private static int partitionsOf(String servers, Topics topics) throws Exception {
    try (Admin admin = Clients.admin(servers, new Properties())) {
      String chunks = topics.chunks().name();
      return TopicAdmin.partitions(admin, List.of(chunks), 30_000).get(chunks);
    }
  }

  /**
   * The pre-roll ({@code --preroll}): {@link #streams} cameras of their own (streams {@code
   * lt-RUN-pre-*}, which the reader ignores) publish in real time for {@link #prerollSeconds}, then
   * this waits up to 180 s for every stage's lag to fall to at most one record per camera. Nothing
   * of it is measured.
   */
  private void preroll(
      String servers,
      Topics topics,
      List<SyntheticCameras.Clip> clips,
      List<String> ids,
      Map<String, String> groups)
      throws Exception {
    step(
        String.format(
            Locale.ROOT,
            "pre-roll: %d other camera(s) for %d s, not measured",
            streams,
            prerollSeconds));
    long start = System.currentTimeMillis() + 500;
    long end = start + prerollSeconds * 1000L;
    AtomicReference<Throwable> failure = new AtomicReference<>();
    LoadLedger unmeasured = new LoadLedger();
    Thread cameras =
        publisher(
            "loadtest-preroll",
            servers,
            topics,
            new SyntheticCameras(clips, ids, fps),
            unmeasured,
            start,
            end,
            new AtomicLong(),
            failure);
    // the same questions too: the worker's answer path is part of a pipeline already running
    Thread questions =
        asker("loadtest-preroll-questions", servers, topics, ids, unmeasured, start, end, failure);
    cameras.start();
    questions.start();
    long deadline = end + 180_000;
    long nextProgress = start + progressEvery * 1000L;
    try (Admin admin = Clients.admin(servers, new Properties())) {
      while (true) {
        Thread.sleep(1000);
        rethrow(failure.get());
        Map<String, Long> lag = lags(admin, groups);
        long now = System.currentTimeMillis();
        boolean camerasDone = !cameras.isAlive();
        boolean settled = lag.values().stream().allMatch(l -> l >= 0 && l <= streams);
        if (camerasDone && (settled || now > deadline)) {
          step(
              "pre-roll done"
                  + (settled ? "" : " (lag still above one record per camera after 180 s)")
                  + "; lag "
                  + lag);
          return;
        }
        if (now >= nextProgress) {
          nextProgress += progressEvery * 1000L;
          System.out.printf(
              Locale.ROOT,
              "[pre-roll %4d s] %s; lag %s%n",
              (now - start) / 1000,
              camerasDone ? "cameras stopped, waiting for the stages" : "cameras running",
              lag);
        }
      }
    } finally {
      cameras.interrupt();
      questions.interrupt();
      cameras.join(30_000);
      questions.join(30_000);
    }
  }

  /** Each stage's consumer lag in records, -1 where it cannot be read. */
  private static Map<String, Long> lags(Admin admin, Map<String, String> groups)
      throws InterruptedException {
    Map<String, Long> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> g : groups.entrySet()) {
      Long lag = StatusCommand.stage(admin, g.getKey(), g.getValue()).lag();
      out.put(g.getKey(), lag == null ? -1 : lag);
    }
    return out;
  }

  /** Work a background thread of the load test does; it may block and throw. */
  @FunctionalInterface
  private interface Work {
    void run() throws Exception;
  }

  /** A thread publishing the cameras' chunks in real time over [from, end). */
  private static Thread publisher(
      String name,
      String servers,
      Topics topics,
      SyntheticCameras cameras,
      LoadLedger ledger,
      long from,
      long end,
      AtomicLong chunksSent,
      AtomicReference<Throwable> failure) {
    return background(
        name,
        failure,
        () -> {
          try (KafkaProducer<String, VideoChunk> p = producer(servers, topics.chunks())) {
            cameras.run(p, topics.chunks(), ledger, from, end, chunksSent);
          }
        });
  }

  /** A thread asking {@link #ask}'s questions of {@code ids} over [from, end). */
  private Thread asker(
      String name,
      String servers,
      Topics topics,
      List<String> ids,
      LoadLedger ledger,
      long from,
      long end,
      AtomicReference<Throwable> failure) {
    return background(
        name,
        failure,
        () -> {
          try (KafkaProducer<String, Question> p = producer(servers, topics.questions())) {
            ask(p, topics.questions(), ids, ledger, from, end);
          }
        });
  }

  /**
   * A thread (not started) doing {@code work}: an interrupt ends it quietly, any other failure is
   * kept in {@code failure} for the main thread to rethrow.
   */
  private static Thread background(String name, AtomicReference<Throwable> failure, Work work) {
    return new Thread(
        () -> {
          try {
            work.run();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        },
        name);
  }

  private static void rethrow(Throwable t) throws Exception {
    if (t instanceof Exception e) {
      throw e;
    }
    if (t instanceof Error e) {
      throw e;
    }
  }

  /**
   * Asks {@code rate} questions per stream per minute spread evenly over [from, end), the streams
   * in turn.
   */
  private void ask(
      KafkaProducer<String, Question> producer,
      Topic<Question> topic,
      List<String> ids,
      LoadLedger ledger,
      long from,
      long end)
      throws InterruptedException {
    double perSecond = ids.size() * questionsPerMinute / 60.0;
    if (perSecond <= 0) {
      return;
    }
    long total = (long) Math.floor((end - from) / 1000.0 * perSecond);
    for (long q = 0; q < total; q++) {
      long at = from + Math.round(q * 1000.0 / perSecond);
      long wait = at - System.currentTimeMillis();
      if (wait > 0) {
        Thread.sleep(wait);
      }
      String stream = ids.get((int) (q % ids.size()));
      String id = UUID.randomUUID().toString();
      long now = System.currentTimeMillis();
      ledger.asked(id, now);
      producer.send(
          new ProducerRecord<>(
              topic.name(),
              stream,
              Question.newBuilder()
                  .setQuestionId(id)
                  .setStreamId(stream)
                  .setText(QUESTIONS.get((int) ((q / ids.size()) % QUESTIONS.size())))
                  .setAskedAtMillis(now)
                  .setMaxNewTokens(maxNewTokens)
                  .setWantGrounding(false)
                  .build()));
    }
    producer.flush();
  }

  private static <V> KafkaProducer<String, V> producer(String servers, Topic<V> topic) {
    Map<String, Object> p = new HashMap<>(KafkaLimits.producerOverrides());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "deco-loadtest-" + topic.name());
    return new KafkaProducer<>(p, topic.keySerde().serializer(), topic.valueSerde().serializer());
  }

  /**
   * Reads the frame tokens, answers and dead letters written after it started (committed records
   * only: what the exactly-once stages committed) into the ledger.
   */
  static final class Reader implements AutoCloseable {
    private final Thread thread;
    private final java.util.concurrent.CountDownLatch assigned =
        new java.util.concurrent.CountDownLatch(1);
    private volatile boolean running = true;
    volatile Throwable failure;
    final AtomicLong deadLetters = new AtomicLong();
    final Map<String, Long> deadLettersByStage = new java.util.concurrent.ConcurrentHashMap<>();

    Reader(String servers, Topics topics, LoadLedger ledger, Set<String> ours) {
      thread =
          new Thread(
              () -> {
                try (KafkaConsumer<String, FrameTokens> t = consumer(servers, topics.tokens());
                    KafkaConsumer<String, Answer> a = consumer(servers, topics.answers());
                    KafkaConsumer<String, DeadLetter> d = consumer(servers, topics.deadLetters())) {
                  assigned.countDown();
                  while (running) {
                    for (ConsumerRecord<String, FrameTokens> r : t.poll(Duration.ofMillis(20))) {
                      FrameTokens v = r.value();
                      if (v != null && ours.contains(v.getStreamId())) {
                        ledger.seen(v.getStreamId(), v.getFrameIndex(), System.currentTimeMillis());
                      }
                    }
                    for (ConsumerRecord<String, Answer> r : a.poll(Duration.ofMillis(5))) {
                      Answer v = r.value();
                      if (v != null) {
                        ledger.answered(
                            v.getQuestionId(),
                            System.currentTimeMillis(),
                            v.getError() != null,
                            Boolean.TRUE.equals(v.getLiveWindow()));
                      }
                    }
                    for (ConsumerRecord<String, DeadLetter> r : d.poll(Duration.ofMillis(5))) {
                      DeadLetter v = r.value();
                      if (v != null
                          && (v.getStreamId() == null || ours.contains(v.getStreamId()))) {
                        deadLetters.incrementAndGet();
                        deadLettersByStage.merge(String.valueOf(v.getStage()), 1L, Long::sum);
                      }
                    }
                  }
                } catch (Throwable e) {
                  failure = e;
                } finally {
                  assigned.countDown();
                }
              },
              "loadtest-reader");
      thread.setDaemon(true);
      thread.start();
    }

    void awaitAssigned() throws InterruptedException {
      assigned.await();
      if (failure != null) {
        throw new IllegalStateException("cannot read the output topics: " + failure, failure);
      }
    }

    /** A read_committed consumer on every partition of {@code topic}, positioned at its end. */
    private static <V> KafkaConsumer<String, V> consumer(String servers, Topic<V> topic) {
      Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
      c.remove(ConsumerConfig.GROUP_ID_CONFIG);
      c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
      c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      c.put(ConsumerConfig.CLIENT_ID_CONFIG, "deco-loadtest-" + topic.name());
      KafkaConsumer<String, V> consumer =
          new KafkaConsumer<>(
              c, topic.keySerde().deserializer(), topic.valueSerde().deserializer());
      List<TopicPartition> parts = new ArrayList<>();
      consumer
          .partitionsFor(topic.name(), Duration.ofSeconds(30))
          .forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
      consumer.assign(parts);
      consumer.seekToEnd(parts);
      parts.forEach(consumer::position); // resolve the end now, before the cameras start
      return consumer;
    }

    @Override
    public void close() throws InterruptedException {
      running = false;
      thread.join(10_000);
    }
  }

  /** One progress line: rates and latencies of the last interval, lags, totals so far. */
  private String progress(
      LoadLedger ledger,
      Map<String, LagSeries> lags,
      Reader reader,
      long elapsed,
      long now,
      long chunkMillis) {
    long from = now - progressEvery * 1000L;
    LoadLedger.FrameFigures recent = ledger.frames(from - chunkMillis, now - chunkMillis);
    LoadLedger.FrameFigures arrived = ledger.frames(from, now);
    LoadLedger.AnswerFigures a = ledger.answers();
    StringBuilder lag = new StringBuilder();
    lags.forEach((s, l) -> lag.append(' ').append(s).append(' ').append(l.last()));
    return String.format(
        Locale.ROOT,
        "[%4d s] offered %.1f fps, achieved %.1f fps, frame latency p95 %s, answers %d/%d p95 %s,"
            + " lag%s, dead letters %d",
        elapsed / 1000,
        recent.expected() / (double) progressEvery,
        arrived.arrivedInWindow() / (double) progressEvery,
        ms(arrived.arrivedLatencyMs().p95()),
        a.answered(),
        a.asked(),
        ms(a.latencyMs().p95()),
        lag,
        reader.deadLetters.get());
  }

  private static String ms(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f ms", v);
  }

  /** The report: issue 22's JSON keys first, then the details. */
  private Map<String, Object> report(
      LoadLedger ledger,
      Map<String, LagSeries> lags,
      Reader reader,
      Map<String, Double> cores,
      double cpuSeconds,
      long t0,
      long end,
      int warm,
      long chunkMillis,
      long chunks) {
    long from = t0 + warm * 1000L;
    double window = (end - from) / 1000.0;
    // offered: frames whose chunks were due in the window (a chunk leaves the camera chunkMillis
    // after its first frame); achieved: tokens that arrived in it; latency: frames captured in it
    LoadLedger.FrameFigures offered = ledger.frames(from - chunkMillis, end - chunkMillis);
    LoadLedger.FrameFigures captured = ledger.frames(from, end - chunkMillis);
    LoadLedger.FrameFigures arrived = ledger.frames(from, end);
    LoadLedger.FrameFigures all = ledger.allFrames();
    LoadLedger.AnswerFigures answers = ledger.answers();
    double tolerance = Math.max(10, 2 * streams * fps);
    long maxLag = 0;
    boolean growing = false;
    Map<String, Object> perStage = new LinkedHashMap<>();
    for (Map.Entry<String, LagSeries> e : lags.entrySet()) {
      LagSeries l = e.getValue();
      boolean g = l.growing(seconds, tolerance);
      maxLag = Math.max(maxLag, l.max());
      growing |= g;
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("maxLagRecords", l.max());
      s.put("lastLagRecords", l.last());
      s.put("lagSlopeRecordsPerSecond", round(l.slopeSince(seconds / 2.0)));
      s.put("lagGrowing", g);
      if (cores != null) {
        s.put("cpuCores", round(cores.get(e.getKey())));
        // CPU per frame delivered: unlike the rates, about the same on a busy machine as on an idle
        // one, so it tells what one core carries (cores x seconds of the samplers' span / frames)
        s.put(
            "cpuMsPerFrame",
            all.delivered() == 0
                ? Double.NaN
                : round(cores.get(e.getKey()) * cpuSeconds * 1000 / all.delivered()));
      }
      perStage.put(e.getKey(), s);
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("streams", streams);
    r.put("seconds", seconds);
    r.put("offeredFps", round(offered.expected() / window));
    r.put("achievedFps", round(arrived.arrivedInWindow() / window));
    r.put("frameLatencyMsP50", captured.latencyMs().p50());
    r.put("frameLatencyMsP95", captured.latencyMs().p95());
    r.put("frameLatencyMsP99", captured.latencyMs().p99());
    r.put("answerLatencyMsP50", answers.latencyMs().p50());
    r.put("answerLatencyMsP95", answers.latencyMs().p95());
    r.put("maxLagRecords", maxLag);
    r.put("lagGrowing", growing);
    r.put("lostFrames", all.lost());
    r.put("duplicateFrames", all.duplicates());
    r.put("deadLetters", reader.deadLetters.get());
    double ratio =
        offered.expected() == 0 ? 0 : arrived.arrivedInWindow() / (double) offered.expected();
    boolean holds =
        ratio >= MIN_ACHIEVED_RATIO
            && captured.latencyMs().p95() <= MAX_P95_MS
            && !growing
            && all.lost() == 0
            && all.duplicates() == 0
            && (answers.asked() == 0
                || (answers.answered() == answers.asked()
                    && answers.latencyMs().p95() <= MAX_P95_MS));
    r.put("holds", holds);
    r.put("achievedRatio", round(ratio));
    r.put("warmupSeconds", warm);
    r.put("stages", externalStages ? "external" : "in-process");
    r.put("framesExpected", all.expected());
    r.put("framesDelivered", all.delivered());
    r.put("unexpectedFrames", ledger.unexpectedFrames());
    r.put("frameLatencyMsMax", captured.latencyMs().max());
    r.put("answerLatencyMsP99", answers.latencyMs().p99());
    r.put("questionsAsked", answers.asked());
    r.put("questionsAnswered", answers.answered());
    // the workers' achieved rate (issue 22 point 4: one worker process against two)
    r.put("questionsPerSecond", round(ledger.askedBetween(from, end) / window));
    r.put("answersPerSecond", round(ledger.answeredBetween(from, end) / window));
    r.put("answerErrors", answers.errors());
    r.put("liveWindowAnswers", answers.liveWindow());
    r.put("duplicateAnswers", answers.duplicates());
    r.put("chunksSent", chunks);
    r.put("lagToleranceRecords", tolerance);
    r.put("perStage", perStage);
    if (cores != null) {
      Map<String, Double> c = new LinkedHashMap<>();
      cores.forEach((k, v) -> c.put(k, round(v)));
      r.put("cpuCores", c);
      r.put(
          "processCpuMsPerFrame",
          all.delivered() == 0
              ? Double.NaN
              : round(cores.get("process") * cpuSeconds * 1000 / all.delivered()));
    }
    r.put("deadLettersByStage", new LinkedHashMap<>(reader.deadLettersByStage));
    return r;
  }

  private static double round(double v) {
    return Double.isNaN(v) ? v : Math.round(v * 1000) / 1000.0;
  }

  @SuppressWarnings("unchecked")
  private static void print(Map<String, Object> r) {
    System.out.println();
    System.out.println("==> load test report");
    System.out.printf(
        Locale.ROOT,
        "  streams %s for %s s (warm-up %s s left out of rates and latencies; %s)%n",
        r.get("streams"),
        r.get("seconds"),
        r.get("warmupSeconds"),
        Integer.valueOf(0).equals(r.get("prerollSeconds"))
            ? "cold start"
            : "after a " + r.get("prerollSeconds") + " s pre-roll");
    if (r.containsKey("torchThreads")) {
      System.out.printf(
          Locale.ROOT,
          "  frames at most %s, libtorch %s intra-op thread(s)%n",
          r.get("maxFrameSize") == null
              ? "the frames stage's default size"
              : r.get("maxFrameSize") + "x" + r.get("maxFrameSize"),
          r.get("torchThreads") == null ? "default" : r.get("torchThreads"));
    }
    System.out.printf(
        Locale.ROOT,
        "  frames/s offered %s, achieved %s (%.1f%%)%n",
        r.get("offeredFps"),
        r.get("achievedFps"),
        100 * (double) r.get("achievedRatio"));
    System.out.printf(
        Locale.ROOT,
        "  frame latency (camera time to tokens) p50 %s, p95 %s, p99 %s, max %s%n",
        ms((double) r.get("frameLatencyMsP50")),
        ms((double) r.get("frameLatencyMsP95")),
        ms((double) r.get("frameLatencyMsP99")),
        ms((double) r.get("frameLatencyMsMax")));
    System.out.printf(
        Locale.ROOT,
        "  questions %s asked, %s answered (%s with an error, %s from a live window), latency"
            + " p50 %s, p95 %s%n",
        r.get("questionsAsked"),
        r.get("questionsAnswered"),
        r.get("answerErrors"),
        r.get("liveWindowAnswers"),
        ms((double) r.get("answerLatencyMsP50")),
        ms((double) r.get("answerLatencyMsP95")));
    System.out.printf(
        Locale.ROOT,
        "  answers/s %s of %s questions/s asked, in the measured window%n",
        r.get("answersPerSecond"),
        r.get("questionsPerSecond"));
    System.out.printf(
        Locale.ROOT,
        "  frames expected %s, delivered %s, lost %s, duplicated %s, unexpected %s%n",
        r.get("framesExpected"),
        r.get("framesDelivered"),
        r.get("lostFrames"),
        r.get("duplicateFrames"),
        r.get("unexpectedFrames"));
    Map<String, Long> backlog = (Map<String, Long>) r.get("lagAfterDrainRecords");
    if ((long) r.get("lostFrames") > 0 && backlog.values().stream().anyMatch(l -> l > 0)) {
      System.out.println(
          "  (the stages still had records queued after the drain, "
              + backlog
              + ": frames behind them are late, not necessarily lost; a longer --drain tells)");
    }
    System.out.printf(
        Locale.ROOT, "  dead letters %s %s%n", r.get("deadLetters"), r.get("deadLettersByStage"));
    ((Map<String, Map<String, Object>>) r.get("perStage"))
        .forEach(
            (stage, s) ->
                System.out.printf(
                    Locale.ROOT,
                    "  %-11s lag max %s, last %s, trend %s records/s (%s)%s%n",
                    stage,
                    s.get("maxLagRecords"),
                    s.get("lastLagRecords"),
                    s.get("lagSlopeRecordsPerSecond"),
                    (boolean) s.get("lagGrowing") ? "GROWING" : "not growing",
                    s.containsKey("cpuCores")
                        ? ", cpu "
                            + s.get("cpuCores")
                            + " cores, "
                            + s.get("cpuMsPerFrame")
                            + " ms/frame"
                        : ""));
    if (r.containsKey("cpuCores")) {
      System.out.println(
          "  cpu cores by thread group: "
              + r.get("cpuCores")
              + ", process "
              + r.get("processCpuMsPerFrame")
              + " ms per frame delivered");
    }
    System.out.println(
        "  holds (>= 95% of offered, p95s <= 2 s, lag not growing, none lost or duplicated): "
            + ((boolean) r.get("holds") ? "yes" : "no"));
  }

  private static void step(String s) {
    System.out.println("==> " + s);
  }
}
