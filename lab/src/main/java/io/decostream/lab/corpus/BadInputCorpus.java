package io.decostream.lab.corpus;

import io.decostream.ingest.Chunk;
import io.decostream.ingest.Chunker;
import io.decostream.ingest.ChunkerOptions;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.schemas.AvroSerde;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Question;
import io.decostream.schemas.VideoChunk;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Java2DFrameConverter;

/**
 * The bad-input corpus of issue 18 point 7, generated (deterministically from a seed) rather than
 * committed as binary files: every item is a record as a hostile or broken producer would put it on
 * a topic (raw key and value bytes, so tombstones and non-Avro values are expressible), with the
 * stage expected to reject it and a pattern the dead letter's reason must match (the reason has to
 * name the problem, not just say "rejected").
 *
 * <p>Each item is keyed by its own stream id {@code bad-<name>} (wrong-key items: the key is that
 * id), so its dead letter is found by stream id. Chunks derive from one good H.264 MPEG-TS chunk
 * cut by the real ingest Chunker; frames from a real PNG.
 */
public final class BadInputCorpus {

  /** Which topic an item is produced to. */
  public enum Target {
    CHUNKS,
    FRAMES,
    QUESTIONS
  }

  /** How the item must be turned away. */
  public enum Outcome {
    /** a dead letter from {@link Item#expectedStage()} */
    DEAD_LETTER,
    /** the producer/broker refuses the record (it never enters Kafka, so nothing can be lost) */
    REFUSED_BY_BROKER
  }

  /**
   * One corpus item.
   *
   * @param name short unique name (also the stream id suffix)
   * @param target topic it goes to
   * @param expectedStage stage expected to reject it: frames, encoder, llm-worker, or broker
   * @param outcome dead letter or refusal at produce time
   * @param key raw key bytes (UTF-8 stream id)
   * @param value raw value bytes; null = tombstone
   * @param reason pattern the rejection reason must contain (case-insensitive regex)
   * @param hookMarker non-null when the item needs a test fault hook with this marker set
   * @param what one-line description for the table
   */
  public record Item(
      String name,
      Target target,
      String expectedStage,
      Outcome outcome,
      byte[] key,
      byte[] value,
      Pattern reason,
      String hookMarker,
      String what) {

    /** The stream id the item's key carries (what its dead letter is found by). */
    public String streamId() {
      return new String(key, StandardCharsets.UTF_8);
    }
  }

  /** Marker the hang test hook (deco.fault.hangOnChunkMarker) looks for. */
  public static final String HANG_MARKER = "DECO-TEST-HANG-7f3a";

  /** Marker the crash test hook (deco.fault.crashOnChunkMarker) looks for. */
  public static final String CRASH_MARKER = "DECO-TEST-CRASH-91c2";

  /** Prefix of every corpus stream id. */
  public static final String PREFIX = "bad-";

  private static final AvroSerde<VideoChunk> CHUNKS = AvroSerde.of(VideoChunk.class);
  private static final AvroSerde<Frame> FRAMES = AvroSerde.of(Frame.class);
  private static final AvroSerde<Question> QUESTIONS = AvroSerde.of(Question.class);

  private final VideoChunk good;
  private final long seed;

  /**
   * @param good a good chunk (MPEG-TS, H.264, whole packets) the chunk items are made from
   * @param seed seed of every random choice
   */
  public BadInputCorpus(VideoChunk good, long seed) {
    this.good = Objects.requireNonNull(good, "good");
    this.seed = seed;
  }

  /** A good 1 s chunk: 2 s of 160x120 synthetic H.264 video cut by the ingest Chunker. */
  public static VideoChunk goodChunk(Path dir, String streamId) throws Exception {
    Path file =
        SyntheticVideo.write(
            dir.resolve("corpus-good.mp4"), SyntheticVideo.Spec.defaults(2).withSize(160, 120));
    List<Chunk> chunks = Chunker.readAll(ChunkerOptions.of(file.toString()).withChunkSeconds(1.0));
    return toRecord(chunks.get(0), streamId);
  }

  /** A Chunker chunk as the VideoChunk the publisher would send. */
  public static VideoChunk toRecord(Chunk c, String streamId) {
    return VideoChunk.newBuilder()
        .setStreamId(streamId)
        .setSequence(c.sequence())
        .setStartMicros(c.startMicros())
        .setDurationMicros(c.durationMicros())
        .setContainer(c.container())
        .setCodec(c.codec())
        .setWidth(c.width())
        .setHeight(c.height())
        .setFrameRate(c.frameRate())
        .setSource("corpus")
        .setData(ByteBuffer.wrap(c.data()))
        .setStageMillis(Map.of())
        .build();
  }

  /** Every item: chunks (frames stage), frames (encoder) and questions (llm-worker). */
  public List<Item> items() {
    List<Item> all = new ArrayList<>(chunkItems());
    all.addAll(frameItems());
    all.addAll(questionItems());
    return all;
  }

  /** The items for the frames stage (chunks topic), hook items included. */
  public List<Item> chunkItems() {
    Random r = new Random(seed);
    byte[] data = bytes(good.getData());
    List<Item> out = new ArrayList<>();
    // cut inside a packet, somewhere in the middle: what a producer dying mid-write leaves
    int cut = data.length / 4 + r.nextInt(data.length / 2);
    if (cut % 188 == 0) {
      cut++;
    }
    out.add(
        chunk(
            "truncated",
            withData("truncated", Arrays.copyOf(data, cut)),
            "truncated",
            "chunk cut at byte " + cut + " of " + data.length));
    out.add(
        chunk(
            "bit-flipped",
            withData("bit-flipped", flipBits(data, r, data.length / 64)),
            "corrupt|sync byte",
            "one bit in 512 flipped"));
    out.add(
        chunk("zero-length", withData("zero-length", new byte[0]), "no data", "empty data field"));
    out.add(
        chunk(
            "non-video-random",
            withData("non-video-random", SyntheticVideo.randomBytes(seed, 50_000)),
            "not video|sync byte",
            "50 KB of random bytes declared as mpegts"));
    byte[] text =
        "This is a shopping list, not a video.\n".repeat(200).getBytes(StandardCharsets.UTF_8);
    VideoChunk textChunk = withData("non-video-text", text);
    textChunk.setContainer("matroska");
    out.add(chunk("non-video-text", textChunk, "not video|cannot open", "ASCII text as matroska"));
    out.add(
        chunk(
            "header-16k",
            hugeHeaderChunk("header-16k", 16384, 16384),
            "16384x16384|no usable video size",
            "MJPEG in Matroska whose track and JPEG headers claim 16384x16384"));
    out.add(
        chunk(
            "header-16k-wide",
            hugeHeaderChunk("header-16k-wide", 16384, 256),
            "16384x256.*limit",
            "the same, claiming 16384x256 (a size FFmpeg itself would allocate)"));
    VideoChunk tenHours = withData("ten-hour-claim", data);
    tenHours.setDurationMicros(36_000L * 1_000_000L);
    out.add(chunk("ten-hour-claim", tenHours, "claims 36000", "durationMicros = 10 h"));
    out.add(
        chunk(
            "ten-hour-pts",
            withData("ten-hour-pts", shiftLaterPts(data, 36_000L * 90_000L)),
            "decodes to more than",
            "the container's timestamps jump 10 h after the first frame"));
    VideoChunk wrongCodec = withData("wrong-codec", data);
    wrongCodec.setCodec("vp9");
    out.add(chunk("wrong-codec", wrongCodec, "declares codec 'vp9'", "H.264 bytes declared vp9"));
    VideoChunk wrongContainer = withData("wrong-container", data);
    wrongContainer.setContainer("mp4");
    out.add(
        chunk("wrong-container", wrongContainer, "cannot open|not video", "MPEG-TS declared mp4"));
    byte[] fp = CHUNKS.serialize("x", withData("wrong-fingerprint", data));
    for (int i = 2; i < 10; i++) {
      fp[i] ^= (byte) 0x5A; // the single-object encoding's schema fingerprint
    }
    out.add(
        raw(
            "wrong-fingerprint",
            Target.CHUNKS,
            "frames",
            fp,
            "not a VideoChunk",
            "Avro single-object header with an unknown schema fingerprint"));
    Question q = question("wrong-schema", "what is this?");
    out.add(
        raw(
            "wrong-schema",
            Target.CHUNKS,
            "frames",
            QUESTIONS.serialize("x", q),
            "not a VideoChunk",
            "a Question record on the chunks topic"));
    out.add(
        raw(
            "non-avro",
            Target.CHUNKS,
            "frames",
            "{\"json\": true}".getBytes(StandardCharsets.UTF_8),
            "not a VideoChunk",
            "JSON instead of Avro"));
    out.add(
        raw("chunk-tombstone", Target.CHUNKS, "frames", null, "tombstone", "null value (delete)"));
    VideoChunk wrongKey = withData("chunk-wrong-key-value", data);
    out.add(
        new Item(
            "chunk-wrong-key",
            Target.CHUNKS,
            "frames",
            Outcome.DEAD_LETTER,
            utf8(PREFIX + "chunk-wrong-key"),
            CHUNKS.serialize("x", wrongKey),
            ci("does not match"),
            null,
            "key differs from VideoChunk.streamId"));
    VideoChunk negative = withData("negative-sequence", data);
    negative.setSequence(-5);
    out.add(chunk("negative-sequence", negative, "negative|out-of-order", "sequence -5"));
    out.add(
        new Item(
            "oversize-value",
            Target.CHUNKS,
            "broker",
            Outcome.REFUSED_BY_BROKER,
            utf8(PREFIX + "oversize-value"),
            CHUNKS.serialize(
                "x",
                withData(
                    "oversize-value",
                    SyntheticVideo.randomBytes(seed + 1, KafkaLimits.MAX_MESSAGE_BYTES + 1024))),
            ci("too large|RecordTooLarge|max.request.size|message.max.bytes|larger than"),
            null,
            "a VideoChunk over KafkaLimits.MAX_MESSAGE_BYTES (8 MiB)"));
    out.add(
        new Item(
            "decoder-hang",
            Target.CHUNKS,
            "frames",
            Outcome.DEAD_LETTER,
            utf8(PREFIX + "decoder-hang"),
            CHUNKS.serialize("x", withData("decoder-hang", withNullPacket(data, HANG_MARKER))),
            ci("decode exceeded"),
            HANG_MARKER,
            "decoder blocks (test hook deco.fault.hangOnChunkMarker): cut at maxDecodeMillis"));
    out.add(
        new Item(
            "crash",
            Target.CHUNKS,
            "frames",
            Outcome.DEAD_LETTER,
            utf8(PREFIX + "crash"),
            CHUNKS.serialize("x", withData("crash", withNullPacket(data, CRASH_MARKER))),
            ci("crashed the frames stage \\d+ times"),
            CRASH_MARKER,
            "kills the process (test hook deco.fault.crashOnChunkMarker): dead-lettered after"
                + " restarts"));
    return out;
  }

  /** The items for the encoder (frames topic). */
  public List<Item> frameItems() {
    List<Item> out = new ArrayList<>();
    byte[] png = png(32, 24);
    out.add(
        frame(
            "frame-bad-png",
            frameRecord("frame-bad-png", 32, 24, SyntheticVideo.randomBytes(seed + 2, 3000)),
            "not a PNG",
            "random bytes declared PNG"));
    out.add(
        frame(
            "frame-wrong-dims",
            frameRecord("frame-wrong-dims", 64, 48, png),
            "PNG is 32x24",
            "a 32x24 PNG declared 64x48"));
    out.add(
        frame(
            "frame-huge-dims",
            frameRecord("frame-huge-dims", 16384, 16384, png),
            "16384x16384",
            "a frame declaring 16384x16384"));
    Frame rgb = frameRecord("frame-rgb-short", 32, 24, new byte[100]);
    rgb.setFormat(FrameFormat.RGB24);
    out.add(frame("frame-rgb-short", rgb, "bytes|length|RGB", "RGB24 with 100 of 2304 bytes"));
    Frame neg = frameRecord("frame-negative-index", 32, 24, png);
    neg.setFrameIndex(-1);
    out.add(frame("frame-negative-index", neg, "negative", "frameIndex -1"));
    out.add(
        raw("frame-tombstone", Target.FRAMES, "encoder", null, "tombstone", "null value (delete)"));
    out.add(
        raw(
            "frame-non-avro",
            Target.FRAMES,
            "encoder",
            SyntheticVideo.randomBytes(seed + 3, 500),
            "not a Frame",
            "random bytes"));
    return out;
  }

  /**
   * The items for the llm-worker (questions topic); the worker rejects them since issue 18 (its own
   * helper adds the checks), so each expects a dead letter from llm-worker.
   */
  public List<Item> questionItems() {
    List<Item> out = new ArrayList<>();
    out.add(question("q-empty", "", "empty|blank", "empty question text"));
    Random r = new Random(seed + 4);
    StringBuilder big = new StringBuilder(100 * 1024);
    while (big.length() < 100 * 1024) {
      big.append("why ").append(r.nextInt(1000)).append(' ');
    }
    out.add(
        question(
            "q-100kb",
            big.toString(),
            "long|large|size|limit|characters|bytes",
            "100 KB of question text"));
    out.add(
        question(
            "q-control-chars",
            "what\u0000is\u0007in\u001b[2J the picture?",
            "control",
            "NUL, BEL and an ANSI escape in the text"));
    out.add(
        question(
            "q-unknown-stream",
            "what is moving?",
            "unknown|no frames|not known|never",
            "a stream nobody publishes"));
    Question wrong = question(PREFIX + "q-wrong-key-other", "what is moving?");
    out.add(
        new Item(
            "q-wrong-key",
            Target.QUESTIONS,
            "llm-worker",
            Outcome.DEAD_LETTER,
            utf8(PREFIX + "q-wrong-key"),
            QUESTIONS.serialize("x", wrong),
            // rejected for its key, or (once the worker re-keys questions by stream, issue 18
            // point 4) judged for the unknown stream it names
            ci("key|unknown stream"),
            null,
            "key differs from Question.streamId (which names an unknown stream)"));
    return out;
  }

  // ---------------------------------------------------------------- builders

  private Item chunk(String name, VideoChunk c, String reason, String what) {
    return new Item(
        name,
        Target.CHUNKS,
        "frames",
        Outcome.DEAD_LETTER,
        utf8(PREFIX + name),
        CHUNKS.serialize("x", c),
        ci(reason),
        null,
        what);
  }

  private Item frame(String name, Frame f, String reason, String what) {
    return new Item(
        name,
        Target.FRAMES,
        "encoder",
        Outcome.DEAD_LETTER,
        utf8(PREFIX + name),
        FRAMES.serialize("x", f),
        ci(reason),
        null,
        what);
  }

  private Item question(String name, String text, String reason, String what) {
    return new Item(
        name,
        Target.QUESTIONS,
        "llm-worker",
        Outcome.DEAD_LETTER,
        utf8(PREFIX + name),
        QUESTIONS.serialize("x", question(PREFIX + name, text)),
        ci(reason),
        null,
        what);
  }

  private static Item raw(
      String name, Target target, String stage, byte[] value, String reason, String what) {
    return new Item(
        name,
        target,
        stage,
        Outcome.DEAD_LETTER,
        utf8(PREFIX + name),
        value,
        ci(reason),
        null,
        what);
  }

  private static Question question(String streamId, String text) {
    return Question.newBuilder()
        .setQuestionId("corpus-" + streamId)
        .setStreamId(streamId)
        .setText(text)
        .setAskedAtMillis(1_700_000_000_000L)
        .setMaxNewTokens(4)
        .build();
  }

  private VideoChunk withData(String name, byte[] data) {
    VideoChunk c = VideoChunk.newBuilder(good).build();
    c.setStreamId(PREFIX + name);
    c.setSequence(0);
    c.setStartMicros(0);
    c.setData(ByteBuffer.wrap(data));
    return c;
  }

  private Frame frameRecord(String name, int w, int h, byte[] data) {
    return Frame.newBuilder()
        .setStreamId(PREFIX + name)
        .setFrameIndex(0)
        .setTimestampMicros(0)
        .setChunkSequence(0)
        .setWidth(w)
        .setHeight(h)
        .setFormat(FrameFormat.PNG)
        .setData(ByteBuffer.wrap(data))
        .setStageMillis(Map.of())
        .build();
  }

  // ---------------------------------------------------------------- byte surgery

  /** {@code n} random single-bit flips (the bit-error pattern of a bad link). */
  static byte[] flipBits(byte[] data, Random r, int n) {
    byte[] out = data.clone();
    for (int i = 0; i < Math.max(1, n); i++) {
      int at = r.nextInt(out.length);
      out[at] ^= (byte) (1 << r.nextInt(8));
    }
    return out;
  }

  /** The TS data plus one null packet (PID 0x1FFF, ignored by demuxers) carrying {@code marker}. */
  public static byte[] withNullPacket(byte[] ts, String marker) {
    byte[] pkt = new byte[188];
    Arrays.fill(pkt, (byte) 0xFF);
    pkt[0] = 0x47;
    pkt[1] = 0x1F;
    pkt[2] = (byte) 0xFF;
    pkt[3] = 0x10; // payload only, continuity 0
    byte[] m = marker.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(m, 0, pkt, 4, m.length);
    byte[] out = Arrays.copyOf(ts, ts.length + 188);
    System.arraycopy(pkt, 0, out, ts.length, 188);
    return out;
  }

  /**
   * Adds {@code ticks} (90 kHz) to the PTS and DTS of every video PES header after the first: the
   * container then claims a time span of that length.
   */
  public static byte[] shiftLaterPts(byte[] ts, long ticks) {
    byte[] out = ts.clone();
    boolean first = true;
    for (int p = 0; p + 188 <= out.length; p += 188) {
      boolean start = (out[p + 1] & 0x40) != 0;
      int afc = (out[p + 3] >> 4) & 0x3;
      if (!start || (afc & 1) == 0) {
        continue;
      }
      int off = p + 4 + ((afc & 2) != 0 ? 1 + (out[p + 4] & 0xFF) : 0);
      if (off + 19 > p + 188
          || out[off] != 0
          || out[off + 1] != 0
          || out[off + 2] != 1
          || (out[off + 3] & 0xF0) != 0xE0) {
        continue;
      }
      if (first) {
        first = false;
        continue;
      }
      int flags = (out[off + 7] >> 6) & 0x3;
      if ((flags & 2) != 0) {
        writeTs(out, off + 9, readTs(out, off + 9) + ticks);
      }
      if (flags == 3) {
        writeTs(out, off + 14, readTs(out, off + 14) + ticks);
      }
    }
    return out;
  }

  private static long readTs(byte[] b, int i) {
    return ((long) ((b[i] >> 1) & 0x07) << 30)
        | ((long) (b[i + 1] & 0xFF) << 22)
        | ((long) ((b[i + 2] >> 1) & 0x7F) << 15)
        | ((long) (b[i + 3] & 0xFF) << 7)
        | ((b[i + 4] >> 1) & 0x7F);
  }

  private static void writeTs(byte[] b, int i, long v) {
    v &= (1L << 33) - 1;
    b[i] = (byte) ((b[i] & 0xF1) | (((v >> 30) & 0x07) << 1));
    b[i + 1] = (byte) (v >> 22);
    b[i + 2] = (byte) ((((v >> 15) & 0x7F) << 1) | 1);
    b[i + 3] = (byte) (v >> 7);
    b[i + 4] = (byte) (((v & 0x7F) << 1) | 1);
  }

  /**
   * MJPEG in Matroska, 256x256, with the track's PixelWidth/PixelHeight and every JPEG SOF header
   * patched to claim {@code width} x {@code height}: what FFmpeg reads from the headers is that
   * size. (Written bit-exact, so the bytes depend only on the code, like the rest of the corpus.)
   */
  public VideoChunk hugeHeaderChunk(String name, int width, int height) {
    byte[] mkv = mjpegMatroska(256, 256, 3);
    int patched = 0;
    for (int i = 0; i + 9 < mkv.length; i++) {
      // EBML PixelWidth (0xB0) / PixelHeight (0xBA), 2-byte value 256
      int id = mkv[i] & 0xFF;
      if ((id == 0xB0 || id == 0xBA)
          && (mkv[i + 1] & 0xFF) == 0x82
          && mkv[i + 2] == 0x01
          && mkv[i + 3] == 0x00) {
        int v = id == 0xB0 ? width : height;
        mkv[i + 2] = (byte) (v >> 8);
        mkv[i + 3] = (byte) v;
        patched++;
      }
      // JPEG SOF0/SOF1: FF C0|C1, length, precision 8, height 256, width 256
      if ((mkv[i] & 0xFF) == 0xFF
          && ((mkv[i + 1] & 0xFF) == 0xC0 || (mkv[i + 1] & 0xFF) == 0xC1)
          && mkv[i + 4] == 0x08
          && mkv[i + 5] == 0x01
          && mkv[i + 6] == 0x00
          && mkv[i + 7] == 0x01
          && mkv[i + 8] == 0x00) {
        mkv[i + 5] = (byte) (height >> 8);
        mkv[i + 6] = (byte) height;
        mkv[i + 7] = (byte) (width >> 8);
        mkv[i + 8] = (byte) width;
        patched++;
      }
    }
    if (patched < 3) {
      throw new IllegalStateException(
          "could not find the size headers to patch in the MJPEG/Matroska clip (" + patched + ")");
    }
    VideoChunk c = withData(name, mkv);
    c.setContainer("matroska");
    c.setCodec("mjpeg");
    c.setWidth(256);
    c.setHeight(256);
    c.setDurationMicros(300_000);
    return c;
  }

  /** {@code frames} frames of MJPEG in Matroska at 10 fps, muxed bit-exact (no random UIDs). */
  static byte[] mjpegMatroska(int w, int h, int frames) {
    avutil.av_log_set_level(avutil.AV_LOG_ERROR);
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (FFmpegFrameRecorder rec = new FFmpegFrameRecorder(bos, w, h, 0);
        Java2DFrameConverter conv = new Java2DFrameConverter()) {
      rec.setFormat("matroska");
      rec.setVideoCodecName("mjpeg");
      rec.setPixelFormat(avutil.AV_PIX_FMT_YUVJ420P);
      rec.setFrameRate(10);
      rec.setVideoQuality(4);
      rec.setOption("fflags", "+bitexact");
      rec.setVideoOption("flags", "+bitexact");
      rec.setVideoOption("threads", "1");
      rec.start();
      for (int i = 0; i < frames; i++) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) {
          for (int x = 0; x < w; x++) {
            img.setRGB(x, y, ((x + i * 16) & 0xFF) << 16 | (y & 0xFF) << 8 | 0x60);
          }
        }
        rec.record(conv.convert(img));
      }
      rec.stop();
    } catch (Exception e) {
      throw new IllegalStateException("cannot write the MJPEG/Matroska clip: " + e, e);
    }
    return bos.toByteArray();
  }

  private static byte[] png(int w, int h) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.setRGB(x, y, (x * 8) << 16 | (y * 10) << 8 | 0x40);
      }
    }
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try {
      ImageIO.write(img, "png", bos);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bos.toByteArray();
  }

  static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static Pattern ci(String regex) {
    return Pattern.compile(regex, Pattern.CASE_INSENSITIVE);
  }
}
