package io.decostream.cli;

import io.decostream.nn.llava.PackPart;
import io.decostream.nn.llava.StreamModel;
import io.decostream.nn.llava.families.Families;
import io.decostream.nn.weights.Precision;
import io.decostream.worker.LiveWindowConfig;
import io.decostream.worker.LlavaAnswerBackend;
import io.decostream.worker.Sampling;
import io.decostream.worker.WorkerApp;
import io.decostream.worker.WorkerConfig;
import io.decostream.worker.WorkerTopology;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description =
        "Run the llm-worker stage (frame windows, answers, captions) against a broker until Ctrl-C.")
final class WorkerCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;
  @Mixin StageOptions stage;

  @Option(
      names = "--model",
      required = true,
      description = "Model pack directory (HF llava_next_video checkpoint).")
  Path model;

  @Mixin WeightOptions precision;

  @Option(
      names = "--caption-every",
      defaultValue = "8",
      description = "A caption every N frames; 0 = off (default ${DEFAULT-VALUE}).")
  int captionEvery;

  @Option(
      names = "--max-new-tokens",
      defaultValue = "32",
      description = "Default tokens per answer (default ${DEFAULT-VALUE}).")
  int maxNewTokens;

  @Option(
      names = "--ground-captions",
      description =
          "Also publish R-GAE grounding maps for every caption "
              + "(answers get them when the question asks).")
  boolean groundCaptions;

  @Option(
      names = "--temperature",
      defaultValue = "${env:DECO_WORKER_TEMPERATURE:-0}",
      description =
          "Default sampling temperature of answers whose question sets none; 0 = greedy (default"
              + " ${DEFAULT-VALUE}, env DECO_WORKER_TEMPERATURE).")
  double temperature;

  @Option(
      names = "--top-p",
      defaultValue = "${env:DECO_WORKER_TOP_P:-1}",
      description =
          "Default nucleus mass in (0, 1] (default ${DEFAULT-VALUE}, env DECO_WORKER_TOP_P).")
  double topP;

  @Option(
      names = "--seed",
      defaultValue = "${env:DECO_WORKER_SEED:-0}",
      description = "Default sampler seed (default ${DEFAULT-VALUE}, env DECO_WORKER_SEED).")
  long seed;

  @Option(
      names = "--live-window",
      arity = "1",
      defaultValue = "${env:DECO_LIVE_WINDOW:-true}",
      description =
          "Keep each stream's window prefilled so a question prefills only its text; false ="
              + " re-prefill the whole window for every answer (default ${DEFAULT-VALUE}, env"
              + " DECO_LIVE_WINDOW).")
  boolean liveWindow;

  @Option(
      names = "--live-slide-frames",
      defaultValue = "4",
      description =
          "Frames a live window drops at once when it slides, rebuilt in the background (default"
              + " ${DEFAULT-VALUE}).")
  int liveSlideFrames;

  @Option(
      names = "--live-max-streams",
      defaultValue = "16",
      description =
          "Streams kept prefilled at most, least recently used evicted (default ${DEFAULT-VALUE}).")
  int liveMaxStreams;

  @Option(
      names = "--live-max-mib",
      defaultValue = "12288",
      description =
          "MiB of KV cache (and kept frames) for live windows at most, least recently used evicted"
              + " (default ${DEFAULT-VALUE}).")
  long liveMaxMib;

  @Option(
      names = "--live-hot-seconds",
      defaultValue = "${env:DECO_LIVE_HOT_SECONDS:-30}",
      description =
          "A stream is hot for this long after a question: asked --live-warm-after times within it,"
              + " its window is kept prefilled; asked nothing for it, the window is freed (default"
              + " ${DEFAULT-VALUE}, env DECO_LIVE_HOT_SECONDS).")
  long liveHotSeconds;

  @Option(
      names = "--live-warm-after",
      defaultValue = "${env:DECO_LIVE_WARM_AFTER:-2}",
      description =
          "Questions within --live-hot-seconds that make a stream hot, so its live window is built"
              + " and kept; 0 = every stream's window is kept prefilled from its first frame"
              + " (default ${DEFAULT-VALUE}, env DECO_LIVE_WARM_AFTER).")
  int liveWarmAfter;

  @Option(
      names = "--max-batch",
      defaultValue = "${env:DECO_WORKER_MAX_BATCH:-32}",
      description =
          "Questions and captions of different streams decoded together by the generation"
              + " scheduler (continuous batching; default ${DEFAULT-VALUE}, env"
              + " DECO_WORKER_MAX_BATCH); 0 = each generation runs on the stream thread.")
  int maxBatch;

  @Override
  public Integer call() throws Exception {
    Path stateDir = stage.claimStateDir(WorkerConfig.defaults().applicationId());
    WorkerConfig config;
    Precision weights;
    try {
      config =
          Stages.workerConfig(
                  kafka.topicNames(), captionEvery, maxNewTokens, stateDir, groundCaptions)
              .withSampling(new Sampling(temperature, topP, seed))
              .withLive(
                  new LiveWindowConfig(
                      liveWindow,
                      liveSlideFrames,
                      liveMaxStreams,
                      liveMaxMib << 20,
                      Duration.ofSeconds(liveHotSeconds),
                      liveWarmAfter))
              .withMaxBatch(maxBatch);
      weights = precision.weights();
    } catch (IllegalArgumentException e) {
      System.err.println("worker: " + e.getMessage());
      return 2;
    }
    String instance = stage.instanceId(stateDir, config.applicationId());
    FramesCommand.announce("worker", config.applicationId(), instance, stateDir, stage);
    System.out.println(
        "worker: loading the language model from " + model + " (" + weights + " weights)");
    try (StreamModel language = Families.forStage(model, PackPart.LANGUAGE, weights)) {
      LlavaAnswerBackend backend = new LlavaAnswerBackend(language);
      return kafka
          .stageRunner(
              "worker",
              () -> WorkerTopology.build(config, backend),
              WorkerApp.properties(
                  config, kafka.bootstrap, stage.extra(kafka.clientProperties(), instance)))
          .runUntilSignalled();
    }
  }
}
