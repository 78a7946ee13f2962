package io.decostream.cli;

import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.worker.LlavaAnswerBackend;
import io.decostream.worker.WorkerApp;
import io.decostream.worker.WorkerConfig;
import io.decostream.worker.WorkerTopology;
import java.nio.file.Path;
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

  @Override
  public Integer call() throws Exception {
    Path stateDir = stage.stateDir(WorkerConfig.defaults().applicationId());
    WorkerConfig config =
        Stages.workerConfig(
            kafka.topicNames(), captionEvery, maxNewTokens, stateDir, groundCaptions);
    String instance = stage.instanceId(stateDir, config.applicationId());
    FramesCommand.announce("worker", config.applicationId(), instance, stateDir, stage);
    System.out.println("worker: loading the language model from " + model);
    try (LlavaNextVideo language = LlavaNextVideo.load(model, LlavaNextVideo.Part.LANGUAGE)) {
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
