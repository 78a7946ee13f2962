package io.decostream.cli;

import io.decostream.frames.FrameSampler;
import io.decostream.ingest.Chunk;
import io.decostream.ingest.Chunker;
import io.decostream.ingest.ChunkerOptions;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.ShapesVideoWriter;
import io.decostream.schemas.Topic;
import io.decostream.schemas.VideoChunk;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.VideoSpec;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.PriorityQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * N synthetic cameras for the load test (issue 22 point 1): a few ShapesWorld clips are rendered
 * and cut into chunks once (H.264, one keyframe per second, the {@link Chunker}'s 1 s MPEG-TS
 * chunks, what {@code deco publish} sends); camera i loops clip i mod K, each chunk sent when the
 * camera would have captured its last frame (real time), with sequence numbers and start times
 * continuing across loops as {@code deco publish --loop} does. Cameras start staggered over one
 * chunk so their chunks do not all arrive in the same millisecond.
 *
 * <p>Every frame the frames stage's sampler must pick from a chunk is put in the {@link LoadLedger}
 * before the chunk is sent, with its camera time (camera start + the frame's presentation time).
 */
final class SyntheticCameras {

  /** One clip cut into chunks, and its length. */
  record Clip(List<Chunk> chunks, long micros) {}

  private final List<Clip> clips;
  private final List<String> streams;
  private final double sampleFps;

  SyntheticCameras(List<Clip> clips, List<String> streams, double sampleFps) {
    if (clips.isEmpty() || streams.isEmpty()) {
      throw new IllegalArgumentException("need at least one clip and one camera");
    }
    this.clips = List.copyOf(clips);
    this.streams = List.copyOf(streams);
    this.sampleFps = sampleFps;
  }

  /**
   * Renders {@code count} ShapesWorld clips (scene seeds seed, seed+1, ...) and cuts each into the
   * chunks {@code deco publish} would send.
   */
  static List<Clip> renderClips(Path work, int count, long seed, VideoSpec spec) throws Exception {
    List<Clip> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Scene scene = SceneGenerator.generate(seed + i, spec.seconds());
      Path file = work.resolve("clip-" + i + ".mp4");
      ShapesVideoWriter.write(file, scene, spec);
      List<Chunk> chunks = Chunker.readAll(ChunkerOptions.of(file.toString()));
      Files.deleteIfExists(file);
      if (chunks.isEmpty()) {
        throw new IllegalStateException("the ShapesWorld clip " + i + " cut into no chunks");
      }
      out.add(new Clip(chunks, chunks.get(chunks.size() - 1).endMicros()));
    }
    return out;
  }

  List<String> streams() {
    return streams;
  }

  /** One camera's position: the next chunk to send and when. */
  private final class Camera implements Comparable<Camera> {
    final String stream;
    final Clip clip;
    final long startMillis;
    final FrameSampler.Cursor cursor = new FrameSampler(sampleFps).cursor(0);
    long sequence;

    Camera(String stream, Clip clip, long startMillis) {
      this.stream = stream;
      this.clip = clip;
      this.startMillis = startMillis;
    }

    Chunk chunk() {
      return clip.chunks().get((int) (sequence % clip.chunks().size()));
    }

    long loopMicros() {
      return (sequence / clip.chunks().size()) * clip.micros();
    }

    /** Wall-clock time the current chunk is complete at the camera. */
    long dueMillis() {
      return startMillis + (loopMicros() + chunk().endMicros()) / 1000;
    }

    @Override
    public int compareTo(Camera o) {
      return Long.compare(dueMillis(), o.dueMillis());
    }
  }

  /**
   * Publishes every camera in real time from {@code startMillis} until {@code endMillis} (a chunk
   * due after the end is not sent) or until interrupted. Returns the chunks sent.
   */
  long run(
      KafkaProducer<String, VideoChunk> producer,
      Topic<VideoChunk> topic,
      LoadLedger ledger,
      long startMillis,
      long endMillis,
      AtomicLong sentCounter)
      throws InterruptedException {
    PriorityQueue<Camera> due = new PriorityQueue<>();
    long stagger = clips.get(0).chunks().get(0).durationMicros() / 1000;
    for (int i = 0; i < streams.size(); i++) {
      due.add(
          new Camera(
              streams.get(i),
              clips.get(i % clips.size()),
              startMillis + stagger * i / streams.size()));
    }
    AtomicReference<Exception> failed = new AtomicReference<>();
    long sent = 0;
    while (!due.isEmpty() && !Thread.currentThread().isInterrupted()) {
      Camera c = due.poll();
      long at = c.dueMillis();
      if (at >= endMillis) {
        continue; // this camera is done; the others may still have chunks due before the end
      }
      long wait = at - System.currentTimeMillis();
      if (wait > 0) {
        Thread.sleep(wait);
      }
      if (failed.get() != null) {
        throw new IllegalStateException(
            "sending chunks failed: " + failed.get().getMessage(), failed.get());
      }
      Chunk chunk = c.chunk();
      long start = c.loopMicros() + chunk.startMicros();
      // the frames the sampler picks from this chunk: its frames' presentation times
      double step = chunk.frameRate() > 0 ? 1e6 / chunk.frameRate() : 0;
      for (int f = 0; f < Math.max(1, chunk.frames()); f++) {
        long ts = start + Math.round(f * step);
        OptionalLong k = c.cursor.offer(ts);
        if (k.isPresent()) {
          ledger.expect(c.stream, k.getAsLong(), c.startMillis + ts / 1000);
        }
      }
      producer.send(
          new ProducerRecord<>(topic.name(), c.stream, record(c.stream, c.sequence, start, chunk)),
          (md, e) -> {
            if (e != null) {
              failed.compareAndSet(null, e);
            }
          });
      sent++;
      sentCounter.incrementAndGet();
      c.sequence++;
      due.add(c);
    }
    producer.flush();
    if (failed.get() != null) {
      throw new IllegalStateException(
          "sending chunks failed: " + failed.get().getMessage(), failed.get());
    }
    return sent;
  }

  /**
   * A clip's chunks as one stream's records (sequence 0, 1, ... at the clip's own times): what the
   * frames stage's warm-up decodes before the cameras start.
   */
  static List<VideoChunk> records(Clip clip, String stream) {
    List<VideoChunk> out = new ArrayList<>();
    for (int i = 0; i < clip.chunks().size(); i++) {
      Chunk c = clip.chunks().get(i);
      out.add(record(stream, i, c.startMicros(), c));
    }
    return out;
  }

  private static VideoChunk record(String stream, long sequence, long startMicros, Chunk chunk) {
    Map<String, Long> stages = new LinkedHashMap<>();
    stages.put(Publisher.STAGE, System.currentTimeMillis());
    return VideoChunk.newBuilder()
        .setStreamId(stream)
        .setSequence(sequence)
        .setStartMicros(startMicros)
        .setDurationMicros(chunk.durationMicros())
        .setContainer(chunk.container())
        .setCodec(chunk.codec())
        .setWidth(chunk.width())
        .setHeight(chunk.height())
        .setFrameRate(chunk.frameRate())
        .setSource("loadtest:shapesworld")
        .setData(ByteBuffer.wrap(chunk.data()))
        .setStageMillis(stages)
        .build();
  }
}
