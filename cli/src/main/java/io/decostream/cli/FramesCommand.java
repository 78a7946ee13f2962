package io.decostream.cli;

import io.decostream.frames.FramesApp;
import io.decostream.frames.FramesConfig;
import io.decostream.frames.FramesTopology;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "frames",
    mixinStandardHelpOptions = true,
    description =
        "Run the frames stage (decode chunks, sample frames) against a broker until Ctrl-C.")
final class FramesCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;
  @Mixin StageOptions stage;

  @Option(
      names = "--fps",
      defaultValue = "1.0",
      description = "Sampling rate in frames per second (default ${DEFAULT-VALUE}).")
  double fps;

  @Override
  public Integer call() throws Exception {
    FramesConfig base = FramesConfig.defaults();
    Path stateDir = stage.claimStateDir(base.applicationId());
    FramesConfig config =
        base.withTopicNames(kafka.topicNames()).withSampleFps(fps).withStateDir(stateDir);
    String instance = stage.instanceId(stateDir, config.applicationId());
    announce("frames", config.applicationId(), instance, stateDir, stage);
    return kafka
        .stageRunner(
            "frames",
            () -> FramesTopology.build(config),
            FramesApp.properties(
                config, kafka.bootstrap, stage.extra(kafka.clientProperties(), instance)))
        .runUntilSignalled();
  }

  /** One line naming what a stage runs as (the ids a restart must keep). */
  static void announce(
      String name, String applicationId, String instance, Path stateDir, StageOptions stage) {
    System.out.println(
        name
            + ": application "
            + applicationId
            + ", member "
            + instance
            + ", "
            + stage.guarantee
            + ", state in "
            + stateDir);
    // every stage command announces itself here: its metrics endpoint starts with it
    MetricsEndpoint.start(stage.metricsPort, System.out);
  }
}
