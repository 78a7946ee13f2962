package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.encoder.EncoderConfig;
import io.decostream.encoder.EncoderTopology;
import io.decostream.encoder.LlavaVisionBackend;
import io.decostream.frames.FramesConfig;
import io.decostream.frames.FramesTopology;
import io.decostream.ingest.Chunk;
import io.decostream.ingest.Chunker;
import io.decostream.ingest.ChunkerOptions;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.lab.corpus.BadInputCorpus;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.schemas.Answer;
import io.decostream.schemas.AvroSerde;
import io.decostream.schemas.Caption;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Question;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.schemas.VideoChunk;
import io.decostream.worker.LlavaAnswerBackend;
import io.decostream.worker.WorkerConfig;
import io.decostream.worker.WorkerTopology;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 22 point 4, "one stream always on one partition", whatever the partition count: two
 * streams' chunks go through the real frames, encoder and worker topologies (tiny model, no
 * broker), with the questions keyed as foreign clients do (no key, another key); every record each
 * stage writes (frames, frame tokens, answers, captions) is keyed by its stream id, so a Java
 * producer and Kafka Streams' sinks put all of a stream's records on one partition, murmur2(stream
 * id) mod N, the same for every topic and for N = 1 to 64. That is what lets several encoder and
 * worker processes split the partitions: a stream's frames, window and questions stay on one task.
 * (The producers outside the stages key by stream id too: {@code Publisher}, {@code deco ask}, the
 * console, the demo, {@code deco budget}; the worker re-keys any question itself.)
 */
@Timeout(300)
class StreamPartitioningTest {
  static final Topics TOPICS = Topics.of(TopicNames.defaults());
  static final List<String> STREAMS = List.of("cam-a", "lobby/cam-b");

  @TempDir Path tmp;

  @Test
  void everyStageKeysEveryOutputByItsStreamId() throws Exception {
    Path pack = tmp.resolve("pack");
    TinyPack.write(pack, 7);
    // stream -> serialized keys seen on each topic
    Map<String, Map<String, Set<String>>> keys = new TreeMap<>();

    List<KeyValue<String, Frame>> frames = new ArrayList<>();
    try (TopologyTestDriver d = driver(FramesTopology.build(FramesConfig.defaults()), "frames")) {
      TestInputTopic<String, VideoChunk> in =
          d.createInputTopic(
              TOPICS.chunks().name(),
              Serdes.String().serializer(),
              AvroSerde.of(VideoChunk.class).serializer());
      for (int s = 0; s < STREAMS.size(); s++) {
        Path clip =
            SyntheticVideo.write(
                tmp.resolve("clip-" + s + ".mp4"),
                SyntheticVideo.Spec.defaults(3).withSize(160, 120).withSeed(s + 1));
        for (Chunk c : Chunker.readAll(ChunkerOptions.of(clip.toString()).withChunkSeconds(1.0))) {
          in.pipeInput(STREAMS.get(s), BadInputCorpus.toRecord(c, STREAMS.get(s)));
        }
      }
      frames.addAll(
          out(d, TOPICS.frames().name(), TOPICS.frames().valueSerde().deserializer())
              .readKeyValuesToList());
    }
    record(keys, TOPICS.frames().name(), frames, Frame::getStreamId);
    assertEquals(6, frames.size(), "3 s of each stream at 1 fps");

    List<KeyValue<String, FrameTokens>> tokens = new ArrayList<>();
    try (LlavaNextVideo vision = LlavaNextVideo.load(pack, LlavaNextVideo.Part.VISION);
        TopologyTestDriver d =
            driver(
                EncoderTopology.build(
                    EncoderConfig.defaults().withBatch(1, 50), new LlavaVisionBackend(vision)),
                "encoder")) {
      TestInputTopic<String, Frame> in =
          d.createInputTopic(
              TOPICS.frames().name(),
              Serdes.String().serializer(),
              TOPICS.frames().valueSerde().serializer());
      frames.forEach(kv -> in.pipeInput(kv.key, kv.value));
      tokens.addAll(
          out(d, TOPICS.tokens().name(), TOPICS.tokens().valueSerde().deserializer())
              .readKeyValuesToList());
    }
    record(keys, TOPICS.tokens().name(), tokens, FrameTokens::getStreamId);
    assertEquals(6, tokens.size(), "every frame encoded");

    List<KeyValue<String, Answer>> answers = new ArrayList<>();
    List<KeyValue<String, Caption>> captions = new ArrayList<>();
    try (LlavaNextVideo language = LlavaNextVideo.load(pack, LlavaNextVideo.Part.LANGUAGE);
        TopologyTestDriver d =
            driver(
                WorkerTopology.build(
                    WorkerConfig.defaults().withCaptionEvery(3).withMaxNewTokens(2),
                    new LlavaAnswerBackend(language)),
                "worker")) {
      TestInputTopic<String, FrameTokens> in =
          d.createInputTopic(
              TOPICS.tokens().name(),
              Serdes.String().serializer(),
              TOPICS.tokens().valueSerde().serializer());
      tokens.forEach(kv -> in.pipeInput(kv.key, kv.value));
      TestInputTopic<String, Question> q =
          d.createInputTopic(
              TOPICS.questions().name(),
              Serdes.String().serializer(),
              TOPICS.questions().valueSerde().serializer());
      int n = 0;
      for (String stream : STREAMS) {
        // keyed as other clients do: not at all, or by something else than the stream
        for (String key : new String[] {null, "question-" + n}) {
          q.pipeInput(
              key,
              Question.newBuilder()
                  .setQuestionId("q" + n++)
                  .setStreamId(stream)
                  .setText("what is moving?")
                  .setAskedAtMillis(1)
                  .setMaxNewTokens(2)
                  .build());
        }
      }
      TestOutputTopic<String, Answer> a =
          out(d, TOPICS.answers().name(), TOPICS.answers().valueSerde().deserializer());
      TestOutputTopic<String, Caption> c =
          out(d, TOPICS.captions().name(), TOPICS.captions().valueSerde().deserializer());
      // answers may be produced off the stream thread and flushed by a punctuation
      long deadline = System.currentTimeMillis() + 120_000;
      while (answers.size() < n && System.currentTimeMillis() < deadline) {
        answers.addAll(a.readKeyValuesToList());
        captions.addAll(c.readKeyValuesToList());
        d.advanceWallClockTime(java.time.Duration.ofMillis(100));
        Thread.sleep(20);
      }
      captions.addAll(c.readKeyValuesToList());
      assertEquals(n, answers.size(), "every question answered");
    }
    record(keys, TOPICS.answers().name(), answers, Answer::getStreamId);
    record(keys, TOPICS.captions().name(), captions, Caption::getStreamId);
    assertTrue(!captions.isEmpty(), "captions written");

    for (String stream : STREAMS) {
      Map<String, Set<String>> byTopic = keys.get(stream);
      assertEquals(
          Set.of(
              TOPICS.frames().name(),
              TOPICS.tokens().name(),
              TOPICS.answers().name(),
              TOPICS.captions().name()),
          byTopic.keySet(),
          stream);
      byTopic.forEach(
          (topic, k) -> assertEquals(Set.of(stream), k, stream + " on " + topic + " keyed " + k));
      // the worker's question repartition keys by the stream id's UTF-8 bytes, as the tokens'
      // String serde does: the same bytes, the same partition as the stream's frame tokens
      byte[] tokensKey = TOPICS.tokens().keySerde().serializer().serialize("t", stream);
      assertArrayEquals(stream.getBytes(StandardCharsets.UTF_8), tokensKey);
      for (int partitions = 1; partitions <= 64; partitions++) {
        Set<Integer> seen = new TreeSet<>();
        for (String topic : byTopic.keySet()) {
          for (String k : byTopic.get(topic)) {
            // the default partitioner's choice for a keyed record
            seen.add(
                Utils.toPositive(Utils.murmur2(k.getBytes(StandardCharsets.UTF_8))) % partitions);
          }
        }
        assertEquals(1, seen.size(), stream + " over " + partitions + " partitions: " + seen);
      }
    }
  }

  private static <V> void record(
      Map<String, Map<String, Set<String>>> keys,
      String topic,
      List<KeyValue<String, V>> records,
      Function<V, String> stream) {
    for (KeyValue<String, V> kv : records) {
      keys.computeIfAbsent(stream.apply(kv.value), s -> new TreeMap<>())
          .computeIfAbsent(topic, t -> new TreeSet<>())
          .add(String.valueOf(kv.key));
    }
  }

  private static <V> TestOutputTopic<String, V> out(
      TopologyTestDriver d,
      String topic,
      org.apache.kafka.common.serialization.Deserializer<V> values) {
    return d.createOutputTopic(topic, Serdes.String().deserializer(), values);
  }

  private TopologyTestDriver driver(Topology t, String app) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "partitioning-" + app);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:1234");
    p.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state-" + app).toString());
    return new TopologyTestDriver(t, p);
  }
}
