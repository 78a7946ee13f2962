package io.decostream.cli;

import io.decostream.frames.FramesApp;
import io.decostream.frames.FramesConfig;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.schemas.TopicNames;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Every processing stage (frames, encoder, llm-worker) in this JVM against one broker: what the
 * demo and the end-to-end tests run. In production each stage runs as its own process ({@code deco
 * frames|encoder|worker}).
 */
public final class Pipeline implements AutoCloseable {

  /**
   * @param model model pack directory (HF llava_next_video checkpoint)
   * @param fps frames sampled per second of video
   * @param compressor default token compressor spec, e.g. avg:12 (DeCo), none (576 tokens)
   * @param captionEvery a caption every N frames (0 = none)
   * @param maxNewTokens default tokens generated per answer
   * @param stateDir root of the Kafka Streams state directories
   */
  public record Options(
      Path model,
      double fps,
      String compressor,
      int captionEvery,
      int maxNewTokens,
      Path stateDir) {
    public Options {
      Objects.requireNonNull(model, "model");
      Objects.requireNonNull(stateDir, "stateDir");
      if (fps <= 0) {
        throw new IllegalArgumentException("fps must be positive");
      }
      if (captionEvery < 0 || maxNewTokens < 1) {
        throw new IllegalArgumentException("captionEvery >= 0 and maxNewTokens >= 1 required");
      }
    }
  }

  private final List<KafkaStreams> streams = new ArrayList<>();
  private final List<AutoCloseable> models = new ArrayList<>();

  private Pipeline() {}

  public static Pipeline start(String bootstrap, TopicNames names, Options o) {
    Pipeline p = new Pipeline();
    try {
      FramesConfig frames =
          FramesConfig.defaults()
              .withTopicNames(names)
              .withSampleFps(o.fps())
              .withStateDir(o.stateDir().resolve("frames"));
      p.streams.add(FramesApp.start(frames, bootstrap, new Properties()));

      LlavaNextVideo vision = LlavaNextVideo.load(o.model(), LlavaNextVideo.Part.VISION);
      p.models.add(vision);
      p.streams.add(
          Stages.startEncoder(
              bootstrap, names, vision, o.compressor(), o.stateDir().resolve("encoder")));

      LlavaNextVideo language = LlavaNextVideo.load(o.model(), LlavaNextVideo.Part.LANGUAGE);
      p.models.add(language);
      p.streams.add(
          Stages.startWorker(
              bootstrap,
              names,
              language,
              o.captionEvery(),
              o.maxNewTokens(),
              o.stateDir().resolve("worker")));
      return p;
    } catch (RuntimeException e) {
      p.close();
      throw e;
    }
  }

  /** Waits until every stage's KafkaStreams is RUNNING. */
  public void awaitRunning(Duration timeout) throws InterruptedException {
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

  public List<KafkaStreams.State> states() {
    return streams.stream().map(KafkaStreams::state).toList();
  }

  @Override
  public void close() {
    for (KafkaStreams s : streams) {
      s.close(Duration.ofSeconds(30));
    }
    for (AutoCloseable m : models) {
      try {
        m.close();
      } catch (Exception ignored) {
        // closing native memory; nothing to recover
      }
    }
  }
}
