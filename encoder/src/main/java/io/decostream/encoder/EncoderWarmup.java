package io.decostream.encoder;

import io.decostream.metrics.StageMetrics;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.ScratchDir;
import io.decostream.schemas.StreamsProperties;
import io.decostream.schemas.Topics;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import javax.imageio.ImageIO;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * Issue 22: the encoder's own topology run on synthetic frames before the stage joins its group.
 *
 * <p>A cold JVM compiles the per-frame path (PNG decode, the exact bicubic resize, the model call,
 * pooling, the Avro serdes, the store) while the first frames arrive, on the same cores: at 50
 * cameras on 2 cores the encoder fell up to 957 frames behind in its first two minutes and took
 * minutes to catch up (docs/scaling.md). Run here first, that compile happens before the stage
 * takes its first frame from the topic.
 *
 * <p>The frames go through Kafka's {@link TopologyTestDriver}: the same processors, store and
 * serdes as the running stage, in this thread, with no broker and nothing written to any topic; its
 * state lives in a temporary directory removed afterwards, and its metrics are muted ({@link
 * StageMetrics#mute}), so the console never shows the warm-up stream.
 */
public final class EncoderWarmup {
  /** Stream id of the synthetic frames. */
  public static final String STREAM = "deco-warmup";

  /** Distinct synthetic pictures, cycled through. */
  static final int PICTURES = 8;

  /** What the warm-up did: frames encoded and the wall-clock time it took. */
  public record Result(int frames, long millis) {}

  private EncoderWarmup() {}

  /**
   * Encodes {@code frames} synthetic {@code width}x{@code height} PNG frames (the frames stage's
   * format) through the stage's topology; {@code progress} hears the count after each micro-batch.
   *
   * @throws IllegalStateException when a synthetic frame is dead-lettered: the model cannot encode
   *     a plain frame, so the stage would not either (the reason is in the message)
   */
  public static Result run(
      EncoderConfig config,
      VisionBackend backend,
      int frames,
      int width,
      int height,
      IntConsumer progress) {
    if (frames < 0 || width < 1 || height < 1) {
      throw new IllegalArgumentException(
          "warm-up needs frames >= 0 and a positive size, got "
              + frames
              + ", "
              + width
              + "x"
              + height);
    }
    long t0 = System.nanoTime();
    if (frames == 0) {
      return new Result(0, 0);
    }
    Topics topics = Topics.of(config.topicNames());
    try (ScratchDir scratch = ScratchDir.create("deco-encoder-warmup");
        AutoCloseable muted = StageMetrics.mute();
        TopologyTestDriver driver =
            new TopologyTestDriver(
                EncoderTopology.build(config.withStateDir(scratch.path()), backend),
                StreamsProperties.warmUp(config.applicationId(), scratch.path()))) {
      TestInputTopic<byte[], byte[]> in =
          driver.createInputTopic(
              topics.frames().name(), new ByteArraySerializer(), new ByteArraySerializer());
      TestOutputTopic<String, FrameTokens> tokens =
          driver.createOutputTopic(
              topics.tokens().name(),
              topics.tokens().keySerde().deserializer(),
              topics.tokens().valueSerde().deserializer());
      TestOutputTopic<String, DeadLetter> dead =
          driver.createOutputTopic(
              topics.deadLetters().name(),
              topics.deadLetters().keySerde().deserializer(),
              topics.deadLetters().valueSerde().deserializer());
      byte[] key = STREAM.getBytes(StandardCharsets.UTF_8);
      // a few distinct pictures, reused: drawing and PNG-encoding each frame would cost more than
      // encoding it
      List<Frame> pictures = new ArrayList<>();
      for (int i = 0; i < Math.min(frames, PICTURES); i++) {
        pictures.add(frame(i, width, height));
      }
      int done = 0;
      for (int i = 0; i < frames; i++) {
        Frame f =
            Frame.newBuilder(pictures.get(i % pictures.size()))
                .setFrameIndex(i)
                .setTimestampMicros(i * 1_000_000L)
                .setChunkSequence(i)
                .build();
        in.pipeInput(key, topics.frames().valueSerde().serializer().serialize(null, f));
        if ((i + 1) % config.batchSize() == 0 || i == frames - 1) {
          // a partial last batch waits for the wall-clock flush, as it would in the stage
          driver.advanceWallClockTime(Duration.ofMillis(config.maxBatchWaitMs()));
          List<DeadLetter> rejected = dead.readValuesToList();
          if (!rejected.isEmpty()) {
            throw new IllegalStateException(
                "encoder warm-up: a synthetic "
                    + width
                    + "x"
                    + height
                    + " frame was rejected: "
                    + rejected.get(0).getReason());
          }
          done += tokens.readValuesToList().size(); // read, so the driver keeps none of them
          progress.accept(done);
        }
      }
      if (done != frames) {
        throw new IllegalStateException(
            "encoder warm-up: " + frames + " frames in, " + done + " frame-token records out");
      }
      return new Result(done, (System.nanoTime() - t0) / 1_000_000);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("encoder warm-up failed: " + e.getMessage(), e);
    }
  }

  /**
   * Synthetic frame i: a dark gradient with a bright square that moves a few pixels a frame, so
   * every frame differs (no cache or constant-folding shortcut), encoded as PNG like the frames
   * stage does.
   */
  static Frame frame(int i, int width, int height) {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    int side = Math.max(1, Math.min(width, height) / 6);
    int bx = (i * 7) % Math.max(1, width - side);
    int by = (i * 3) % Math.max(1, height - side);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        boolean in = x >= bx && x < bx + side && y >= by && y < by + side;
        int rgb = in ? 0xE0C030 : ((x * 40 / width) << 16) | ((y * 40 / height) << 8) | 20;
        img.setRGB(x, y, rgb);
      }
    }
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    try {
      ImageIO.write(img, "png", png);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Frame.newBuilder()
        .setStreamId(STREAM)
        .setFrameIndex(i)
        .setTimestampMicros(i * 1_000_000L)
        .setChunkSequence(i)
        .setWidth(width)
        .setHeight(height)
        .setFormat(FrameFormat.PNG)
        .setData(ByteBuffer.wrap(png.toByteArray()))
        .setStageMillis(Map.of())
        .build();
  }
}
