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

  @Option(
      names = "--max-size",
      paramLabel = "WIDTHxHEIGHT",
      defaultValue = "${env:DECO_FRAMES_MAX_SIZE:-1920x1080}",
      description =
          "Frames larger than this are scaled down by FFmpeg, aspect kept (default"
              + " ${DEFAULT-VALUE}, env DECO_FRAMES_MAX_SIZE; one number for both ways). Sized for"
              + " the model, e.g. 336 for CLIP-L/336 or 168 for the shipped demo model, the frames"
              + " topic carries no pixels the encoder throws away (docs/scaling.md).")
  String maxSize;

  /** "WxH" or "N" as {width, height}. */
  static int[] parseSize(String s) {
    return SizeArg.parse("--max-size", s);
  }

  @Override
  public Integer call() throws Exception {
    int[] size = parseSize(maxSize);
    FramesConfig base = FramesConfig.defaults();
    Path stateDir = stage.claimStateDir(base.applicationId());
    FramesConfig config =
        base.withTopicNames(kafka.topicNames())
            .withSampleFps(fps)
            .withMaxSize(size[0], size[1])
            .withStateDir(stateDir);
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
