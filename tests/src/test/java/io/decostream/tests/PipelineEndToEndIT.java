package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.cli.OutputCollector;
import io.decostream.cli.Pipeline;
import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.schemas.Answer;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Question;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.schemas.VideoChunk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole pipeline on the real in-process broker with the real stages and a real (tiny, random)
 * llava_next_video pack: two streams of generated 12 s H.264 video at once, a question per stream,
 * plus a third stream that sends a corrupt chunk. Runs once; the tests below check its outcome.
 */
@Timeout(600)
class PipelineEndToEndIT {
  static final double SECONDS = 12;
  static final List<String> STREAMS = List.of("cam-a", "cam-b");
  static final String BROKEN = "cam-broken";

  @TempDir static Path tmp;
  static EmbeddedBroker broker;
  static Topics topics;
  static Pipeline pipeline;
  static OutputCollector out;
  static final Map<String, Question> questions = new HashMap<>();

  @BeforeAll
  static void runPipeline() throws Exception {
    broker = EmbeddedBroker.start();
    topics = Topics.of(TopicNames.withPrefix("it-e2e."));
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      TopicAdmin.ensureTopics(admin, topics, 2, (short) 1);
    }
    Path pack = tmp.resolve("pack");
    TinyPack.write(pack, 7);
    pipeline =
        Pipeline.start(
            broker.bootstrapServers(),
            topics.names(),
            new Pipeline.Options(pack, 1.0, "avg:12", 4, 6, tmp.resolve("state")));
    pipeline.awaitRunning(Duration.ofSeconds(120));
    out = new OutputCollector(broker.bootstrapServers(), topics);

    // A corrupt chunk on its own stream, sent first: the other streams must keep flowing.
    try (KafkaProducer<String, VideoChunk> p =
        new KafkaProducer<>(
            producerProps(),
            topics.chunks().keySerde().serializer(),
            topics.chunks().valueSerde().serializer())) {
      p.send(
              new ProducerRecord<>(
                  topics.chunks().name(),
                  BROKEN,
                  VideoChunk.newBuilder()
                      .setStreamId(BROKEN)
                      .setSequence(0)
                      .setStartMicros(0)
                      .setDurationMicros(1_000_000)
                      .setContainer("mpegts")
                      .setCodec("h264")
                      .setWidth(336)
                      .setHeight(336)
                      .setFrameRate(10)
                      .setSource("test")
                      .setData(java.nio.ByteBuffer.wrap(SyntheticVideo.randomBytes(3, 50_000)))
                      .build()))
          .get();
    }

    ExecutorService pool = Executors.newFixedThreadPool(STREAMS.size());
    List<Future<Publisher.Result>> results = new ArrayList<>();
    for (int i = 0; i < STREAMS.size(); i++) {
      Path clip =
          SyntheticVideo.write(
              tmp.resolve(STREAMS.get(i) + ".mp4"),
              SyntheticVideo.Spec.defaults(SECONDS).withSeed(i + 1));
      PublishConfig pc =
          new PublishConfig(
              broker.bootstrapServers(),
              STREAMS.get(i),
              clip.toString(),
              1.0,
              false,
              false,
              topics.names(),
              OptionalLong.empty());
      results.add(
          pool.submit(
              () -> {
                try (Publisher publisher = new Publisher(pc)) {
                  return publisher.run();
                }
              }));
    }
    for (Future<Publisher.Result> r : results) {
      assertEquals(SECONDS, r.get().videoSeconds(), 0.5);
    }
    pool.shutdown();

    int expected = (int) SECONDS * STREAMS.size();
    assertTrue(
        out.await(c -> c.tokens.size() >= expected, Duration.ofSeconds(300)),
        "expected " + expected + " encoded frames, got " + out.tokens.size());

    try (KafkaProducer<String, Question> p =
        new KafkaProducer<>(
            producerProps(),
            topics.questions().keySerde().serializer(),
            topics.questions().valueSerde().serializer())) {
      for (String s : STREAMS) {
        Question q =
            Question.newBuilder()
                .setQuestionId("q-" + s)
                .setStreamId(s)
                .setText("what is moving in " + s + "?")
                .setAskedAtMillis(System.currentTimeMillis())
                .setMaxNewTokens(6)
                .build();
        questions.put(s, q);
        p.send(new ProducerRecord<>(topics.questions().name(), s, q));
      }
    }
    assertTrue(
        out.await(c -> c.answers.size() >= STREAMS.size(), Duration.ofSeconds(180)),
        "answers: " + out.answers);
  }

  static Map<String, Object> producerProps() {
    Map<String, Object> p = new HashMap<>(KafkaLimits.producerOverrides());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    return p;
  }

  @AfterAll
  static void stop() throws Exception {
    if (out != null) {
      out.close();
    }
    if (pipeline != null) {
      pipeline.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void everyFrameOfBothStreamsIsEncodedInto144Tokens() {
    for (String s : STREAMS) {
      List<FrameTokens> t = out.tokens.stream().filter(f -> f.getStreamId().equals(s)).toList();
      assertEquals((int) SECONDS, t.size(), "frames of " + s);
      for (int i = 0; i < t.size(); i++) {
        FrameTokens f = t.get(i);
        assertEquals(i, f.getFrameIndex(), "frames arrive in order per stream");
        assertEquals(144, f.getGridHeight() * f.getGridWidth());
        assertEquals(List.of(144, 64), f.getTokens().getShape());
        assertEquals(i * 1_000_000L, f.getTimestampMicros(), 50_000);
      }
    }
  }

  @Test
  void eachAnswerNamesItsStreamAndAFrameRangeWithinItsFrames() {
    for (String s : STREAMS) {
      Answer a =
          out.answers.stream()
              .filter(x -> x.getQuestionId().equals("q-" + s))
              .findFirst()
              .orElseThrow();
      assertEquals(s, a.getStreamId());
      assertNull(a.getError(), "answer error");
      assertEquals(questions.get(s).getText(), a.getQuestion());
      assertTrue(
          a.getFirstFrameIndex() >= 0
              && a.getLastFrameIndex() <= (long) SECONDS - 1
              && a.getFirstFrameIndex() <= a.getLastFrameIndex(),
          "frame range " + a.getFirstFrameIndex() + ".." + a.getLastFrameIndex());
      assertEquals(a.getLastFrameIndex() - a.getFirstFrameIndex() + 1, a.getFrameCount());
      assertEquals(144, a.getTokensPerFrame());
      assertTrue(
          a.getPromptTokens() > a.getFrameCount() * 144,
          "prompt holds the visual tokens and the text");
      assertTrue(
          a.getGeneratedTokens() >= 1 && a.getGeneratedTokens() <= 6,
          "generated " + a.getGeneratedTokens());
    }
  }

  @Test
  void theCorruptChunkIsDeadLetteredWithAReason() {
    List<DeadLetter> dl =
        out.deadLetters.stream().filter(d -> BROKEN.equals(d.getStreamId())).toList();
    assertEquals(1, dl.size(), "dead letters: " + out.deadLetters);
    assertEquals("frames", dl.get(0).getStage());
    assertFalse(dl.get(0).getReason().isBlank());
    assertTrue(
        out.deadLetters.stream().noneMatch(d -> STREAMS.contains(d.getStreamId())),
        "good streams have no dead letters");
  }

  @Test
  void captionsComeEveryFourFrames() throws InterruptedException {
    assertTrue(
        out.await(
            c ->
                STREAMS.stream()
                    .allMatch(
                        s ->
                            c.captions.stream().filter(x -> x.getStreamId().equals(s)).count()
                                >= 3),
            Duration.ofSeconds(120)),
        "captions: " + out.captions);
    out.captions.forEach(
        c ->
            assertEquals(
                0,
                (c.getLastFrameIndex() + 1) % 4,
                "a caption closes a span of 4 frames, got one after frame "
                    + c.getLastFrameIndex()));
  }

  @Test
  void decoAskPrintsTheAnswerForItsStream() {
    java.io.PrintStream original = System.out;
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    int code;
    try (java.io.PrintStream capture =
        new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8)) {
      System.setOut(capture);
      code =
          io.decostream.cli.Deco.run(
              "ask",
              "--bootstrap",
              broker.bootstrapServers(),
              "--topic-prefix",
              "it-e2e.",
              "--stream",
              "cam-b",
              "--max-new-tokens",
              "3",
              "--timeout",
              "120",
              "where",
              "is",
              "the",
              "square?");
    } finally {
      System.setOut(original);
    }
    String printed = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, code, printed);
    assertTrue(
        printed.contains("[cam-b] Q: where is the square?") && printed.contains("A: "), printed);
    assertTrue(printed.contains("x 144 tokens"), printed);
  }

  /**
   * Issue 4 done-when: grounding records arrive on their topic for grounded questions; ask prints
   * and draws them.
   */
  @Test
  void decoAskWithGroundingGetsMapsOnTheTopicAndWritesPictures(
      @org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    java.io.PrintStream original = System.out;
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    Path saved = tmp.resolve("g.avro");
    Path pics = tmp.resolve("pics");
    int code;
    try (java.io.PrintStream capture =
        new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8)) {
      System.setOut(capture);
      code =
          io.decostream.cli.Deco.run(
              "ask",
              "--bootstrap",
              broker.bootstrapServers(),
              "--topic-prefix",
              "it-e2e.",
              "--stream",
              "cam-a",
              "--max-new-tokens",
              "3",
              "--timeout",
              "120",
              "--grounding",
              "--save-grounding",
              saved.toString(),
              "--render",
              pics.toString(),
              "what",
              "color",
              "is",
              "the",
              "circle?");
    } finally {
      System.setOut(original);
    }
    String printed = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, code, printed);
    assertTrue(
        printed.contains("grounding (avg pooling")
            && printed.contains("of the relevance, most in the"),
        printed);
    io.decostream.schemas.Grounding g =
        topics
            .grounding()
            .valueSerde()
            .deserializer()
            .deserialize(topics.grounding().name(), Files.readAllBytes(saved));
    assertEquals("cam-a", g.getStreamId());
    assertEquals("answer", g.getKind());
    assertEquals(24, g.getGridHeight());
    assertEquals(144, g.getTokensPerFrame());
    int frames = g.getFrameIndices().size();
    assertTrue(frames >= 1);
    float[] ttp =
        io.decostream.schemas.Tensors.fromF32(
            io.decostream.schemas.Tensors.bytesOf(g.getTextToPatch()));
    assertEquals(frames * 576, ttp.length);
    double mass = 0;
    for (float v : ttp) {
      assertTrue(Float.isFinite(v));
      mass += Math.abs(v);
    }
    assertTrue(mass > 0, "the maps are not all zero");
    assertEquals(
        frames * 144, io.decostream.schemas.Tensors.bytesOf(g.getTextToQuery()).length / 4);
    assertTrue(!g.getWords().isEmpty());
    // one overlay per frame (drawn over the real frames from the frames topic), the window strip,
    // word strips
    try (var files = Files.list(pics)) {
      List<Path> png = files.filter(p -> p.toString().endsWith(".png")).toList();
      assertEquals(frames + 1 + g.getWords().size(), png.size(), png.toString());
      Path overlay =
          png.stream()
              .filter(p -> p.getFileName().toString().contains("-frame-"))
              .findFirst()
              .orElseThrow();
      java.awt.image.BufferedImage first = javax.imageio.ImageIO.read(overlay.toFile());
      assertEquals(336, first.getWidth(), "drawn over the 336x336 source frame");
    }
  }

  @Test
  void decoWatchPrintsTheCaptionsAndAnswersOfItsStream() throws InterruptedException {
    assertTrue(out.await(c -> c.captions.size() >= 2, Duration.ofSeconds(120)));
    java.io.PrintStream original = System.out;
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    int code;
    try (java.io.PrintStream capture =
        new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8)) {
      System.setOut(capture);
      code =
          io.decostream.cli.Deco.run(
              "watch",
              "--bootstrap",
              broker.bootstrapServers(),
              "--topic-prefix",
              "it-e2e.",
              "--stream",
              "cam-a",
              "--from-beginning",
              "--for",
              "8");
    } finally {
      System.setOut(original);
    }
    String printed = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, code, printed);
    assertTrue(printed.contains("[cam-a] caption frames 0..3"), printed);
    assertTrue(printed.contains("[cam-a] Q: what is moving in cam-a?"), printed);
    assertFalse(printed.contains("[cam-b]"), "only the watched stream: " + printed);
  }

  /**
   * Done-when: a message from every topic, read with a plain consumer, decodes with the .avsc file
   * alone.
   */
  @Test
  void aMessageFromEveryTopicDecodesWithTheSchemaFileAlone() throws Exception {
    Map<String, String> schemaOfTopic =
        Map.of(
            topics.chunks().name(),
            "VideoChunk",
            topics.frames().name(),
            "Frame",
            topics.tokens().name(),
            "FrameTokens",
            topics.questions().name(),
            "Question",
            topics.answers().name(),
            "Answer",
            topics.captions().name(),
            "Caption",
            topics.deadLetters().name(),
            "DeadLetter",
            topics.grounding().name(),
            "Grounding");
    // a grounded question makes sure the grounding topic has a record, whatever order the tests run
    // in
    io.decostream.schemas.Question q =
        io.decostream.schemas.Question.newBuilder()
            .setQuestionId("schema-check")
            .setStreamId("cam-b")
            .setText("what is here?")
            .setAskedAtMillis(System.currentTimeMillis())
            .setMaxNewTokens(2)
            .setWantGrounding(true)
            .build();
    assertNotNull(
        io.decostream.cli.AskCommand.askGrounded(
                broker.bootstrapServers(), topics, q, Duration.ofSeconds(120))
            .grounding(),
        "a grounding record");
    for (Map.Entry<String, String> e : schemaOfTopic.entrySet()) {
      Schema schema =
          new Schema.Parser()
              .parse(Path.of("../schemas/src/main/avro/" + e.getValue() + ".avsc").toFile());
      BinaryMessageDecoder<GenericRecord> decoder =
          new BinaryMessageDecoder<>(GenericData.get(), schema);
      byte[] bytes = firstMessage(e.getKey());
      assertNotNull(bytes, "no message on " + e.getKey());
      GenericRecord r = decoder.decode(bytes);
      assertEquals(e.getValue(), r.getSchema().getName());
      assertNotNull(r.get("streamId"), e.getKey());
    }
  }

  static byte[] firstMessage(String topic) {
    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "raw-" + topic);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      long deadline = System.currentTimeMillis() + 20_000;
      while (System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.value() != null) {
            return r.value();
          }
        }
      }
      return null;
    }
  }
}
