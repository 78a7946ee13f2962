package io.decostream.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AvroSerdeTest {

  static Stream<SpecificRecord> samples() {
    return Stream.of(
        Samples.chunk(),
        Samples.frame(),
        Samples.tokens(),
        Samples.question(),
        Samples.answer(),
        Samples.caption(),
        Samples.grounding(),
        Samples.deadLetter());
  }

  @SuppressWarnings("unchecked")
  private static <T extends SpecificRecord> AvroSerde<T> serdeFor(T record) {
    return AvroSerde.of((Class<T>) record.getClass());
  }

  @ParameterizedTest
  @MethodSource("samples")
  void roundTripsEveryRecordType(SpecificRecord record) {
    AvroSerde<SpecificRecord> serde = serdeFor(record);
    byte[] bytes = serde.serializer().serialize("t", record);
    // single-object header: C3 01 + little-endian CRC-64-AVRO fingerprint of the schema
    assertEquals((byte) 0xC3, bytes[0]);
    assertEquals((byte) 0x01, bytes[1]);
    long fp = ByteBuffer.wrap(bytes, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(SchemaNormalization.parsingFingerprint64(record.getSchema()), fp);
    SpecificRecord back = serde.deserializer().deserialize("t", bytes);
    assertEquals(record, back);
  }

  @ParameterizedTest
  @MethodSource("samples")
  void plainAvroDecodesWithOnlyTheAvscFile(SpecificRecord record) throws Exception {
    AvroSerde<SpecificRecord> serde = serdeFor(record);
    byte[] bytes = serde.serialize("t", record);
    String file = record.getSchema().getName() + ".avsc";
    Schema fromFile = new Schema.Parser().parse(Path.of("src/main/avro", file).toFile());
    BinaryMessageDecoder<GenericRecord> plain =
        new BinaryMessageDecoder<>(GenericData.get(), fromFile);
    GenericRecord generic = plain.decode(bytes);
    // compare field by field through Avro's own string form of the generic and specific record
    for (Schema.Field f : fromFile.getFields()) {
      Object g = generic.get(f.name());
      Object s = record.get(record.getSchema().getField(f.name()).pos());
      assertEquals(normalize(s), normalize(g), file + " field " + f.name());
    }
  }

  private static Object normalize(Object o) {
    if (o instanceof ByteBuffer) {
      return Arrays.toString(Tensors.bytesOf((ByteBuffer) o));
    }
    if (o instanceof java.util.Map) { // map order is not part of the data; keys may be Utf8
      java.util.TreeMap<String, Object> sorted = new java.util.TreeMap<>();
      ((java.util.Map<?, ?>) o).forEach((k, v) -> sorted.put(k.toString(), normalize(v)));
      return sorted;
    }
    if (o instanceof SpecificRecord || o instanceof GenericRecord) {
      return GenericData.get().toString(o); // JSON form: same for generic and specific
    }
    return o == null ? null : GenericData.get().toString(o);
  }

  @Test
  void readsQuestionsWrittenWithVersion1UsingDefaults() throws Exception {
    AvroSerde<Question> serde = AvroSerde.of(Question.class);
    assertEquals(
        2, serde.historicalSchemas().size(), "history/Question.v1 and v2.avsc should be found");
    Schema v1 = serde.historicalSchemas().get(0);
    assertFalse(v1.getFields().stream().anyMatch(f -> f.name().equals("wantGrounding")));

    GenericRecord old = new GenericData.Record(v1);
    old.put("questionId", "q-old");
    old.put("streamId", "cam-9");
    old.put("text", "Is the door open?");
    old.put("askedAtMillis", 123L);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(old, out);

    Question q = serde.deserialize("deco.questions", out.toByteArray());
    assertEquals("q-old", q.getQuestionId());
    assertEquals("cam-9", q.getStreamId());
    assertEquals("Is the door open?", q.getText());
    assertEquals(123L, q.getAskedAtMillis());
    assertNull(q.getMaxNewTokens());
    assertFalse(q.getWantGrounding());
    assertNull(q.getTemperature());
  }

  @Test
  void readsQuestionsAndAnswersWrittenBeforeSamplingUsingDefaults() throws Exception {
    // issue 20 point 5 added temperature/topP/seed: v2 questions and v1 answers still read
    AvroSerde<Question> questions = AvroSerde.of(Question.class);
    Schema v2 = questions.historicalSchemas().get(1);
    GenericRecord old = new GenericData.Record(v2);
    old.put("questionId", "q2");
    old.put("streamId", "cam");
    old.put("text", "what?");
    old.put("askedAtMillis", 5L);
    old.put("maxNewTokens", 7);
    old.put("wantGrounding", true);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v2).encode(old, out);
    Question q = questions.deserialize("deco.questions", out.toByteArray());
    assertEquals(7, q.getMaxNewTokens());
    assertTrue(q.getWantGrounding());
    assertNull(q.getTemperature());
    assertNull(q.getTopP());
    assertNull(q.getSeed());

    AvroSerde<Answer> answers = AvroSerde.of(Answer.class);
    assertEquals(1, answers.historicalSchemas().size(), "history/Answer.v1.avsc should be found");
    GenericRecord a = new GenericData.Record(answers.historicalSchemas().get(0));
    a.put("questionId", "q2");
    a.put("streamId", "cam");
    a.put("question", "what?");
    a.put("text", "a cat");
    a.put("firstFrameIndex", 1L);
    a.put("lastFrameIndex", 2L);
    a.put("frameCount", 2);
    a.put("tokensPerFrame", 4);
    a.put("promptTokens", 20);
    a.put("generatedTokens", 2);
    a.put("timingsMillis", java.util.Map.of());
    a.put("answeredAtMillis", 9L);
    out = new ByteArrayOutputStream();
    new BinaryMessageEncoder<GenericRecord>(GenericData.get(), answers.historicalSchemas().get(0))
        .encode(a, out);
    Answer read = answers.deserialize("deco.answers", out.toByteArray());
    assertEquals("a cat", read.getText());
    assertNull(read.getTemperature());
    assertNull(read.getLiveWindow());
  }

  @Test
  void readsGroundingWrittenWithThePlaceholderVersionUsingDefaults() throws Exception {
    AvroSerde<Grounding> serde = AvroSerde.of(Grounding.class);
    assertEquals(1, serde.historicalSchemas().size(), "history/Grounding.v1.avsc should be found");
    Schema v1 = serde.historicalSchemas().get(0);
    GenericRecord old = new GenericData.Record(v1);
    old.put("refId", "q-7");
    old.put("streamId", "cam-2");
    old.put("kind", "answer");
    old.put("frameIndices", List.of(3L));
    old.put("gridHeight", 1);
    old.put("gridWidth", 2);
    old.put("textToPatch", java.nio.ByteBuffer.wrap(Tensors.toF32(new float[] {0.25f, 0.75f})));
    old.put("producedAtMillis", 9L);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(old, out);
    Grounding g = serde.deserialize("deco.grounding", out.toByteArray());
    assertEquals("q-7", g.getRefId());
    assertEquals(List.of(3L), g.getFrameIndices());
    assertEquals("", g.getText());
    assertEquals(0, g.getTokensPerFrame());
    assertEquals(0, g.getTextToQuery().remaining());
    assertTrue(g.getWords().isEmpty());
  }

  @Test
  void oldSchemaIsUnknownWithoutHistory() throws Exception {
    AvroSerde<Question> current = AvroSerde.of(Question.class);
    AvroSerde<Question> noHistory = new AvroSerde<>(Question.class, List.of());
    Schema v1 = current.historicalSchemas().get(0);
    GenericRecord old = new GenericData.Record(v1);
    old.put("questionId", "q");
    old.put("streamId", "s");
    old.put("text", "t");
    old.put("askedAtMillis", 1L);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(old, out);
    SerializationException e =
        assertThrows(
            SerializationException.class,
            () -> noHistory.deserialize("deco.questions", out.toByteArray()));
    assertTrue(e.getMessage().contains("deco.questions"), e.getMessage());
    assertTrue(e.getMessage().contains("unknown writer schema fingerprint"), e.getMessage());
  }

  @Test
  void nullMapsToNull() {
    AvroSerde<Answer> serde = AvroSerde.of(Answer.class);
    assertNull(serde.serializer().serialize("t", null));
    assertNull(serde.deserializer().deserialize("t", null));
  }

  @Test
  void badInputGivesClearErrors() {
    AvroSerde<Frame> serde = AvroSerde.of(Frame.class);
    byte[] good = serde.serialize("deco.frames", Samples.frame());

    SerializationException tooShort =
        assertThrows(
            SerializationException.class,
            () -> serde.deserialize("deco.frames", new byte[] {(byte) 0xC3, 1, 2}));
    assertTrue(
        tooShort.getMessage().contains("deco.frames")
            && tooShort.getMessage().contains("truncated"),
        tooShort.getMessage());

    byte[] badMarker = good.clone();
    badMarker[0] = 0x00;
    SerializationException marker =
        assertThrows(
            SerializationException.class, () -> serde.deserialize("deco.frames", badMarker));
    assertTrue(marker.getMessage().contains("bad marker 00 01"), marker.getMessage());

    byte[] wrongType = AvroSerde.of(Question.class).serialize("x", Samples.question());
    SerializationException fp =
        assertThrows(
            SerializationException.class, () -> serde.deserialize("deco.frames", wrongType));
    assertTrue(fp.getMessage().contains("unknown writer schema fingerprint"), fp.getMessage());

    byte[] cut = Arrays.copyOf(good, good.length - 4);
    SerializationException truncated =
        assertThrows(SerializationException.class, () -> serde.deserialize("deco.frames", cut));
    assertTrue(
        truncated.getMessage().contains("deco.frames")
            && truncated.getMessage().contains("truncated"),
        truncated.getMessage());
  }

  @Test
  void topicsCarryMatchingSerdes() {
    Topics topics = Topics.of(TopicNames.withPrefix("it-1."));
    assertEquals(10, topics.all().size());
    assertEquals("it-1.deco.control", topics.control().name());
    assertEquals(BudgetControl.class, topics.control().type());
    assertEquals("it-1.deco.frame-tokens", topics.tokens().name());
    assertEquals(FrameTokens.class, topics.tokens().type());
    FrameTokens t = Samples.tokens();
    byte[] bytes = topics.tokens().valueSerde().serializer().serialize(topics.tokens().name(), t);
    assertEquals(
        t, topics.tokens().valueSerde().deserializer().deserialize(topics.tokens().name(), bytes));
    assertArrayEquals(
        "cam-1".getBytes(java.nio.charset.StandardCharsets.UTF_8),
        topics.tokens().keySerde().serializer().serialize("x", "cam-1"));
  }
}
