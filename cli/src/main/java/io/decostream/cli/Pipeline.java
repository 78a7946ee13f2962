package io.decostream.cli;

import io.decostream.frames.FramesApp;
import io.decostream.frames.FramesConfig;
import io.decostream.nn.llava.PackPart;
import io.decostream.nn.llava.StreamModel;
import io.decostream.nn.llava.families.Families;
import io.decostream.nn.weights.Precision;
import io.decostream.schemas.Guarantee;
import io.decostream.schemas.StreamsProperties;
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
   * @param model model pack directory (HF llava_next_video, llava or llava_onevision checkpoint)
   * @param fps frames sampled per second of video
   * @param compressor default token compressor spec, e.g. avg:12 (DeCo), none (576 tokens)
   * @param captionEvery a caption every N frames (0 = none)
   * @param maxNewTokens default tokens generated per answer
   * @param stateDir root of the Kafka Streams state directories
   * @param guarantee processing guarantee of every stage (exactly-once by default)
   * @param client Kafka client properties for every stage (security settings; may be empty)
   * @param weights how the worker holds the language model's weight matrices (issue 20 point 3)
   */
  public record Options(
      Path model,
      double fps,
      String compressor,
      int captionEvery,
      int maxNewTokens,
      Path stateDir,
      Guarantee guarantee,
      Properties client,
      Precision weights) {
    public Options {
      Objects.requireNonNull(model, "model");
      Objects.requireNonNull(stateDir, "stateDir");
      Objects.requireNonNull(guarantee, "guarantee");
      Objects.requireNonNull(weights, "weights");
      Properties copy = new Properties();
      copy.putAll(Objects.requireNonNull(client, "client (use new Properties())"));
      client = copy;
      if (fps <= 0) {
        throw new IllegalArgumentException("fps must be positive");
      }
      if (captionEvery < 0 || maxNewTokens < 1) {
        throw new IllegalArgumentException("captionEvery >= 0 and maxNewTokens >= 1 required");
      }
    }

    /** Exactly-once, no client properties, F32 weights. */
    public Options(
        Path model,
        double fps,
        String compressor,
        int captionEvery,
        int maxNewTokens,
        Path stateDir) {
      this(
          model,
          fps,
          compressor,
          captionEvery,
          maxNewTokens,
          stateDir,
          Guarantee.EXACTLY_ONCE_V2,
          new Properties(),
          Precision.F32);
    }

    /** A copy with another guarantee. */
    public Options withGuarantee(Guarantee g) {
      return new Options(
          model, fps, compressor, captionEvery, maxNewTokens, stateDir, g, client, weights);
    }

    /** A copy with Kafka client properties. */
    public Options withClient(Properties c) {
      return new Options(
          model, fps, compressor, captionEvery, maxNewTokens, stateDir, guarantee, c, weights);
    }

    /** A copy whose worker holds the weight matrices at {@code w}. */
    public Options withWeights(Precision w) {
      return new Options(
          model, fps, compressor, captionEvery, maxNewTokens, stateDir, guarantee, client, w);
    }

    /** The Streams properties every stage gets over its defaults. */
    Properties extra() {
      Properties p = new Properties();
      p.putAll(client);
      p.putAll(StreamsProperties.guarantee(guarantee));
      return p;
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
      p.streams.add(FramesApp.start(frames, bootstrap, o.extra()));

      // any family (issue 23 point 3): each stage loads only its half of the pack
      StreamModel vision = Families.forStage(o.model(), PackPart.VISION, Precision.F32);
      p.models.add(vision);
      p.streams.add(
          Stages.startEncoder(
              bootstrap,
              names,
              vision,
              o.compressor(),
              java.util.Map.of(),
              o.stateDir().resolve("encoder"),
              o.extra()));

      StreamModel language = Families.forStage(o.model(), PackPart.LANGUAGE, o.weights());
      p.models.add(language);
      p.streams.add(
          Stages.startWorker(
              bootstrap,
              names,
              language,
              o.captionEvery(),
              o.maxNewTokens(),
              o.stateDir().resolve("worker"),
              false,
              o.extra()));
      // the demo's Kafka Streams client metrics on its /metrics (issue 21 point 3)
      String[] stages = {"frames", "encoder", "llm-worker"};
      for (int i = 0; i < p.streams.size(); i++) {
        p.models.add(io.decostream.metrics.StageMetrics.bind(p.streams.get(i), stages[i]));
      }
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
