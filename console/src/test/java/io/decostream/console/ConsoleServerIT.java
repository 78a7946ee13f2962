package io.decostream.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.broker.EmbeddedBroker;
import io.decostream.schemas.Answer;
import io.decostream.schemas.AvroSerde;
import io.decostream.schemas.BudgetSpec;
import io.decostream.schemas.DType;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.schemas.WordGrounding;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The console against a real in-process broker, without a browser: history read at start, live
 * records pushed as server-sent events, frames served as PNG, grounding maps as data, and the ask
 * box's questions produced keyed by stream id (empty or oversized ones refused with the reason).
 */
@Timeout(180)
class ConsoleServerIT {
  static EmbeddedBroker broker;
  static Topics topics;
  static ConsoleServer console;
  static final HttpClient http = HttpClient.newHttpClient();
  static final ObjectMapper json = new ObjectMapper();

  @BeforeAll
  static void start() throws Exception {
    broker = EmbeddedBroker.start();
    topics = Topics.of(TopicNames.withPrefix("it-console."));
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      TopicAdmin.ensureTopics(admin, topics, 2, (short) 1);
    }
    // history: written before the console starts
    for (int i = 0; i < 3; i++) {
      send(topics.frames(), "cam1", frame("cam1", i, 0x204080 + i));
    }
    console =
        ConsoleServer.start(ConsoleServer.Config.of(broker.bootstrapServers(), topics.names(), 0));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!console.state().frame("cam1", 2).isPresent() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (console != null) {
      console.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void historyIsReadAndFramesAreServedAsPng() throws Exception {
    JsonNode streams = getJson("/api/streams");
    assertEquals("cam1", streams.get(0).get("id").asText(), streams.toString());
    assertEquals(2, streams.get(0).get("latestFrame").asLong());
    HttpResponse<byte[]> png = get("/api/streams/cam1/frame/latest.png");
    assertEquals(200, png.statusCode());
    assertEquals("image/png", png.headers().firstValue("content-type").orElse(""));
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(png.body()));
    assertEquals(32, img.getWidth());
    assertEquals(0x204082, img.getRGB(5, 5) & 0xFFFFFF, "the latest frame's own pixels");
    assertEquals(
        0x204080,
        ImageIO.read(new ByteArrayInputStream(get("/api/streams/cam1/frame/0.png").body()))
                .getRGB(0, 0)
            & 0xFFFFFF);
    assertEquals(404, get("/api/streams/cam1/frame/99.png").statusCode());
    assertEquals(404, get("/api/streams/nobody").statusCode());
    assertEquals(400, get("/api/streams/cam1/frame/x.png").statusCode());
  }

  @Test
  void thePageAndItsAssetsComeFromTheJar() throws Exception {
    HttpResponse<byte[]> page = get("/");
    assertEquals(200, page.statusCode());
    String html = new String(page.body(), StandardCharsets.UTF_8);
    assertTrue(html.contains("id=\"ask-form\""), html);
    assertFalse(html.contains("http://") || html.contains("https://"), "nothing from elsewhere");
    for (String asset : new String[] {"/app.js", "/heatmap.js", "/app.css"}) {
      HttpResponse<byte[]> r = get(asset);
      assertEquals(200, r.statusCode(), asset);
      assertTrue(r.body().length > 100, asset);
      assertFalse(
          new String(r.body(), StandardCharsets.UTF_8).matches("(?s).*https?://.*"),
          asset + " loads nothing from elsewhere");
    }
  }

  @Test
  void liveRecordsArePushedAsServerSentEvents() throws Exception {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    HttpResponse<InputStream> sse =
        http.send(
            HttpRequest.newBuilder(uri("/api/events")).build(),
            HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, sse.statusCode());
    assertTrue(sse.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(new InputStreamReader(sse.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  lines.add(line);
                }
              } catch (Exception ignored) {
                // closed
              }
            });
    reader.setDaemon(true);
    reader.start();
    awaitLine(lines, ": connected");
    send(topics.frames(), "cam2", frame("cam2", 7, 0xFF0000));
    send(topics.tokens(), "cam2", tokens("cam2", 7, 6, 6));
    awaitLine(lines, "event: frame");
    String data = awaitLine(lines, "data: ");
    JsonNode f = json.readTree(data.substring("data: ".length()));
    assertEquals("cam2", f.get("stream").asText());
    assertEquals(7, f.get("index").asLong());
    awaitLine(lines, "event: tokens");
    JsonNode t = json.readTree(awaitLine(lines, "data: ").substring(6));
    assertEquals(36, t.get("tokensPerFrame").asInt(), "the stream's tokens per frame, 6x6");
    sse.body().close();
  }

  @Test
  void groundingMapsAreServedPerFrameAndPerWord() throws Exception {
    float[] mean = new float[2 * 4];
    for (int i = 0; i < mean.length; i++) {
      mean[i] = i * 0.5f;
    }
    float[] word = new float[2 * 4];
    word[3] = 9f;
    Grounding g =
        Grounding.newBuilder()
            .setRefId("q-1")
            .setStreamId("cam1")
            .setKind("answer")
            .setFrameIndices(List.of(1L, 2L))
            .setGridHeight(2)
            .setGridWidth(2)
            .setTextToPatch(ByteBuffer.wrap(Tensors.toF32(mean)))
            .setProducedAtMillis(1)
            .setText("white square")
            .setQuestion("what is it?")
            .setTokensPerFrame(1)
            .setPooling("avg")
            .setWords(
                List.of(
                    WordGrounding.newBuilder()
                        .setWord("white")
                        .setTokenIndices(List.of(0))
                        .setTextToPatch(ByteBuffer.wrap(Tensors.toF32(word)))
                        .setTextToQuery(ByteBuffer.wrap(Tensors.toF32(new float[2])))
                        .build()))
            .build();
    send(topics.grounding(), "cam1", g);
    send(topics.answers(), "cam1", answer("q-1", "cam1", "white square"));
    JsonNode m = awaitJson("/api/grounding/q-1");
    assertEquals(2, m.get("maps").size());
    assertEquals(3.5, m.get("maps").get(1).get(3).asDouble(), 1e-6, "frame 2, last patch");
    assertEquals("white", m.get("words").get(0).get("word").asText());
    assertEquals(9.0, m.get("words").get(0).get("maps").get(0).get(3).asDouble(), 1e-6);
    assertEquals(404, get("/api/grounding/unknown").statusCode());
    // the stream's answers say the grounding is there
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    JsonNode answers;
    do {
      answers = getJson("/api/streams/cam1").get("answers");
    } while (answers.size() == 0 && System.nanoTime() < deadline);
    assertEquals("white square", answers.get(0).get("text").asText());
    assertTrue(answers.get(0).get("grounding").asBoolean(), answers.toString());
  }

  @Test
  void askProducesAQuestionKeyedByStreamAndRefusesEmptyOrOversizedOnes() throws Exception {
    HttpResponse<byte[]> empty = post(Map.of("stream", "cam1", "question", "   "));
    assertEquals(400, empty.statusCode());
    assertTrue(body(empty).get("error").asText().contains("empty"), new String(empty.body()));
    String big = "é".repeat(2049); // 4098 bytes in UTF-8
    HttpResponse<byte[]> tooLong = post(Map.of("stream", "cam1", "question", big));
    assertEquals(400, tooLong.statusCode());
    assertTrue(
        body(tooLong).get("error").asText().contains("4098 bytes"), new String(tooLong.body()));
    assertEquals(400, post(Map.of("question", "where?")).statusCode(), "a stream must be chosen");
    assertEquals(400, rawPost("not json").statusCode());
    assertEquals(405, get("/api/ask").statusCode());
    HttpResponse<byte[]> form =
        http.send(
            HttpRequest.newBuilder(uri("/api/ask"))
                .header("Content-Type", "text/plain")
                .POST(
                    HttpRequest.BodyPublishers.ofString("{\"stream\":\"cam1\",\"question\":\"q\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(415, form.statusCode(), "another site's page cannot post a plain-text question");

    HttpResponse<byte[]> ok =
        post(Map.of("stream", "cam1", "question", " what color is it? ", "grounding", true));
    assertEquals(202, ok.statusCode(), new String(ok.body()));
    String id = body(ok).get("questionId").asText();
    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    List<ConsumerRecord<String, Question>> got = new ArrayList<>();
    try (KafkaConsumer<String, Question> consumer =
        new KafkaConsumer<>(
            c, new StringDeserializer(), AvroSerde.of(Question.class).deserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      consumer
          .partitionsFor(topics.questions().name())
          .forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (got.isEmpty() && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(got::add);
      }
    }
    assertEquals(1, got.size(), "exactly the accepted question was produced");
    assertEquals("cam1", got.get(0).key());
    assertEquals(id, got.get(0).value().getQuestionId());
    assertEquals("what color is it?", got.get(0).value().getText());
    assertTrue(got.get(0).value().getWantGrounding());
    // shown as waiting until its answer comes
    assertEquals(id, getJson("/api/streams/cam1").get("pending").get(0).get("questionId").asText());
  }

  @Test
  void budgetControlProducesABudgetControlKeyedByStreamAndRefusesBadOnes() throws Exception {
    // the stream's patch grid (12x12, as the shipped model's) is known from its tokens
    send(topics.tokens(), "cam3", tokens("cam3", 0, 12, 12));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (console.state().patchGrid("cam3") == 0 && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertEquals(12, console.state().patchGrid("cam3"));

    HttpResponse<byte[]> tooFine = postBudget("cam3", Map.of("budget", "avg:13"));
    assertEquals(400, tooFine.statusCode());
    assertTrue(
        body(tooFine).get("error").asText().contains("larger than the vision tower's 12x12"),
        new String(tooFine.body(), StandardCharsets.UTF_8));
    HttpResponse<byte[]> unknown = postBudget("cam3", Map.of("budget", "median:4"));
    assertEquals(400, unknown.statusCode());
    assertTrue(
        body(unknown).get("error").asText().contains("unknown pooling mode 'median'"),
        new String(unknown.body(), StandardCharsets.UTF_8));
    assertEquals(400, postBudget("cam3", Map.of("budget", "avg:" + (char) 7 + "6")).statusCode());
    assertEquals(400, postBudget("cam3", Map.of("budget", "")).statusCode());
    assertEquals(400, postBudget("cam3", Map.of("budget", 6)).statusCode());
    assertEquals(405, get("/api/streams/cam3/budget").statusCode());
    HttpResponse<byte[]> plain =
        http.send(
            HttpRequest.newBuilder(uri("/api/streams/cam3/budget"))
                .header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("{\"budget\":\"avg:6\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(415, plain.statusCode(), "another site's page cannot post a budget");

    HttpResponse<byte[]> ok = postBudget("cam3", Map.of("budget", " AVG:6 "));
    assertEquals(202, ok.statusCode(), new String(ok.body(), StandardCharsets.UTF_8));
    assertEquals("avg:6x6", body(ok).get("budget").asText());
    assertEquals(36, body(ok).get("tokensPerFrame").asInt());

    Map<String, Object> c = new HashMap<>(KafkaLimits.consumerOverrides());
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    List<ConsumerRecord<String, byte[]>> got = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(
            c,
            new StringDeserializer(),
            new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      consumer
          .partitionsFor(topics.control().name())
          .forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (got.isEmpty() && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(got::add);
      }
      // nothing else arrives: the refused budgets were never produced
      consumer.poll(Duration.ofSeconds(1)).forEach(got::add);
    }
    assertEquals(1, got.size(), "exactly the accepted budget was produced");
    ConsumerRecord<String, byte[]> r = got.get(0);
    assertEquals("cam3", r.key());
    // the record passes the encoder's own check, for the stream's patch grid
    BudgetSpec.Verdict v =
        BudgetSpec.check(
            topics.control(), r.topic(), r.key().getBytes(StandardCharsets.UTF_8), r.value(), 12);
    assertTrue(v.accepted(), v.reason());
    assertEquals("avg:6x6", v.spec().spec());
    assertEquals("AVG:6", v.control().getCompressor());
    assertEquals("console", v.control().getRequestedBy());
  }

  // ---------------------------------------------------------------- helpers

  static HttpResponse<byte[]> postBudget(String stream, Map<String, Object> body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(uri("/api/streams/" + stream + "/budget"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body)))
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  static Frame frame(String stream, long index, int rgb) throws Exception {
    BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 32; y++) {
      for (int x = 0; x < 32; x++) {
        img.setRGB(x, y, rgb);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return Frame.newBuilder()
        .setStreamId(stream)
        .setFrameIndex(index)
        .setTimestampMicros(index * 1_000_000)
        .setChunkSequence(index)
        .setWidth(32)
        .setHeight(32)
        .setFormat(FrameFormat.PNG)
        .setData(ByteBuffer.wrap(out.toByteArray()))
        .build();
  }

  static FrameTokens tokens(String stream, long index, int gh, int gw) {
    return FrameTokens.newBuilder()
        .setStreamId(stream)
        .setFrameIndex(index)
        .setTimestampMicros(index * 1_000_000)
        .setModelId("test")
        .setVisionLayer(-2)
        .setSourceGridHeight(12)
        .setSourceGridWidth(12)
        .setGridHeight(gh)
        .setGridWidth(gw)
        .setPooling("avg")
        .setTokens(Tensors.encode(new float[gh * gw * 2], new int[] {gh * gw, 2}, DType.F16))
        .build();
  }

  static Answer answer(String id, String stream, String text) {
    return Answer.newBuilder()
        .setQuestionId(id)
        .setStreamId(stream)
        .setQuestion("what is it?")
        .setText(text)
        .setFirstFrameIndex(1)
        .setLastFrameIndex(2)
        .setFrameCount(2)
        .setTokensPerFrame(1)
        .setPromptTokens(10)
        .setGeneratedTokens(2)
        .setAnsweredAtMillis(System.currentTimeMillis())
        .build();
  }

  @Test
  void healthShowsEachStagesGroupAndLag() throws Exception {
    // a frames stage that committed offset 2 of 5 records on partition 0 of the chunks topic
    String chunks = topics.chunks().name();
    Map<String, Object> pp = new HashMap<>(KafkaLimits.producerOverrides());
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    try (KafkaProducer<String, byte[]> p =
        new KafkaProducer<>(
            pp,
            new StringSerializer(),
            new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      for (int i = 0; i < 5; i++) {
        p.send(new ProducerRecord<>(chunks, 0, "cam1", new byte[] {(byte) i})).get();
      }
    }
    org.apache.kafka.common.TopicPartition tp =
        new org.apache.kafka.common.TopicPartition(chunks, 0);
    Map<String, Object> cp = new HashMap<>();
    cp.put("bootstrap.servers", broker.bootstrapServers());
    cp.put("group.id", "deco-frames");
    try (org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> c =
        new org.apache.kafka.clients.consumer.KafkaConsumer<>(
            cp,
            new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
            new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      c.commitSync(Map.of(tp, new org.apache.kafka.clients.consumer.OffsetAndMetadata(2)));
    }
    Thread.sleep(2_100); // past the health cache's refresh
    JsonNode h = getJson("/api/health");
    JsonNode frames = h.get("stages").get(0);
    assertEquals("frames", frames.get("stage").asText(), h.toString());
    assertEquals("deco-frames", frames.get("group").asText());
    assertEquals(3, frames.get("lag").asLong(), h.toString());
    assertEquals(0, frames.get("members").asInt(), h.toString());
    assertEquals("llm-worker", h.get("stages").get(2).get("stage").asText());
    boolean cam1 = false;
    for (JsonNode s : h.get("streams")) {
      if (s.get("stream").asText().equals("cam1")) {
        cam1 = true;
        assertTrue(s.has("framesPerSecond") && s.has("latencyMillis"), s.toString());
      }
    }
    assertTrue(cam1, h.toString());
  }

  static <V> void send(io.decostream.schemas.Topic<V> topic, String key, V value) throws Exception {
    Map<String, Object> p = new HashMap<>(KafkaLimits.producerOverrides());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    try (KafkaProducer<String, V> producer =
        new KafkaProducer<>(p, new StringSerializer(), topic.valueSerde().serializer())) {
      producer.send(new ProducerRecord<>(topic.name(), key, value)).get();
    }
  }

  static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + console.port() + path);
  }

  static HttpResponse<byte[]> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(uri(path)).build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static JsonNode getJson(String path) throws Exception {
    HttpResponse<byte[]> r = get(path);
    assertEquals(200, r.statusCode(), path + ": " + new String(r.body(), StandardCharsets.UTF_8));
    return json.readTree(r.body());
  }

  static JsonNode awaitJson(String path) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      HttpResponse<byte[]> r = get(path);
      if (r.statusCode() == 200) {
        return json.readTree(r.body());
      }
      Thread.sleep(100);
    }
    return getJson(path);
  }

  static HttpResponse<byte[]> post(Map<String, Object> body) throws Exception {
    return rawPost(json.writeValueAsString(body));
  }

  static HttpResponse<byte[]> rawPost(String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(uri("/api/ask"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  static JsonNode body(HttpResponse<byte[]> r) throws Exception {
    return json.readTree(r.body());
  }

  static String awaitLine(BlockingQueue<String> lines, String prefix) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      String l = lines.poll(200, TimeUnit.MILLISECONDS);
      if (l != null && l.startsWith(prefix)) {
        return l;
      }
    }
    throw new AssertionError("no line starting with '" + prefix + "' within 30 s");
  }
}
