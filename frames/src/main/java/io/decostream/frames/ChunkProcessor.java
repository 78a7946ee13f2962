package io.decostream.frames;

import io.decostream.metrics.StageMetrics;
import io.decostream.schemas.AvroSerde;
import io.decostream.schemas.CrashGuard;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.DeadLetters;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.VideoChunk;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frames stage's processor: raw chunk bytes in (deserialized here, so a value that is not a
 * VideoChunk becomes a dead letter instead of stopping the stream), decode with {@link
 * ChunkDecoder}, sample with {@link FrameSampler} (state per stream in the store), emit {@link
 * Frame} records; any failure emits one {@link DeadLetter} (stage "frames") and no frames. A chunk
 * is all-or-nothing: its frames are collected and forwarded only after it decoded fully, and the
 * sampler state is only advanced then.
 */
final class ChunkProcessor implements Processor<byte[], byte[], String, Object> {

  private static final Logger LOG = LoggerFactory.getLogger(ChunkProcessor.class);

  private final FramesConfig config;
  private final AvroSerde<VideoChunk> chunkSerde = AvroSerde.of(VideoChunk.class);
  private final ChunkDecoder decoder;
  private final FrameSampler sampler;
  private ProcessorContext<String, Object> context;
  private KeyValueStore<String, SamplerState> store;
  private CrashGuard attempts;

  ChunkProcessor(FramesConfig config) {
    this.config = config;
    this.decoder = new ChunkDecoder(config);
    this.sampler = new FrameSampler(config.sampleFps());
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    this.store = context.getStateStore(FramesTopology.SAMPLER_STORE);
    // not forced to disk per chunk: a sync per chunk held this stage's one thread (CrashGuard)
    this.attempts =
        CrashGuard.open(
            attemptsFile(context.stateDir().toPath(), context.taskId().toString()), false);
  }

  /**
   * Crash-loop guard (issue 18 point 7): the attempt is recorded durably before the chunk is
   * touched and cleared only when processing returned normally, so a chunk that kills the process
   * (or throws out of the processor) is recognised after the restart and, once it has done so
   * maxCrashAttempts times, dead-lettered instead of being decoded again.
   */
  @Override
  public void process(Record<byte[], byte[]> record) {
    long t0 = System.nanoTime();
    try {
      processGuarded(record);
    } finally {
      // per-stage latency histogram (issue 21 point 3)
      StageMetrics.recordLatency(FramesTopology.STAGE, t0);
    }
  }

  private void processGuarded(Record<byte[], byte[]> record) {
    RecordMetadata md = context.recordMetadata().orElse(null);
    CrashGuard.Coordinates attempt =
        md == null ? null : new CrashGuard.Coordinates(md.topic(), md.partition(), md.offset());
    if (attempt != null) {
      int crashed = attempts.enter(attempt);
      if (crashed >= config.maxCrashAttempts()) {
        attempts.done(attempt); // given up: forgotten
        deadLetter(
            record,
            null,
            "crashed the frames stage "
                + crashed
                + " times (attempts counted in "
                + attempts.file()
                + "); not decoding it again",
            null);
        return;
      }
    }
    processOnce(record);
    if (attempt != null) {
      attempts.done(attempt);
    }
  }

  @Override
  public void close() {
    if (attempts != null) {
      attempts.close();
    }
  }

  /** The task's crash-attempts file: {@code <app state dir>/deco-crash-attempts/frames-<task>}. */
  static Path attemptsFile(Path taskDir, String taskId) {
    return CrashGuard.fileFor(taskDir, "deco-crash-attempts", FramesTopology.STAGE + "-" + taskId);
  }

  private void processOnce(Record<byte[], byte[]> record) {
    FaultHooks.maybeCrash(record.value());
    String sourceTopic =
        context.recordMetadata().map(RecordMetadata::topic).orElse(config.topicNames().chunks());
    VideoChunk chunk;
    try {
      chunk = chunkSerde.deserialize(sourceTopic, record.value());
    } catch (SerializationException e) {
      deadLetter(record, null, "value is not a VideoChunk", e);
      return;
    }
    if (chunk == null) {
      deadLetter(record, null, "empty (tombstone) value on the chunks topic", null);
      return;
    }
    String key = DeadLetters.streamIdOf(record.key());
    String stream = chunk.getStreamId();
    if (key != null && !key.equals(stream)) {
      deadLetter(
          record,
          stream,
          "record key '"
              + key
              + "' does not match VideoChunk.streamId '"
              + stream
              + "' (chunks must be keyed by stream id)",
          null);
      return;
    }
    SamplerState state = store.get(stream);
    if (state == null) {
      state = SamplerState.INITIAL;
    }
    long start;
    if (chunk.getSequence() > state.lastSequence()) {
      start = state.nextIndex();
    } else if (chunk.getSequence() == state.lastSequence()) {
      start = state.lastChunkStart(); // redelivered (at-least-once): reproduce the same frames
    } else if (chunk.getSequence() == 0) {
      LOG.info(
          "stream {} restarted at sequence 0 after {}: frame numbering starts again",
          stream,
          state.lastSequence());
      start = 0;
    } else {
      deadLetter(
          record,
          stream,
          "out-of-order chunk: sequence " + chunk.getSequence() + " after " + state.lastSequence(),
          null);
      return;
    }
    List<Frame> frames = new ArrayList<>();
    FrameSampler.Cursor cursor = sampler.cursor(start);
    try {
      decoder.decode(
          chunk,
          (ts, image) -> {
            OptionalLong k = cursor.offer(ts);
            if (k.isPresent()) {
              frames.add(toFrame(chunk, k.getAsLong(), ts, image.get()));
            }
          });
    } catch (ChunkRejected e) {
      // the rejection itself as the cause: its message is the reason, so it is not repeated
      deadLetter(record, stream, e.reason(), e);
      return;
    } catch (RuntimeException e) {
      deadLetter(record, stream, "unexpected failure decoding chunk " + chunk.getSequence(), e);
      return;
    }
    store.put(stream, new SamplerState(cursor.next(), chunk.getSequence(), start));
    for (Frame f : frames) {
      context.forward(
          new Record<String, Object>(stream, f, record.timestamp()), FramesTopology.FRAMES_SINK);
    }
    StageMetrics.frame(FramesTopology.STAGE, stream, frames.size());
  }

  private Frame toFrame(VideoChunk chunk, long index, long ts, ChunkDecoder.RgbFrame rgb)
      throws ChunkRejected {
    byte[] data = config.frameFormat() == FrameFormat.PNG ? png(rgb) : rgb.rgb();
    if (data.length > KafkaLimits.MAX_PAYLOAD_BYTES - 4096) {
      throw new ChunkRejected(
          "frame "
              + index
              + " is "
              + data.length
              + " bytes as "
              + config.frameFormat()
              + ", over the message limit; lower maxWidth/maxHeight");
    }
    Map<String, Long> stages = new LinkedHashMap<>(chunk.getStageMillis());
    stages.put(FramesTopology.STAGE, System.currentTimeMillis());
    return Frame.newBuilder()
        .setStreamId(chunk.getStreamId())
        .setFrameIndex(index)
        .setTimestampMicros(ts)
        .setChunkSequence(chunk.getSequence())
        .setWidth(rgb.width())
        .setHeight(rgb.height())
        .setFormat(config.frameFormat())
        .setData(ByteBuffer.wrap(data))
        .setStageMillis(stages)
        .build();
  }

  /**
   * Lossless PNG of packed RGB bytes (8-bit truecolour, no alpha): {@link PngWriter}, several times
   * faster than javax.imageio's writer (issue 22 point 2).
   */
  static byte[] png(ChunkDecoder.RgbFrame f) {
    return PngWriter.write(f.width(), f.height(), f.rgb());
  }

  private void deadLetter(
      Record<byte[], byte[]> record, String stream, String reason, Throwable cause) {
    RecordMetadata md = context.recordMetadata().orElse(null);
    String topic = md != null ? md.topic() : config.topicNames().chunks();
    DeadLetter dl =
        DeadLetters.of(
            FramesTopology.STAGE,
            topic,
            md != null ? md.partition() : -1,
            md != null ? md.offset() : -1,
            record.key(),
            record.value(),
            reason,
            cause);
    if (dl.getStreamId() == null && stream != null) {
      dl.setStreamId(stream);
    }
    // one WARN line per rejection: stage, stream, where, why (issue 18 point 7)
    LOG.warn(
        "dead letter: stage={} stream={} source={}-{}@{} reason={}",
        FramesTopology.STAGE,
        dl.getStreamId(),
        topic,
        md != null ? md.partition() : -1,
        md != null ? md.offset() : -1,
        dl.getReason());
    String key = dl.getStreamId();
    context.forward(
        new Record<String, Object>(key, dl, record.timestamp()), FramesTopology.DEAD_LETTER_SINK);
    StageMetrics.deadLetter(FramesTopology.STAGE, reason);
  }
}
