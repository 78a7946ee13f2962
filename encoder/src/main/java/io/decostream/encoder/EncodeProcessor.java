package io.decostream.encoder;

import io.decostream.metrics.StageMetrics;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers frames of one task in a changelogged store and runs them through the ViT in micro-batches
 * (batching amortises the ViT's per-call cost; the store means a crash between arrival and flush
 * loses nothing: a restarted task restores the pending frames and flushes them).
 */
final class EncodeProcessor implements Processor<byte[], byte[], String, Object> {
  private static final Logger LOG = LoggerFactory.getLogger(EncodeProcessor.class);

  private final EncoderConfig config;
  private final VisionBackend backend;
  private final Topics topics;
  private ProcessorContext<String, Object> context;
  private KeyValueStore<String, byte[]> pending;
  private org.apache.kafka.streams.state.ReadOnlyKeyValueStore<String, String> budgets;

  /** Parsed budgets by canonical spec (the global store holds specs). */
  private final Map<String, TokenCompressor> parsed = new HashMap<>();

  private long pendingCount;

  /**
   * Images already decoded on arrival, by store key; frames restored from the changelog are decoded
   * again.
   */
  private final Map<String, RgbImage> decoded = new HashMap<>();

  EncodeProcessor(EncoderConfig config, VisionBackend backend, Topics topics) {
    this.config = config;
    this.backend = backend;
    this.topics = topics;
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    this.pending = context.getStateStore(EncoderTopology.PENDING_STORE);
    this.budgets = context.getStateStore(EncoderTopology.BUDGET_STORE);
    // Exact count (approximateNumEntries is an estimate in RocksDB): frames restored after a crash.
    long n = 0;
    try (KeyValueIterator<String, byte[]> it = pending.all()) {
      while (it.hasNext()) {
        it.next();
        n++;
      }
    }
    this.pendingCount = n;
    // A partial batch never waits longer than maxBatchWaitMs of wall-clock time.
    context.schedule(
        Duration.ofMillis(config.maxBatchWaitMs()),
        PunctuationType.WALL_CLOCK_TIME,
        now -> flush());
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    long t0 = System.nanoTime();
    try {
      processTimed(record);
    } finally {
      // per-stage latency histogram (issue 21 point 3): includes the batch flush a record triggers
      StageMetrics.recordLatency(EncoderTopology.STAGE, t0);
    }
  }

  private void processTimed(Record<byte[], byte[]> record) {
    RecordMetadata md = context.recordMetadata().orElse(null);
    Frame frame;
    try {
      frame =
          topics
              .frames()
              .valueSerde()
              .deserializer()
              .deserialize(topics.frames().name(), record.value());
      if (frame == null) {
        throw new IllegalArgumentException("empty value (tombstone) on the frames topic");
      }
    } catch (RuntimeException e) {
      deadLetter(record.key(), record.value(), "not a Frame record: " + e.getMessage(), e, md);
      return;
    }
    if (frame.getFrameIndex() < 0) {
      deadLetter(
          record.key(),
          record.value(),
          "frame index "
              + frame.getFrameIndex()
              + " of stream "
              + frame.getStreamId()
              + " is negative",
          null,
          md);
      return;
    }
    // Decode on arrival, so an undecodable frame is rejected with its offset and never enters the
    // store.
    RgbImage image;
    try {
      image = decode(frame);
    } catch (RuntimeException | IOException e) {
      deadLetter(
          record.key(),
          record.value(),
          "frame "
              + frame.getFrameIndex()
              + " of stream "
              + frame.getStreamId()
              + " cannot be decoded: "
              + e.getMessage(),
          e,
          md);
      return;
    }
    // Store key orders a batch by stream, then frame index: tokens leave in frame order per stream.
    String key = String.format("%s|%019d", frame.getStreamId(), frame.getFrameIndex());
    if (pending.get(key) == null) {
      pendingCount++;
    }
    pending.put(key, record.value());
    decoded.put(key, image);
    if (pendingCount >= config.batchSize()) {
      flush();
    }
  }

  /** Runs every pending frame through the ViT in one batch, then compresses and emits each. */
  void flush() {
    if (pendingCount == 0) {
      return;
    }
    List<String> keys = new ArrayList<>();
    Batch batch = readPending(keys);
    if (!batch.images().isEmpty()) {
      long t0 = System.nanoTime();
      List<float[]> features = encode(batch);
      double vitMillisPerFrame = (System.nanoTime() - t0) / 1e6 / batch.images().size();
      for (int i = 0; i < batch.frames().size(); i++) {
        if (features.get(i) != null) {
          emit(batch.frames().get(i), features.get(i), vitMillisPerFrame);
        }
      }
    }
    // Dead-lettered frames leave the store too: each pending frame was emitted or dead-lettered.
    keys.forEach(pending::delete);
    decoded.clear();
    pendingCount = 0;
  }

  /** The frames of one flush, in store-key order, with their raw records and decoded images. */
  private record Batch(List<Frame> frames, List<byte[]> raws, List<RgbImage> images) {}

  /**
   * Reads every pending frame (adding each store key to {@code keys}) and its image: the one
   * decoded on arrival, or, for a frame restored from the changelog, decoded again here.
   */
  private Batch readPending(List<String> keys) {
    Batch batch = new Batch(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    try (KeyValueIterator<String, byte[]> it = pending.all()) {
      while (it.hasNext()) {
        KeyValue<String, byte[]> kv = it.next();
        keys.add(kv.key);
        Frame f =
            topics
                .frames()
                .valueSerde()
                .deserializer()
                .deserialize(topics.frames().name(), kv.value);
        try {
          RgbImage img = decoded.get(kv.key);
          batch.images().add(img != null ? img : decode(f));
          batch.frames().add(f);
          batch.raws().add(kv.value);
        } catch (RuntimeException | IOException e) {
          // Only reachable for frames restored from the changelog (checked on arrival otherwise).
          deadLetter(
              f.getStreamId().getBytes(StandardCharsets.UTF_8),
              kv.value,
              "frame "
                  + f.getFrameIndex()
                  + " of stream "
                  + f.getStreamId()
                  + " cannot be decoded: "
                  + e.getMessage(),
              e,
              null);
        }
      }
    }
    return batch;
  }

  /**
   * The ViT features of the batch, one array per frame; null for a frame the backend rejects on its
   * own (that frame is dead-lettered).
   */
  private List<float[]> encode(Batch batch) {
    try {
      return features(batch.images());
    } catch (RuntimeException batchFailure) {
      // Isolate the culprit: retry frame by frame; a frame the ViT rejects on its own is
      // dead-lettered.
      LOG.warn(
          "ViT batch of {} frames failed ({}); retrying one frame at a time",
          batch.images().size(),
          batchFailure.toString());
      return encodeOneByOne(batch);
    }
  }

  /** The failed batch again, one frame per backend call, so one bad frame costs only itself. */
  private List<float[]> encodeOneByOne(Batch batch) {
    List<float[]> features = new ArrayList<>();
    for (int i = 0; i < batch.images().size(); i++) {
      try {
        features.add(features(List.of(batch.images().get(i))).get(0));
      } catch (RuntimeException e) {
        features.add(null);
        Frame f = batch.frames().get(i);
        deadLetter(
            f.getStreamId().getBytes(StandardCharsets.UTF_8),
            batch.raws().get(i),
            "vision backend failed on frame "
                + f.getFrameIndex()
                + " of stream "
                + f.getStreamId()
                + ": "
                + e.getMessage(),
            e,
            null);
      }
    }
    return features;
  }

  /** The backend call, with its contract checked: one [grid*grid*hidden] array per image. */
  private List<float[]> features(List<RgbImage> images) {
    List<float[]> out = backend.features(images);
    int expected = backend.gridSize() * backend.gridSize() * backend.hidden();
    if (out == null || out.size() != images.size()) {
      throw new IllegalStateException(
          "vision backend returned "
              + (out == null ? "null" : out.size())
              + " feature arrays for "
              + images.size()
              + " images");
    }
    for (float[] f : out) {
      if (f == null || f.length != expected) {
        throw new IllegalStateException(
            "vision backend returned "
                + (f == null ? "null" : f.length)
                + " floats for one image, expected grid "
                + backend.gridSize()
                + "^2 x hidden "
                + backend.hidden());
      }
    }
    return out;
  }

  /** DeCo step: pool the frame's patch grid with the stream's compressor, ship as F16 [M, Dv]. */
  private void emit(Frame f, float[] features, double millis) {
    int grid = backend.gridSize();
    int dim = backend.hidden();
    TokenCompressor c = compressorFor(f.getStreamId());
    long poolStart = System.nanoTime();
    float[] pooled = c.compress(features, grid, grid, dim);
    double poolMillis = (System.nanoTime() - poolStart) / 1e6;
    int outH = c.isAnyGrid() ? grid : c.outH();
    int outW = c.isAnyGrid() ? grid : c.outW();
    Map<String, Long> stages = new HashMap<>(f.getStageMillis());
    stages.put(EncoderTopology.STAGE, System.currentTimeMillis());
    FrameTokens tokens =
        FrameTokens.newBuilder()
            .setStreamId(f.getStreamId())
            .setFrameIndex(f.getFrameIndex())
            .setTimestampMicros(f.getTimestampMicros())
            .setModelId(backend.modelId())
            .setVisionLayer(backend.featureLayer())
            .setSourceGridHeight(grid)
            .setSourceGridWidth(grid)
            .setGridHeight(outH)
            .setGridWidth(outW)
            .setPooling(c.mode().name().toLowerCase(Locale.ROOT))
            .setTokens(Tensors.encode(pooled, new int[] {outH * outW, dim}, DType.F16))
            .setQueryToPatch(maxPoolQueryToPatch(c, features, grid, dim, outH, outW))
            .setStageMillis(stages)
            .build();
    LOG.debug(
        "frame {}#{}: {} tokens, ViT {} ms/frame",
        f.getStreamId(),
        f.getFrameIndex(),
        outH * outW,
        millis);
    context.forward(
        new Record<String, Object>(f.getStreamId(), tokens, System.currentTimeMillis()),
        EncoderTopology.TOKENS_SINK);
    // model time by part, frames and tokens per frame by stream (issue 21 point 3)
    StageMetrics.modelTime(EncoderTopology.STAGE, "vit", millis);
    StageMetrics.modelTime(EncoderTopology.STAGE, "pooling", poolMillis);
    StageMetrics.frame(EncoderTopology.STAGE, f.getStreamId(), 1);
    StageMetrics.tokensPerFrame(f.getStreamId(), outH * outW);
  }

  /**
   * The stream's live budget from the global store (issue 21 point 4: set on the control topic,
   * applied from the next frame flushed), else the configured per-stream or default compressor.
   */
  private TokenCompressor compressorFor(String streamId) {
    String spec = budgets.get(streamId);
    if (spec != null) {
      // checked by BudgetValidator before it entered the store
      return parsed.computeIfAbsent(spec, TokenCompressor::parse);
    }
    return config.compressorFor(streamId, backend.defaultPooledGrid());
  }

  /**
   * R-GAE Query-to-Patch of max pooling (spec §7.6), which only this stage can compute (it needs
   * the unpooled features): window-compact [M, K] (projector WindowWeights), F16. Null for avg and
   * none.
   */
  static io.decostream.schemas.Tensor maxPoolQueryToPatch(
      TokenCompressor c, float[] features, int grid, int dim, int outH, int outW) {
    if (c.mode() != io.decostream.projector.PoolingMode.MAX) {
      return null;
    }
    float[] dense = c.queryToPatch(features, grid, grid, dim);
    float[] compact = io.decostream.projector.WindowWeights.compress(dense, grid, grid, outH, outW);
    int k = io.decostream.projector.WindowWeights.maxWindowArea(grid, grid, outH, outW);
    return Tensors.encode(compact, new int[] {outH * outW, k}, DType.F16);
  }

  /**
   * PNG via javax.imageio (alpha dropped, grey expanded), or raw RGB24; size must match the header.
   */
  static RgbImage decode(Frame f) throws IOException {
    if (f.getWidth() <= 0
        || f.getHeight() <= 0
        || f.getWidth() > MAX_FRAME_DIMENSION
        || f.getHeight() > MAX_FRAME_DIMENSION) {
      throw new IOException(
          "frame claims "
              + f.getWidth()
              + "x"
              + f.getHeight()
              + " pixels (accepted: 1.."
              + MAX_FRAME_DIMENSION
              + " each way)");
    }
    byte[] data = Tensors.bytesOf(f.getData());
    if (f.getFormat() == FrameFormat.RGB24) {
      return new RgbImage(f.getWidth(), f.getHeight(), data); // validates length = width*height*3
    }
    checkPngHeader(f, data);
    // the frames stage's own kind of PNG straight to RGB bytes (issue 22 point 2); others below
    RgbImage direct = PngReader.read(data);
    if (direct != null) {
      return direct;
    }
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(data));
    if (img == null) {
      throw new IOException("not a PNG image (" + data.length + " bytes)");
    }
    if (img.getWidth() != f.getWidth() || img.getHeight() != f.getHeight()) {
      throw new IOException(
          "PNG is "
              + img.getWidth()
              + "x"
              + img.getHeight()
              + " but the frame says "
              + f.getWidth()
              + "x"
              + f.getHeight());
    }
    return RgbImage.fromBufferedImage(img);
  }

  /** Largest frame width or height accepted (the frames stage's own decode limit). */
  static final int MAX_FRAME_DIMENSION = 8192;

  /**
   * The PNG's header (signature and IHDR size) is read before any pixel is decoded, so a small PNG
   * declaring a huge image (a decompression bomb) is refused without allocating it.
   */
  static void checkPngHeader(Frame f, byte[] data) throws IOException {
    if (data.length < 24
        || (data[0] & 0xFF) != 0x89
        || data[1] != 'P'
        || data[2] != 'N'
        || data[3] != 'G'
        || data[12] != 'I'
        || data[13] != 'H'
        || data[14] != 'D'
        || data[15] != 'R') {
      throw new IOException("not a PNG image (" + data.length + " bytes, no PNG signature/IHDR)");
    }
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(data);
    long w = b.getInt(16) & 0xFFFFFFFFL;
    long h = b.getInt(20) & 0xFFFFFFFFL;
    if (w != f.getWidth() || h != f.getHeight()) {
      throw new IOException(
          "PNG is " + w + "x" + h + " but the frame says " + f.getWidth() + "x" + f.getHeight());
    }
  }

  private void deadLetter(
      byte[] key, byte[] value, String reason, Throwable cause, RecordMetadata md) {
    DeadLetter dl =
        DeadLetters.of(
            EncoderTopology.STAGE,
            md != null ? md.topic() : topics.frames().name(),
            md != null ? md.partition() : -1,
            md != null ? md.offset() : -1,
            key,
            value,
            reason,
            cause);
    String k = dl.getStreamId() != null ? dl.getStreamId() : "";
    // one WARN line per rejection: stage, stream, where, why (issue 18 point 7)
    LOG.warn(
        "dead letter: stage={} stream={} source={}-{}@{} reason={}",
        EncoderTopology.STAGE,
        dl.getStreamId(),
        dl.getSourceTopic(),
        dl.getPartition(),
        dl.getOffset(),
        dl.getReason());
    context.forward(
        new Record<String, Object>(k, dl, System.currentTimeMillis()),
        EncoderTopology.DEAD_LETTER_SINK);
    StageMetrics.deadLetter(EncoderTopology.STAGE, reason);
  }

  @Override
  public void close() {}
}
