package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.cli.OutputCollector;
import io.decostream.cli.Pipeline;
import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.tiny.TinyFamilies;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every LLaVA family in the pipeline (issue 23 point 3): a tiny random pack of each family ({@code
 * deco model tiny --type}), a short generated clip through ingest → frames → encoder → worker on
 * the real in-process broker, a question, then an answer naming its frames and a caption. Each
 * family runs on its own topics; the encoder ships what the family's split says ({@link
 * io.decostream.nn.llava.StreamModel}): 144 pooled CLIP rows for llava_next_video, the whole 24x24
 * grid for llava (LLaVA-1.5 does not pool) and llava_onevision (it pools after its projector, in
 * the worker).
 */
@Timeout(900)
class FamilyPipelineIT {
  static final double SECONDS = 4;
  static final String STREAM = "cam-f";

  @TempDir static Path tmp;
  static EmbeddedBroker broker;

  @BeforeAll
  static void startBroker() throws Exception {
    broker = EmbeddedBroker.start();
  }

  @AfterAll
  static void stopBroker() throws Exception {
    if (broker != null) {
      broker.close();
    }
  }

  /** Tokens per frame on the frame-tokens topic, per family (its own default, no budget set). */
  static int shippedTokens(ModelFamily family) {
    return family == ModelFamily.LLAVA_NEXT_VIDEO ? 144 : 576;
  }

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void aClipIsEncodedAnsweredAndCaptioned(ModelFamily family) throws Exception {
    Topics topics = Topics.of(TopicNames.withPrefix("it-fam-" + family.modelType() + "."));
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      TopicAdmin.ensureTopics(admin, topics, 1, (short) 1);
    }
    Path pack = tmp.resolve(family.modelType());
    TinyFamilies.write(pack, family, TinyPack.Spec.defaults(), 11);
    Path state = tmp.resolve("state-" + family.modelType());
    try (Pipeline pipeline =
            Pipeline.start(
                broker.bootstrapServers(),
                topics.names(),
                new Pipeline.Options(pack, 1.0, null, 2, 4, state));
        OutputCollector out = new OutputCollector(broker.bootstrapServers(), topics)) {
      pipeline.awaitRunning(Duration.ofSeconds(120));
      publish(topics, tmp.resolve(family.modelType() + ".mp4"));
      assertTrue(
          out.await(c -> c.tokens.size() >= (int) SECONDS, Duration.ofSeconds(240)),
          family + ": encoded frames " + out.tokens.size() + ", dead letters " + out.deadLetters);
      for (FrameTokens t : out.tokens) {
        assertEquals(shippedTokens(family), t.getGridHeight() * t.getGridWidth(), family + "");
      }
      ask(topics, "q-" + family.modelType());
      assertTrue(
          out.await(c -> !c.answers.isEmpty() && !c.captions.isEmpty(), Duration.ofSeconds(240)),
          family + ": answers " + out.answers + ", captions " + out.captions);
      Answer a = out.answers.get(0);
      assertEquals("q-" + family.modelType(), a.getQuestionId());
      assertNull(a.getError(), family + ": " + a.getError());
      assertTrue(
          a.getFirstFrameIndex() >= 0
              && a.getFirstFrameIndex() <= a.getLastFrameIndex()
              && a.getLastFrameIndex() <= (long) SECONDS - 1,
          "frames " + a.getFirstFrameIndex() + ".." + a.getLastFrameIndex());
      assertEquals(a.getLastFrameIndex() - a.getFirstFrameIndex() + 1, a.getFrameCount());
      assertEquals(shippedTokens(family), a.getTokensPerFrame());
      assertTrue(a.getPromptTokens() > 0, "prompt tokens");
      Caption c = out.captions.get(0);
      assertEquals(STREAM, c.getStreamId());
      assertTrue(c.getFirstFrameIndex() <= c.getLastFrameIndex(), "caption frames");
      assertTrue(out.deadLetters.isEmpty(), family + ": no dead letters, got " + out.deadLetters);
    }
  }

  /**
   * The answer's heatmap is over the 24x24 patch grid of every frame, whatever the family does
   * after the encoder (OneVision maps its pooled rows back through the bilinear weights).
   */
  private static void checkGrounding(OutputCollector out, Answer a) throws Exception {
    assertTrue(
        out.await(c -> !c.groundings.isEmpty(), Duration.ofSeconds(240)),
        "grounding of " + a.getQuestionId());
    Grounding g = out.groundings.get(0);
    assertEquals(a.getQuestionId(), g.getRefId());
    assertEquals(24, g.getGridHeight());
    int frames = g.getFrameIndices().size();
    assertEquals(a.getFrameCount(), frames);
    float[] ttp = Tensors.fromF32(Tensors.bytesOf(g.getTextToPatch()));
    assertEquals(frames * 576, ttp.length);
    double mass = 0;
    for (float v : ttp) {
      assertTrue(Float.isFinite(v));
      mass += Math.abs(v);
    }
    assertTrue(mass > 0, "the heatmap is not all zero");
  }

  private static void publish(Topics topics, Path clipFile) throws Exception {
    Path clip = SyntheticVideo.write(clipFile, SyntheticVideo.Spec.defaults(SECONDS).withSeed(3));
    PublishConfig pc =
        new PublishConfig(
            broker.bootstrapServers(),
            STREAM,
            clip.toString(),
            1.0,
            false,
            false,
            topics.names(),
            OptionalLong.empty());
    try (Publisher publisher = new Publisher(pc)) {
      assertEquals(SECONDS, publisher.run().videoSeconds(), 0.5);
    }
  }

  private static void ask(Topics topics, String id) throws Exception {
    Map<String, Object> p = new HashMap<>(KafkaLimits.producerOverrides());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    try (KafkaProducer<String, Question> producer =
        new KafkaProducer<>(
            p,
            topics.questions().keySerde().serializer(),
            topics.questions().valueSerde().serializer())) {
      Question q =
          Question.newBuilder()
              .setQuestionId(id)
              .setStreamId(STREAM)
              .setText("what is moving ?")
              .setAskedAtMillis(System.currentTimeMillis())
              .setMaxNewTokens(4)
              .setWantGrounding(true)
              .build();
      producer.send(new ProducerRecord<>(topics.questions().name(), STREAM, q)).get();
    }
  }
}
