package io.decostream.cli;

import io.decostream.encoder.EncoderApp;
import io.decostream.encoder.LlavaVisionBackend;
import io.decostream.frames.FramesApp;
import io.decostream.frames.FramesConfig;
import io.decostream.frames.FramesWarmup;
import io.decostream.metrics.StageMetrics;
import io.decostream.nn.llava.PackPart;
import io.decostream.nn.llava.StreamModel;
import io.decostream.nn.llava.families.Families;
import io.decostream.nn.weights.Precision;
import io.decostream.schemas.Guarantee;
import io.decostream.schemas.StreamsProperties;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.VideoChunk;
import io.decostream.worker.LiveWindowConfig;
import io.decostream.worker.LlavaAnswerBackend;
import io.decostream.worker.WorkerApp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The load test's in-process stages: what {@link Pipeline} starts for the demo (frames, encoder,
 * llm-worker in this JVM, exactly-once, the same defaults), with the settings a load test varies
 * (issue 22): the encoder's micro-batch and the worker's live window.
 *
 * @param model model pack
 * @param fps frames sampled per second of video
 * @param captionEvery a caption every N frames per stream (0 = none)
 * @param maxNewTokens tokens generated per answer at most
 * @param encoderBatch frames per ViT micro-batch (null = the encoder's default)
 * @param encoderWaitMs longest wait for a micro-batch to fill (null = the encoder's default)
 * @param liveWindow the worker's live window on or off (null = the worker's default)
 * @param liveHotSeconds how long a stream stays hot after a question (null = the worker's default)
 * @param liveWarmAfter questions within that which make a stream hot (null = the worker's default)
 * @param maxFrameSize the frames stage scales frames down to fit this many pixels each way (null =
 *     its default); at the model's input size the CLIP preprocessing's resize has nothing to do
 * @param encoderWarmupFrames synthetic frames the encoder runs through its own topology before it
 *     starts ({@link EncoderWarmup}; 0 = none)
 * @param framesWarmupChunks chunks the frames stage decodes through its own topology before it
 *     starts ({@link FramesWarmup}; 0 = none)
 * @param framesWarmupClip the chunks that warm-up cycles through (one camera's clip)
 * @param cameraSize width and height of the cameras' frames
 * @param streamsConfig Kafka Streams properties added to every stage's config (empty = none)
 * @param stateDir root of the stages' state directories
 */
record LoadStages(
    Path model,
    double fps,
    int captionEvery,
    int maxNewTokens,
    Integer encoderBatch,
    Long encoderWaitMs,
    Boolean liveWindow,
    Long liveHotSeconds,
    Integer liveWarmAfter,
    Integer maxFrameSize,
    int encoderWarmupFrames,
    int framesWarmupChunks,
    List<VideoChunk> framesWarmupClip,
    int cameraSize,
    Properties streamsConfig,
    Path stateDir) {

  /** The running stages; closing stops them and frees the models. */
  static final class Running implements AutoCloseable {
    private final List<KafkaStreams> streams = new ArrayList<>();
    private final List<AutoCloseable> resources = new ArrayList<>();

    void awaitRunning(Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (streams.stream().anyMatch(s -> s.state() != KafkaStreams.State.RUNNING)) {
        if (streams.stream()
            .anyMatch(
                s ->
                    s.state() == KafkaStreams.State.ERROR
                        || s.state() == KafkaStreams.State.NOT_RUNNING)) {
          throw new IllegalStateException("a stage failed to start: " + states());
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("stages not running after " + timeout + ": " + states());
        }
        Thread.sleep(100);
      }
    }

    List<KafkaStreams.State> states() {
      return streams.stream().map(KafkaStreams::state).toList();
    }

    @Override
    public void close() {
      // all stages asked to stop at once, then waited for: a busy worker does not hold up the rest
      for (KafkaStreams s : streams) {
        s.close(Duration.ZERO);
      }
      for (KafkaStreams s : streams) {
        s.close(Duration.ofSeconds(30));
      }
      for (AutoCloseable r : resources) {
        try {
          r.close();
        } catch (Exception ignored) {
          // native memory of a model, metrics: nothing to recover
        }
      }
    }
  }

  /** The worker's live window with the settings given here (issue 22: hot streams only). */
  private LiveWindowConfig live(LiveWindowConfig l) {
    LiveWindowConfig out = liveWindow != null ? l.withEnabled(liveWindow) : l;
    return out.withHot(
        liveHotSeconds != null ? Duration.ofSeconds(liveHotSeconds) : out.hotFor(),
        liveWarmAfter != null ? liveWarmAfter : out.warmAfter());
  }

  Running start(String bootstrap, TopicNames names) {
    Running r = new Running();
    Properties extra = StreamsProperties.guarantee(Guarantee.EXACTLY_ONCE_V2);
    extra.putAll(streamsConfig);
    try {
      FramesConfig frames =
          FramesConfig.defaults()
              .withTopicNames(names)
              .withSampleFps(fps)
              .withStateDir(stateDir.resolve("frames"));
      if (maxFrameSize != null) {
        frames = frames.withMaxSize(maxFrameSize, maxFrameSize);
      }
      Stages.warmFrames(frames, framesWarmupClip, framesWarmupChunks);
      r.streams.add(FramesApp.start(frames, bootstrap, extra));
      StreamModel vision = Families.forStage(model, PackPart.VISION, Precision.F32);
      r.resources.add(vision);
      var encoder =
          Stages.encoderConfig(names, null, java.util.Map.of(), stateDir.resolve("encoder"));
      if (encoderBatch != null || encoderWaitMs != null) {
        encoder =
            encoder.withBatch(
                encoderBatch != null ? encoderBatch : encoder.batchSize(),
                encoderWaitMs != null ? encoderWaitMs : encoder.maxBatchWaitMs());
      }
      LlavaVisionBackend backend = new LlavaVisionBackend(vision);
      // warm up on frames of the size the cameras' frames reach the encoder at
      int side = maxFrameSize != null ? Math.min(maxFrameSize, cameraSize) : cameraSize;
      Stages.warmEncoder(encoder, backend, encoderWarmupFrames, side, side);
      r.streams.add(EncoderApp.start(encoder, backend, bootstrap, extra));
      StreamModel language = Families.forStage(model, PackPart.LANGUAGE, Precision.F32);
      r.resources.add(language);
      var worker =
          Stages.workerConfig(names, captionEvery, maxNewTokens, stateDir.resolve("worker"), false);
      worker = worker.withLive(live(worker.live()));
      r.streams.add(WorkerApp.start(worker, new LlavaAnswerBackend(language), bootstrap, extra));
      String[] stages = {"frames", "encoder", "llm-worker"};
      for (int i = 0; i < r.streams.size(); i++) {
        r.resources.add(StageMetrics.bind(r.streams.get(i), stages[i]));
      }
      return r;
    } catch (RuntimeException e) {
      r.close();
      throw e;
    }
  }
}
