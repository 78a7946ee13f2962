package io.decostream.cli;

import io.decostream.encoder.EncoderApp;
import io.decostream.encoder.EncoderConfig;
import io.decostream.encoder.EncoderWarmup;
import io.decostream.encoder.LlavaVisionBackend;
import io.decostream.encoder.VisionBackend;
import io.decostream.frames.FramesConfig;
import io.decostream.frames.FramesWarmup;
import io.decostream.nn.llava.StreamModel;
import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.VideoChunk;
import io.decostream.worker.LlavaAnswerBackend;
import io.decostream.worker.WorkerApp;
import io.decostream.worker.WorkerConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Starts the model stages from command-line settings (shared by the stage commands and the demo).
 * {@code extra} are Streams properties over the defaults (guarantee, client security settings).
 */
final class Stages {
  private Stages() {}

  static EncoderConfig encoderConfig(
      TopicNames names, String compressor, Map<String, TokenCompressor> perStream, Path stateDir) {
    return EncoderConfig.defaults()
        .withTopicNames(names)
        .withCompressor(compressor == null ? null : TokenCompressor.parse(compressor))
        .withPerStream(perStream)
        .withStateDir(stateDir);
  }

  static WorkerConfig workerConfig(
      TopicNames names, int captionEvery, int maxNewTokens, Path stateDir, boolean groundCaptions) {
    return WorkerConfig.defaults()
        .withTopicNames(names)
        .withCaptionEvery(captionEvery)
        .withMaxNewTokens(maxNewTokens)
        .withStateDir(stateDir)
        .withGroundCaptions(groundCaptions);
  }

  /**
   * Synthetic frames the load test's encoder warms up on before the cameras start (issue 22; 12 s
   * with the shipped model on 2 cores). 256 frames left the per-frame path half compiled: at 50
   * cameras the first 90 s built a backlog that put the run's frame p95 at 3.4 s, where 2048 frames
   * held it at 1.6 s (docs/scaling.md). {@code deco encoder} warms up only when asked: a restarted
   * stage would rejoin its group that much later (docs/reliability.md counts the seconds to
   * recovery).
   */
  static final int ENCODER_WARMUP_FRAMES = 2048;

  /**
   * Runs {@code frames} synthetic frames through the encoder's own topology before it starts
   * ({@link EncoderWarmup}), with a line before and after: under load a cold stage falls behind
   * while the JIT compiles its per-frame path.
   */
  static void warmEncoder(
      EncoderConfig config, VisionBackend backend, int frames, int width, int height) {
    if (frames <= 0) {
      return;
    }
    System.out.printf("encoder: warming up on %d synthetic %dx%d frames%n", frames, width, height);
    EncoderWarmup.Result r = EncoderWarmup.run(config, backend, frames, width, height, n -> {});
    System.out.printf(
        "encoder: warmed up in %.1f s (%.0f ms a frame)%n",
        r.millis() / 1000.0, (double) r.millis() / r.frames());
  }

  /**
   * Chunks the load test's frames stage decodes through its own topology before it starts (issue
   * 22; a few seconds on 2 cores): the frames stage's side of the cold start the encoder's warm-up
   * covers for the encoder (docs/scaling.md).
   */
  static final int FRAMES_WARMUP_CHUNKS = 1024;

  /**
   * Decodes {@code chunks} chunks of {@code clip} through the frames stage's own topology before it
   * starts ({@link FramesWarmup}), with a line before and after.
   */
  static void warmFrames(FramesConfig config, List<VideoChunk> clip, int chunks) {
    if (chunks <= 0) {
      return;
    }
    System.out.printf("frames: warming up on %d chunks%n", chunks);
    FramesWarmup.Result r = FramesWarmup.run(config, clip, chunks);
    System.out.printf(
        Locale.ROOT,
        "frames: warmed up in %.1f s (%.1f ms a chunk, %d frames kept)%n",
        r.millis() / 1000.0,
        (double) r.millis() / r.chunks(),
        r.frames());
  }

  static KafkaStreams startEncoder(
      String bootstrap,
      TopicNames names,
      StreamModel vision,
      String compressor,
      Map<String, TokenCompressor> perStream,
      Path stateDir,
      Properties extra) {
    return EncoderApp.start(
        encoderConfig(names, compressor, perStream, stateDir),
        new LlavaVisionBackend(vision),
        bootstrap,
        extra);
  }

  static KafkaStreams startEncoder(
      String bootstrap, TopicNames names, StreamModel vision, String compressor, Path stateDir) {
    return startEncoder(bootstrap, names, vision, compressor, Map.of(), stateDir, new Properties());
  }

  static KafkaStreams startWorker(
      String bootstrap,
      TopicNames names,
      StreamModel language,
      int captionEvery,
      int maxNewTokens,
      Path stateDir) {
    return startWorker(
        bootstrap, names, language, captionEvery, maxNewTokens, stateDir, false, new Properties());
  }

  static KafkaStreams startWorker(
      String bootstrap,
      TopicNames names,
      StreamModel language,
      int captionEvery,
      int maxNewTokens,
      Path stateDir,
      boolean groundCaptions,
      Properties extra) {
    return WorkerApp.start(
        workerConfig(names, captionEvery, maxNewTokens, stateDir, groundCaptions),
        new LlavaAnswerBackend(language),
        bootstrap,
        extra);
  }
}
