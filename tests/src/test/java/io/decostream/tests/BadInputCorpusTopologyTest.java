package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.encoder.EncoderConfig;
import io.decostream.encoder.EncoderTopology;
import io.decostream.encoder.VisionBackend;
import io.decostream.frames.FaultHooks;
import io.decostream.frames.FramesConfig;
import io.decostream.frames.FramesTopology;
import io.decostream.lab.corpus.BadInputCorpus;
import io.decostream.nn.image.RgbImage;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.schemas.VideoChunk;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input corpus (issue 18 point 7) through the real frames and encoder topologies without a
 * broker: every chunk and frame item gives exactly one dead letter from the expected stage, with a
 * reason naming the problem, and the good chunk still gives its frames. The broker-backed run of
 * the whole pipeline is BadInputCorpusIT.
 */
@Timeout(300)
class BadInputCorpusTopologyTest {

  @TempDir static Path tmp;
  static BadInputCorpus corpus;
  static VideoChunk good;
  static final Topics TOPICS = Topics.of(TopicNames.defaults());

  @BeforeAll
  static void generate() throws Exception {
    good = BadInputCorpus.goodChunk(tmp, "good-cam");
    corpus = new BadInputCorpus(good, 18);
  }

  @Test
  void generationIsDeterministic() throws Exception {
    List<BadInputCorpus.Item> a = corpus.items();
    List<BadInputCorpus.Item> b = new BadInputCorpus(good, 18).items();
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      assertEquals(a.get(i).name(), b.get(i).name());
      assertTrue(java.util.Arrays.equals(a.get(i).value(), b.get(i).value()), a.get(i).name());
    }
    assertTrue(
        !java.util.Arrays.equals(
            corpus.chunkItems().get(1).value(),
            new BadInputCorpus(good, 19).chunkItems().get(1).value()),
        "another seed flips other bits");
  }

  @Test
  void everyChunkItemIsDeadLetteredByFramesWithItsReason() {
    System.setProperty(FaultHooks.HANG_PROPERTY, BadInputCorpus.HANG_MARKER);
    try (TopologyTestDriver d =
        driver(FramesTopology.build(FramesConfig.defaults().withMaxDecodeMillis(2000)), "frames")) {
      TestInputTopic<byte[], byte[]> in =
          d.createInputTopic(
              TOPICS.chunks().name(),
              Serdes.ByteArray().serializer(),
              Serdes.ByteArray().serializer());
      TestOutputTopic<String, DeadLetter> dl = deadLetters(d);
      List<String> table = new ArrayList<>();
      for (BadInputCorpus.Item item : corpus.chunkItems()) {
        if (item.outcome() != BadInputCorpus.Outcome.DEAD_LETTER
            || BadInputCorpus.CRASH_MARKER.equals(item.hookMarker())) {
          continue; // oversize never reaches a topic; the crash item kills the JVM (CrashLoopIT)
        }
        in.pipeInput(item.key(), item.value());
        List<DeadLetter> got = dl.readValuesToList();
        assertEquals(1, got.size(), item.name() + ": " + got);
        DeadLetter x = got.get(0);
        assertEquals("frames", x.getStage(), item.name());
        assertEquals(item.streamId(), x.getStreamId(), item.name());
        assertTrue(item.reason().matcher(x.getReason()).find(), item.name() + ": " + x.getReason());
        table.add("| " + item.name() + " | " + x.getReason() + " |");
      }
      table.forEach(System.out::println);
      // the good chunk after all of them still decodes into its frame
      in.pipeInput("good-cam".getBytes(), Serdes.ByteArray().serializer().serialize("x", null));
      dl.readValuesToList();
      in.pipeInput(
          "good-cam".getBytes(),
          io.decostream.schemas.AvroSerde.of(VideoChunk.class).serialize("x", good));
      assertTrue(dl.isEmpty(), "the good chunk is not dead-lettered");
      assertEquals(
          1,
          d.createOutputTopic(
                  TOPICS.frames().name(),
                  Serdes.String().deserializer(),
                  TOPICS.frames().valueSerde().deserializer())
              .readValuesToList()
              .size());
    } finally {
      System.clearProperty(FaultHooks.HANG_PROPERTY);
    }
  }

  @Test
  void everyFrameItemIsDeadLetteredByTheEncoderWithItsReason() {
    try (TopologyTestDriver d =
        driver(
            EncoderTopology.build(EncoderConfig.defaults().withBatch(1, 50), new Flat()), "enc")) {
      TestInputTopic<byte[], byte[]> in =
          d.createInputTopic(
              TOPICS.frames().name(),
              Serdes.ByteArray().serializer(),
              Serdes.ByteArray().serializer());
      TestOutputTopic<String, DeadLetter> dl = deadLetters(d);
      for (BadInputCorpus.Item item : corpus.frameItems()) {
        in.pipeInput(item.key(), item.value());
        List<DeadLetter> got = dl.readValuesToList();
        assertEquals(1, got.size(), item.name() + ": " + got);
        DeadLetter x = got.get(0);
        assertEquals("encoder", x.getStage(), item.name());
        assertEquals(item.streamId(), x.getStreamId(), item.name());
        assertTrue(item.reason().matcher(x.getReason()).find(), item.name() + ": " + x.getReason());
      }
    }
  }

  static TopologyTestDriver driver(Topology t, String app) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "corpus-" + app);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:1234");
    p.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state-" + app).toString());
    return new TopologyTestDriver(t, p);
  }

  static TestOutputTopic<String, DeadLetter> deadLetters(TopologyTestDriver d) {
    return d.createOutputTopic(
        TOPICS.deadLetters().name(),
        Serdes.String().deserializer(),
        TOPICS.deadLetters().valueSerde().deserializer());
  }

  /** A vision backend that accepts every image (the corpus items must fail before it). */
  static final class Flat implements VisionBackend {
    public int gridSize() {
      return 2;
    }

    public int hidden() {
      return 4;
    }

    public int featureLayer() {
      return -2;
    }

    public int defaultPooledGrid() {
      return 1;
    }

    public String modelId() {
      return "flat";
    }

    public List<float[]> features(List<RgbImage> images) {
      return images.stream().map(i -> new float[16]).toList();
    }
  }
}
