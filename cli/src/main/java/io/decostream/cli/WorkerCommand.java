package io.decostream.cli;

import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.kafka.streams.KafkaStreams;
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

  @Option(
      names = "--state-dir",
      description = "Kafka Streams state directory (default: a temp dir).")
  Path stateDir;

  @Override
  public Integer call() throws Exception {
    Clients.ensureTopics(kafka.bootstrap, kafka.topics());
    System.out.println("worker: loading the language model from " + model);
    try (LlavaNextVideo language = LlavaNextVideo.load(model, LlavaNextVideo.Part.LANGUAGE);
        KafkaStreams streams =
            Stages.startWorker(
                kafka.bootstrap,
                kafka.topicNames(),
                language,
                captionEvery,
                maxNewTokens,
                stateDir,
                groundCaptions)) {
      return StageRunner.awaitShutdown("worker", streams);
    }
  }
}
