package io.decostream.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.WindowWeights;
import io.decostream.schemas.DType;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's grounding records (issue 4): for a question with wantGrounding (and captions when
 * configured) the backend's Text-to-Query rows become a Grounding on the grounding topic, averaged
 * over tokens and per word, mapped to the 24x24 patch grid with each frame's Query-to-Patch matrix
 * (avg windows; max weights shipped by the encoder).
 */
class WorkerGroundingTest {

  static final int DIM = 4;

  /**
   * Generates two tokens; token 0's relevance is all on visual token 0 (frame 0, pooled token 0),
   * token 1's all on the last visual token (last frame, last pooled token).
   */
  static final class ExplainingLlm implements AnswerBackend {
    final List<int[]> explained = new ArrayList<>();

    @Override
    public int contextLength() {
      return 4096;
    }

    @Override
    public int maxFrames(int tokensPerFrame, int reserved) {
      return (4096 - reserved) / tokensPerFrame;
    }

    @Override
    public Generated generate(
        List<float[]> frames, int tokensPerFrame, String prompt, int maxNewTokens) {
      return new Generated("red circle", new int[] {5, 6}, 100, 2, 1, 2, 3);
    }

    @Override
    public Explained explain(
        List<float[]> frames, int tokensPerFrame, String prompt, int[] tokenIds) {
      explained.add(tokenIds);
      int v = frames.size() * tokensPerFrame;
      float[][] rows = new float[2][v];
      rows[0][0] = 1f;
      rows[1][v - 1] = 1f;
      float[] mean = new float[v];
      mean[0] = 0.5f;
      mean[v - 1] = 0.5f;
      return new Explained(
          List.of("red", "circle"),
          rows,
          mean,
          List.of("red", "circle"),
          new int[][] {{0}, {1}},
          rows,
          7.5);
    }
  }

  @TempDir Path state;
  final Topics topics = Topics.of(TopicNames.defaults());
  final ExplainingLlm llm = new ExplainingLlm();

  TopologyTestDriver driver(WorkerConfig config) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "worker-grounding-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    return new TopologyTestDriver(WorkerTopology.build(config.withMaxBatch(0), llm), p);
  }

  static FrameTokens tokens(String stream, long index, String pooling) {
    int grid = 12;
    float[] v = new float[grid * grid * DIM];
    FrameTokens.Builder b =
        FrameTokens.newBuilder()
            .setStreamId(stream)
            .setFrameIndex(index)
            .setTimestampMicros(index * 1_000_000)
            .setModelId("fake")
            .setVisionLayer(2)
            .setSourceGridHeight(24)
            .setSourceGridWidth(24)
            .setGridHeight(grid)
            .setGridWidth(grid)
            .setPooling(pooling)
            .setTokens(Tensors.encode(v, new int[] {grid * grid, DIM}, DType.F16));
    if (pooling.equals("max")) {
      // the encoder's max weights: every window's maximum sits in its bottom-right patch
      float[] dense = new float[144 * 576];
      for (int r = 0; r < 12; r++) {
        for (int c = 0; c < 12; c++) {
          dense[(r * 12 + c) * 576 + (2 * r + 1) * 24 + 2 * c + 1] = 1f;
        }
      }
      b.setQueryToPatch(
          Tensors.encode(
              WindowWeights.compress(dense, 24, 24, 12, 12), new int[] {144, 4}, DType.F16));
    }
    return b.build();
  }

  static Question question(String stream, String id, boolean ground) {
    return Question.newBuilder()
        .setQuestionId(id)
        .setStreamId(stream)
        .setText("what is it?")
        .setAskedAtMillis(System.currentTimeMillis())
        .setWantGrounding(ground)
        .build();
  }

  TestInputTopic<String, FrameTokens> tokensIn(TopologyTestDriver d) {
    return d.createInputTopic(
        topics.tokens().name(),
        Serdes.String().serializer(),
        topics.tokens().valueSerde().serializer());
  }

  TestInputTopic<String, Question> questionsIn(TopologyTestDriver d) {
    return d.createInputTopic(
        topics.questions().name(),
        Serdes.String().serializer(),
        topics.questions().valueSerde().serializer());
  }

  TestOutputTopic<String, Grounding> groundingOut(TopologyTestDriver d) {
    return d.createOutputTopic(
        topics.grounding().name(),
        Serdes.String().deserializer(),
        topics.grounding().valueSerde().deserializer());
  }

  @Test
  void groundedQuestionsGetMapsOnThePatchGridAndOthersDoNot() {
    try (TopologyTestDriver d =
        driver(WorkerConfig.defaults().withCaptionEvery(0).withWindow(3, 64))) {
      for (int i = 0; i < 3; i++) {
        tokensIn(d).pipeInput("cam", tokens("cam", i, "avg"));
      }
      questionsIn(d).pipeInput("cam", question("cam", "plain", false));
      assertTrue(groundingOut(d).isEmpty(), "no grounding unless the question asks");
      questionsIn(d).pipeInput("cam", question("cam", "q-g", true));
      List<Grounding> out = groundingOut(d).readValuesToList();
      assertEquals(1, out.size());
      Grounding g = out.get(0);
      assertEquals("q-g", g.getRefId());
      assertEquals("answer", g.getKind());
      assertEquals("cam", g.getStreamId());
      assertEquals(List.of(0L, 1L, 2L), g.getFrameIndices());
      assertEquals(24, g.getGridHeight());
      assertEquals(144, g.getTokensPerFrame());
      assertEquals("avg", g.getPooling());
      assertEquals("red circle", g.getText());
      assertEquals(List.of("red", "circle"), g.getTokens());
      assertEquals(1, llm.explained.size());
      float[] ttp = Tensors.fromF32(Tensors.bytesOf(g.getTextToPatch()));
      assertEquals(3 * 576, ttp.length);
      // token 0 -> pooled token 0 of frame 0 -> its 2x2 window, 1/4 each; mean over 2 tokens halves
      // it
      float[] window = AdaptivePool2d.averagingMatrix(24, 24, 12, 12);
      for (int p = 0; p < 576; p++) {
        assertEquals(0.5f * window[p], ttp[p], 1e-6, "frame 0 patch " + p);
        assertEquals(0.5f * window[143 * 576 + p], ttp[2 * 576 + p], 1e-6, "frame 2 patch " + p);
        assertEquals(0f, ttp[576 + p], "frame 1 has no relevance");
      }
      assertEquals(2, g.getWords().size());
      float[] red = Tensors.fromF32(Tensors.bytesOf(g.getWords().get(0).getTextToPatch()));
      assertEquals(0.25f, red[0], 1e-6);
      assertEquals(0f, red[2 * 576 + 575], 1e-6);
      float[] circle = Tensors.fromF32(Tensors.bytesOf(g.getWords().get(1).getTextToPatch()));
      assertEquals(0.25f, circle[2 * 576 + 575], 1e-6);
      assertEquals(7.5, g.getTimingsMillis().get("explain"));
    }
  }

  @Test
  void maxPoolingUsesTheEncodersWeightsAndCaptionsCanBeGrounded() {
    try (TopologyTestDriver d =
        driver(
            WorkerConfig.defaults()
                .withCaptionEvery(2)
                .withWindow(2, 64)
                .withGroundCaptions(true))) {
      tokensIn(d).pipeInput("m", tokens("m", 0, "max"));
      tokensIn(d).pipeInput("m", tokens("m", 1, "max"));
      List<Grounding> out = groundingOut(d).readValuesToList();
      assertEquals(1, out.size(), "the caption after frame 1 is grounded");
      Grounding g = out.get(0);
      assertEquals("caption", g.getKind());
      assertEquals("m@1", g.getRefId());
      float[] ttp = Tensors.fromF32(Tensors.bytesOf(g.getTextToPatch()));
      // all of pooled token 0's relevance lands on patch (1,1), the bottom-right of its window
      assertEquals(0.5f, ttp[25], 1e-3);
      assertEquals(0f, ttp[0], 1e-6);
      assertEquals(0.5f, ttp[576 + 23 * 24 + 23], 1e-3);
    }
  }
}
