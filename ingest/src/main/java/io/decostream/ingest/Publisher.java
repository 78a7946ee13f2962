package io.decostream.ingest;

import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Topic;
import io.decostream.schemas.Topics;
import io.decostream.schemas.VideoChunk;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The logic of {@code deco publish --stream ID --source FILE|rtsp://...|/dev/videoN} (the cli
 * module parses the flags): cuts the source with a {@link Chunker} and sends each chunk as a {@link
 * VideoChunk} keyed by the stream id to the chunks topic, so all chunks of a stream land on one
 * partition in order (the frames stage relies on that). Producer: acks=all, idempotence on, the 8
 * MiB limits of {@link KafkaLimits}. {@code stageMillis["ingest"]} is the wall-clock send time.
 *
 * <p>Typical use: {@code try (Publisher p = new Publisher(cfg)) { hook -> p.stop();
 * p.run(printEvery(10, System.out)); }}.
 */
public final class Publisher implements AutoCloseable {

  /** Stage name in stageMillis and dead letters. */
  public static final String STAGE = "ingest";

  /**
   * Progress after each chunk handed to the producer.
   *
   * @param chunks chunks sent so far
   * @param acked chunks acknowledged by the broker so far
   * @param videoSeconds seconds of video sent
   * @param bytes chunk payload bytes sent
   * @param elapsedSeconds wall-clock seconds since {@link #run} began
   * @param lastSequence sequence number of the latest chunk
   */
  public record Progress(
      long chunks,
      long acked,
      double videoSeconds,
      long bytes,
      double elapsedSeconds,
      long lastSequence) {

    /**
     * One human-readable line, e.g. "stream cam1: 10 chunks (10 acked), 10.0 s of video, 0.45 MB in
     * 1.2 s".
     */
    public String line(String streamId) {
      return String.format(
          Locale.ROOT,
          "stream %s: %d chunks (%d acked), %.1f s of video, %.2f MB in %.1f s",
          streamId,
          chunks,
          acked,
          videoSeconds,
          bytes / 1e6,
          elapsedSeconds);
    }
  }

  /**
   * Outcome of {@link #run}.
   *
   * @param chunks chunks sent and acknowledged
   * @param videoSeconds seconds of video sent
   * @param bytes payload bytes sent
   * @param stopped true when {@link #stop()} ended the run early
   * @param stats reconnects, gaps, what a damaged source skipped, remux fallback (issue 18 point 5)
   */
  public record Result(
      long chunks, double videoSeconds, long bytes, boolean stopped, Chunker.Stats stats) {}

  private final PublishConfig config;
  private final Producer<String, VideoChunk> producer;
  private final Topic<VideoChunk> topic;
  private final Chunker chunker;
  private final String sourceLabel;
  private final AtomicLong acked = new AtomicLong();
  private final AtomicReference<Exception> sendError = new AtomicReference<>();
  private volatile boolean stopRequested;

  /** A publisher with a real KafkaProducer for {@code config.bootstrap()}. */
  public Publisher(PublishConfig config) {
    this(
        config,
        new KafkaProducer<>(
            producerConfig(config),
            Topics.of(config.topicNames()).chunks().keySerde().serializer(),
            Topics.of(config.topicNames()).chunks().valueSerde().serializer()));
  }

  /**
   * A publisher sending through {@code producer} (e.g. a MockProducer in tests); it is closed by
   * {@link #close()}.
   */
  public Publisher(PublishConfig config, Producer<String, VideoChunk> producer) {
    this.config = Objects.requireNonNull(config, "config");
    this.producer = Objects.requireNonNull(producer, "producer");
    this.topic = Topics.of(config.topicNames()).chunks();
    this.chunker = new Chunker(config.chunkerOptions());
    this.sourceLabel = Chunker.redact(config.source());
  }

  /**
   * Producer settings: bootstrap, acks=all, idempotence, KafkaLimits.producerOverrides(), small
   * linger.
   */
  public static Map<String, Object> producerConfig(PublishConfig config) {
    Map<String, Object> p = new HashMap<>(KafkaLimits.producerOverrides());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrap());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "deco-publish-" + config.streamId());
    return p;
  }

  /** A progress listener printing one line every {@code n} chunks. */
  public static Consumer<Progress> printEvery(int n, PrintStream out, String streamId) {
    if (n < 1) {
      throw new IllegalArgumentException("n must be >= 1, got " + n);
    }
    return p -> {
      if (p.chunks() % n == 0) {
        out.println(p.line(streamId));
      }
    };
  }

  /** Runs without progress output. */
  public Result run() throws Exception {
    return run(p -> {});
  }

  /**
   * Reads the source and sends every chunk until its end, maxChunks, or {@link #stop()}; then
   * flushes and waits for all acknowledgements.
   *
   * @throws IllegalArgumentException if the source cannot be opened
   * @throws IllegalStateException if a chunk is too large for Kafka or a send failed
   * @throws SourceLostException if a live source stayed unreachable past the give-up time (what was
   *     read before is sent and flushed first; {@link #stats()} tells what happened)
   */
  public Result run(Consumer<Progress> progress) throws Exception {
    Objects.requireNonNull(progress, "progress");
    long t0 = System.nanoTime();
    long[] sent = {0, 0, -1};
    double[] seconds = {0};
    try {
      chunker.run(
          chunk -> {
            Exception err = sendError.get();
            if (err != null) {
              throw new IllegalStateException(
                  "sending to " + topic.name() + " failed: " + err.getMessage(), err);
            }
            if (chunk.data().length > KafkaLimits.MAX_PAYLOAD_BYTES - 4096) {
              throw new IllegalStateException(
                  String.format(
                      Locale.ROOT,
                      "chunk %d of %s is %.1f MB, over the %.1f MB message limit; use a shorter keyframe"
                          + " interval or a lower bitrate at the source",
                      chunk.sequence(),
                      sourceLabel,
                      chunk.data().length / 1e6,
                      KafkaLimits.MAX_PAYLOAD_BYTES / 1e6));
            }
            VideoChunk value = toRecord(chunk);
            producer.send(
                new ProducerRecord<>(topic.name(), config.streamId(), value),
                (md, e) -> {
                  if (e != null) {
                    sendError.compareAndSet(null, e);
                    chunker.stop();
                  } else {
                    acked.incrementAndGet();
                  }
                });
            sent[0]++;
            sent[1] += chunk.data().length;
            sent[2] = chunk.sequence();
            seconds[0] += chunk.durationMicros() / 1e6;
            progress.accept(
                new Progress(
                    sent[0],
                    acked.get(),
                    seconds[0],
                    sent[1],
                    (System.nanoTime() - t0) / 1e9,
                    sent[2]));
          });
    } finally {
      producer.flush();
    }
    Exception err = sendError.get();
    if (err != null) {
      throw new IllegalStateException(
          "sending to " + topic.name() + " failed: " + err.getMessage(), err);
    }
    return new Result(acked.get(), seconds[0], sent[1], stopRequested, chunker.stats());
  }

  /** Chunks the broker acknowledged so far (also after a failed run). */
  public long ackedChunks() {
    return acked.get();
  }

  /** Reconnects, gaps, skipped data and remux fallback of the run so far. */
  public Chunker.Stats stats() {
    return chunker.stats();
  }

  /** The VideoChunk for a chunk of this stream, stamped with stageMillis["ingest"] = now. */
  VideoChunk toRecord(Chunk chunk) {
    Map<String, Long> stages = new LinkedHashMap<>();
    stages.put(STAGE, System.currentTimeMillis());
    return VideoChunk.newBuilder()
        .setStreamId(config.streamId())
        .setSequence(chunk.sequence())
        .setStartMicros(chunk.startMicros())
        .setDurationMicros(chunk.durationMicros())
        .setContainer(chunk.container())
        .setCodec(chunk.codec())
        .setWidth(chunk.width())
        .setHeight(chunk.height())
        .setFrameRate(chunk.frameRate())
        .setSource(sourceLabel)
        .setData(ByteBuffer.wrap(chunk.data()))
        .setStageMillis(stages)
        .build();
  }

  /**
   * Asks {@link #run} to stop after the chunk in progress (which is dropped), flush and return.
   * Safe from any thread, e.g. a Ctrl-C shutdown hook (which should then wait for run to return
   * before the JVM exits).
   */
  public void stop() {
    stopRequested = true;
    chunker.stop();
  }

  /** Flushes and closes the producer (waits up to 30 s for outstanding sends). */
  @Override
  public void close() {
    chunker.stop();
    producer.close(Duration.ofSeconds(30));
  }
}
