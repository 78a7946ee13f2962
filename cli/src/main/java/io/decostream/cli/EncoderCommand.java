package io.decostream.cli;

import io.decostream.encoder.EncoderConfig;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.kafka.streams.KafkaStreams;
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

  @Option(
      names = "--model",
      required = true,
      description = "Model pack directory (HF llava_next_video checkpoint).")
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
      names = "--state-dir",
      description = "Kafka Streams state directory (default: a temp dir).")
  Path stateDir;

  @Override
  public Integer call() throws Exception {
    Clients.ensureTopics(kafka.bootstrap, kafka.topics());
    System.out.println("encoder: loading the vision tower from " + model);
    try (LlavaNextVideo vision = LlavaNextVideo.load(model, LlavaNextVideo.Part.VISION);
        KafkaStreams streams =
            Stages.startEncoder(
                kafka.bootstrap,
                kafka.topicNames(),
                vision,
                compressor,
                EncoderConfig.parsePerStream(perStream),
                stateDir)) {
      return StageRunner.awaitShutdown("encoder", streams);
    }
  }
}
