package io.decostream.cli;

import io.decostream.encoder.EncoderApp;
import io.decostream.encoder.EncoderConfig;
import io.decostream.encoder.EncoderTopology;
import io.decostream.encoder.LlavaVisionBackend;
import io.decostream.nn.llava.PackPart;
import io.decostream.nn.llava.StreamModel;
import io.decostream.nn.llava.families.Families;
import io.decostream.nn.weights.Precision;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "encoder",
    mixinStandardHelpOptions = true,
    description =
        "Run the encoder stage (CLIP ViT + DeCo token compression) against a broker until Ctrl-C.")
final class EncoderCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;
  @Mixin StageOptions stage;

  @Option(
      names = "--model",
      required = true,
      description =
          "Model pack directory (HF llava_next_video, llava or llava_onevision checkpoint).")
  Path model;

  @Option(
      names = "--tokens",
      description =
          "Default compressor: avg:12 (DeCo, 144 tokens), max:12, avg:8, none (576). "
              + "Default: the model's own pooled grid.")
  String compressor;

  @Option(
      names = "--stream-tokens",
      description = "Per-stream compressors, e.g. cam1=avg:12,cam2=none.")
  String perStream;

  @Option(
      names = "--warmup-frames",
      defaultValue = "0",
      description =
          "Synthetic frames run through this stage's own topology before it joins its group, so"
              + " the JIT compiles the per-frame path before the first real frame (256 took 6 s with"
              + " the shipped model and let 50 cameras catch up on 2 cores, docs/scaling.md); it"
              + " delays a restarted stage's recovery by as long (default ${DEFAULT-VALUE}: none).")
  int warmupFrames;

  @Option(
      names = "--warmup-size",
      defaultValue = "336",
      paramLabel = "PIXELS",
      description = "Width and height of the warm-up frames (default ${DEFAULT-VALUE}).")
  int warmupSize;

  @Override
  public Integer call() throws Exception {
    Path stateDir = stage.claimStateDir(EncoderConfig.defaults().applicationId());
    EncoderConfig config =
        Stages.encoderConfig(
            kafka.topicNames(), compressor, EncoderConfig.parsePerStream(perStream), stateDir);
    String instance = stage.instanceId(stateDir, config.applicationId());
    FramesCommand.announce("encoder", config.applicationId(), instance, stateDir, stage);
    System.out.println("encoder: loading the vision tower from " + model);
    try (StreamModel vision = Families.forStage(model, PackPart.VISION, Precision.F32)) {
      LlavaVisionBackend backend = new LlavaVisionBackend(vision);
      Stages.warmEncoder(config, backend, warmupFrames, warmupSize, warmupSize);
      return kafka
          .stageRunner(
              "encoder",
              () -> EncoderTopology.build(config, backend),
              EncoderApp.properties(
                  config, kafka.bootstrap, stage.extra(kafka.clientProperties(), instance)))
          .runUntilSignalled();
    }
  }
}
