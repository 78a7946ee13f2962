package io.decostream.encoder;

import io.decostream.nn.image.RgbImage;
import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.DType;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.DeadLetters;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.Topics;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/** Buffers frames per task and runs them through the ViT in micro-batches. */
final class EncodeProcessor implements Processor<byte[], byte[], String, Object> {
  private final EncoderConfig config;
  private final VisionBackend backend;
  private final Topics topics;
  private ProcessorContext<String, Object> context;
  private KeyValueStore<String, byte[]> pending;
  private long pendingCount;

  EncodeProcessor(EncoderConfig config, VisionBackend backend, Topics topics) {
    this.config = config;
    this.backend = backend;
    this.topics = topics;
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    this.pending = context.getStateStore(EncoderTopology.PENDING_STORE);
    this.pendingCount = pending.approximateNumEntries();
    // A partial batch never waits longer than maxBatchWaitMs of wall-clock time.
    context.schedule(Duration.ofMillis(config.maxBatchWaitMs()), PunctuationType.WALL_CLOCK_TIME, now -> flush());
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    Frame frame;
    try {
      frame = topics.frames().valueSerde().deserializer().deserialize(topics.frames().name(), record.value());
      if (frame == null) {
        throw new IllegalArgumentException("empty value (tombstone) on the frames topic");
      }
    } catch (RuntimeException e) {
      deadLetter(record.key(), record.value(), "not a Frame record: " + e.getMessage(), e, meta());
      return;
    }
    // Store key orders a batch by stream, then frame index: tokens leave in frame order per stream.
    pending.put(String.format("%s|%019d", frame.getStreamId(), frame.getFrameIndex()), record.value());
    pendingCount++;
    if (pendingCount >= config.batchSize()) {
      flush();
    }
  }

  private RecordMetadata meta() {
    return context.recordMetadata().orElse(null);
  }

  /** Runs every pending frame through the ViT in one batch, then compresses and emits each. */
  void flush() {
    if (pendingCount == 0) {
      return;
    }
    List<String> keys = new ArrayList<>();
    List<Frame> frames = new ArrayList<>();
    List<RgbImage> images = new ArrayList<>();
    try (KeyValueIterator<String, byte[]> it = pending.all()) {
      while (it.hasNext()) {
        KeyValue<String, byte[]> kv = it.next();
        keys.add(kv.key);
        Frame f = topics.frames().valueSerde().deserializer().deserialize(topics.frames().name(), kv.value);
        try {
          images.add(decode(f));
          frames.add(f);
        } catch (RuntimeException | IOException e) {
          deadLetter(f.getStreamId().getBytes(java.nio.charset.StandardCharsets.UTF_8), kv.value,
              "frame " + f.getFrameIndex() + " of stream " + f.getStreamId() + " cannot be decoded: " + e.getMessage(),
              e, null);
        }
      }
    }
    if (!images.isEmpty()) {
      long t0 = System.nanoTime();
      List<float[]> features = backend.features(images);
      double vitMillis = (System.nanoTime() - t0) / 1e6;
      int grid = backend.gridSize();
      int dim = backend.hidden();
      for (int i = 0; i < frames.size(); i++) {
        emit(frames.get(i), features.get(i), grid, dim, vitMillis / frames.size());
      }
    }
    keys.forEach(pending::delete);
    pendingCount = 0;
  }

  private void emit(Frame f, float[] features, int grid, int dim, double millis) {
    TokenCompressor c = config.compressorFor(f.getStreamId(), backend.defaultPooledGrid());
    float[] pooled = c.compress(features, grid, grid, dim);
    int outH = c.isAnyGrid() ? grid : c.outH();
    int outW = c.isAnyGrid() ? grid : c.outW();
    Map<String, Long> stages = new HashMap<>(f.getStageMillis());
    stages.put(EncoderTopology.STAGE, System.currentTimeMillis());
    FrameTokens tokens = FrameTokens.newBuilder()
        .setStreamId(f.getStreamId()).setFrameIndex(f.getFrameIndex()).setTimestampMicros(f.getTimestampMicros())
        .setModelId(backend.modelId()).setVisionLayer(backend.featureLayer())
        .setSourceGridHeight(grid).setSourceGridWidth(grid).setGridHeight(outH).setGridWidth(outW)
        .setPooling(c.mode().name().toLowerCase(java.util.Locale.ROOT))
        .setTokens(Tensors.encode(pooled, new int[] {outH * outW, dim}, DType.F16))
        .setStageMillis(stages).build();
    context.forward(new Record<String, Object>(f.getStreamId(), tokens, System.currentTimeMillis()),
        EncoderTopology.TOKENS_SINK);
  }

  static RgbImage decode(Frame f) throws IOException {
    byte[] data = Tensors.bytesOf(f.getData());
    if (f.getFormat() == FrameFormat.RGB24) {
      return new RgbImage(f.getWidth(), f.getHeight(), data);
    }
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(data));
    if (img == null) {
      throw new IOException("not a PNG image");
    }
    return RgbImage.fromBufferedImage(img);
  }

  private void deadLetter(byte[] key, byte[] value, String reason, Throwable cause, RecordMetadata md) {
    DeadLetter dl = DeadLetters.of(EncoderTopology.STAGE, md != null ? md.topic() : topics.frames().name(),
        md != null ? md.partition() : -1, md != null ? md.offset() : -1, key, value, reason, cause);
    String k = dl.getStreamId() != null ? dl.getStreamId() : "";
    context.forward(new Record<String, Object>(k, dl, System.currentTimeMillis()), EncoderTopology.DEAD_LETTER_SINK);
  }

  @Override
  public void close() {}

}
