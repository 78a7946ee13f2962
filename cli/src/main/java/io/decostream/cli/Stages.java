package io.decostream.cli;

import io.decostream.encoder.EncoderApp;
import io.decostream.encoder.EncoderConfig;
import io.decostream.encoder.LlavaVisionBackend;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.TopicNames;
import io.decostream.worker.LlavaAnswerBackend;
import io.decostream.worker.WorkerApp;
import io.decostream.worker.WorkerConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Starts the model stages from command-line settings (shared by the stage commands and the demo).
 */
final class Stages {
  private Stages() {}

  static KafkaStreams startEncoder(
      String bootstrap,
      TopicNames names,
      LlavaNextVideo vision,
      String compressor,
      Map<String, TokenCompressor> perStream,
      Path stateDir) {
    EncoderConfig config =
        EncoderConfig.defaults()
            .withTopicNames(names)
            .withCompressor(compressor == null ? null : TokenCompressor.parse(compressor))
            .withPerStream(perStream)
            .withStateDir(stateDir);
    return EncoderApp.start(config, new LlavaVisionBackend(vision), bootstrap, new Properties());
  }

  static KafkaStreams startEncoder(
      String bootstrap, TopicNames names, LlavaNextVideo vision, String compressor, Path stateDir) {
    return startEncoder(bootstrap, names, vision, compressor, Map.of(), stateDir);
  }

  static KafkaStreams startWorker(
      String bootstrap,
      TopicNames names,
      LlavaNextVideo language,
      int captionEvery,
      int maxNewTokens,
      Path stateDir) {
    return startWorker(bootstrap, names, language, captionEvery, maxNewTokens, stateDir, false);
  }

  static KafkaStreams startWorker(
      String bootstrap,
      TopicNames names,
      LlavaNextVideo language,
      int captionEvery,
      int maxNewTokens,
      Path stateDir,
      boolean groundCaptions) {
    WorkerConfig config =
        WorkerConfig.defaults()
            .withTopicNames(names)
            .withCaptionEvery(captionEvery)
            .withMaxNewTokens(maxNewTokens)
            .withStateDir(stateDir)
            .withGroundCaptions(groundCaptions);
    return WorkerApp.start(config, new LlavaAnswerBackend(language), bootstrap, new Properties());
  }
}
