package io.decostream.schemas;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/** One fully populated instance of every record type, for round-trip tests. */
final class Samples {

  private Samples() {}

  static VideoChunk chunk() {
    return VideoChunk.newBuilder()
        .setStreamId("cam-1")
        .setSequence(7)
        .setStartMicros(14_000_000L)
        .setDurationMicros(2_000_000L)
        .setContainer("mpegts")
        .setCodec("h264")
        .setWidth(336)
        .setHeight(336)
        .setFrameRate(29.97)
        .setSource("rtsp://example/cam1")
        .setData(ByteBuffer.wrap(new byte[] {0x47, 0x40, 0x11, 0x10}))
        .setStageMillis(Map.of("ingest", 1_700_000_000_000L))
        .build();
  }

  static Frame frame() {
    return Frame.newBuilder()
        .setStreamId("cam-1")
        .setFrameIndex(42)
        .setTimestampMicros(42_000_000L)
        .setChunkSequence(21)
        .setWidth(2)
        .setHeight(1)
        .setFormat(FrameFormat.RGB24)
        .setData(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6}))
        .setStageMillis(Map.of("ingest", 1L, "frames", 2L))
        .build();
  }

  static FrameTokens tokens() {
    float[] data = {0.5f, -1.25f, 3f, 65504f, 1e-5f, 0f};
    return FrameTokens.newBuilder()
        .setStreamId("cam-1")
        .setFrameIndex(42)
        .setTimestampMicros(42_000_000L)
        .setModelId("tiny")
        .setVisionLayer(23)
        .setSourceGridHeight(24)
        .setSourceGridWidth(24)
        .setGridHeight(1)
        .setGridWidth(2)
        .setPooling("avg")
        .setTokens(Tensors.encode(data, new int[] {2, 3}, DType.F16))
        .setStageMillis(Map.of("encoder", 3L))
        .build();
  }

  static Question question() {
    return Question.newBuilder()
        .setQuestionId("q-1")
        .setStreamId("cam-1")
        .setText("What is on the table?")
        .setAskedAtMillis(1_700_000_000_123L)
        .setMaxNewTokens(64)
        .setWantGrounding(true)
        .build();
  }

  static Answer answer() {
    return Answer.newBuilder()
        .setQuestionId("q-1")
        .setStreamId("cam-1")
        .setQuestion("What is on the table?")
        .setText("A red cup.")
        .setFirstFrameIndex(10)
        .setLastFrameIndex(42)
        .setFrameCount(33)
        .setTokensPerFrame(144)
        .setPromptTokens(4800)
        .setGeneratedTokens(5)
        .setTimingsMillis(Map.of("prefill", 812.5, "decode", 40.25))
        .setAnsweredAtMillis(1_700_000_001_000L)
        .setError(null)
        .build();
  }

  static Caption caption() {
    return Caption.newBuilder()
        .setCaptionId("cam-1:42")
        .setStreamId("cam-1")
        .setText("A person sits down.")
        .setFirstFrameIndex(33)
        .setLastFrameIndex(42)
        .setFirstTimestampMicros(33_000_000L)
        .setLastTimestampMicros(42_000_000L)
        .setPromptTokens(1500)
        .setGeneratedTokens(6)
        .setTimingsMillis(Map.of("total", 900.0))
        .setProducedAtMillis(5L)
        .build();
  }

  static Grounding grounding() {
    return Grounding.newBuilder()
        .setRefId("q-1")
        .setStreamId("cam-1")
        .setKind("answer")
        .setFrameIndices(List.of(41L, 42L))
        .setGridHeight(1)
        .setGridWidth(2)
        .setTextToPatch(ByteBuffer.wrap(Tensors.toF32(new float[] {0.1f, 0.9f, 0.3f, 0.7f})))
        .setProducedAtMillis(6L)
        .setText("a red circle")
        .setQuestion("what is it?")
        .setTokensPerFrame(1)
        .setPooling("avg")
        .setTextToQuery(ByteBuffer.wrap(Tensors.toF32(new float[] {0.4f, 0.6f})))
        .setTokens(List.of("a", "red", "circle"))
        .setWords(
            List.of(
                WordGrounding.newBuilder()
                    .setWord("red")
                    .setTokenIndices(List.of(1))
                    .setTextToPatch(
                        ByteBuffer.wrap(Tensors.toF32(new float[] {0f, 1f, 0.5f, 0.5f})))
                    .setTextToQuery(ByteBuffer.wrap(Tensors.toF32(new float[] {0.3f, 0.7f})))
                    .build()))
        .setTimingsMillis(Map.of("explain", 12.5))
        .build();
  }

  static DeadLetter deadLetter() {
    return DeadLetters.of(
        "frames",
        "deco.video-chunks",
        0,
        99L,
        "cam-1".getBytes(java.nio.charset.StandardCharsets.UTF_8),
        new byte[] {9, 9, 9},
        "cannot decode chunk",
        new IllegalStateException("no video stream"));
  }
}
