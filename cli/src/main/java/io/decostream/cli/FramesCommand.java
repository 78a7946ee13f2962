package io.decostream.cli;

import io.decostream.frames.FramesApp;
import io.decostream.frames.FramesConfig;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.streams.KafkaStreams;
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

  @Option(
      names = "--fps",
      defaultValue = "1.0",
      description = "Sampling rate in frames per second (default ${DEFAULT-VALUE}).")
  double fps;

  @Option(
      names = "--state-dir",
      description = "Kafka Streams state directory (default: a temp dir).")
  Path stateDir;

  @Override
  public Integer call() throws Exception {
    FramesConfig config =
        FramesConfig.defaults()
            .withTopicNames(kafka.topicNames())
            .withSampleFps(fps)
            .withStateDir(stateDir);
    Clients.ensureTopics(kafka.bootstrap, kafka.topics());
    try (KafkaStreams streams = FramesApp.start(config, kafka.bootstrap, new Properties())) {
      return StageRunner.awaitShutdown("frames", streams);
    }
  }
}
