package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.shapes.Box;
import io.decostream.shapes.Motion;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.QuestionType;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.Shape;
import io.decostream.shapes.ShapeColor;
import io.decostream.shapes.ShapeKind;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attention loss of {@code deco train --attend-weight}: its targets, its value and that it
 * teaches attention.
 */
class AttendLossTest {

  private static Shape still(ShapeKind kind, ShapeColor color, double x, double y) {
    return new Shape(
        kind,
        color,
        SceneGenerator.generate(42, 16).shapes().get(0).rgb(),
        60,
        x,
        y,
        Motion.STILL,
        0);
  }

  @Test
  void theContentWordIsTheColourOrWithContentAnswerTheMotionOrCellTheQuestionAsksFor() {
    Shape redCircle = still(ShapeKind.CIRCLE, ShapeColor.RED, 60, 60);
    QaPair motion =
        new QaPair(QuestionType.MOTION, "which way is the red circle moving?", "not moving");
    QaPair where = new QaPair(QuestionType.POSITION, "where is the red circle?", "top left");
    QaPair colour = new QaPair(QuestionType.COLOR, "what color is the circle?", "red");
    QaPair exists = new QaPair(QuestionType.EXISTS, "is there a red circle?", "yes");
    ShapesExamples plain = new ShapesExamples(0, "describe the video.", java.util.Map.of(), 0);
    ShapesExamples answer =
        new ShapesExamples(0, "describe the video.", java.util.Map.of(), 0, true);
    for (QaPair q : List.of(motion, where, colour, exists)) {
      assertEquals(
          "red", plain.contentWord(redCircle, q), "the recorded recipes: always the colour");
      assertEquals("", answer.contentWord(null, q), "no single object named, no content target");
    }
    assertEquals("not", answer.contentWord(redCircle, motion));
    assertEquals("top", answer.contentWord(redCircle, where));
    assertEquals("red", answer.contentWord(redCircle, colour));
    assertEquals("red", answer.contentWord(redCircle, exists));
    // the draw itself is unchanged by the flag: same windows, questions and boxes, only the content
    // word differs
    java.util.SplittableRandom r1 = new java.util.SplittableRandom(9);
    java.util.SplittableRandom r2 = new java.util.SplittableRandom(9);
    int differ = 0;
    for (int i = 0; i < 40; i++) {
      Example a = plain.next(r1, 2);
      Example b = answer.next(r2, 2);
      assertEquals(a.question(), b.question());
      assertEquals(a.attend(), b.attend());
      if (!a.contentWord().equals(b.contentWord())) {
        differ++;
        assertTrue(a.kind().equals("motion") || a.kind().equals("position"), a.kind());
        assertEquals(b.target().split(" ")[0], b.contentWord());
      }
    }
    assertTrue(differ > 0, "some motion or position question in 40 draws");
  }

  @Test
  void trainingExamplesCarryOneBoxPerFrameExactlyWhenTheQuestionNamesOneShape() {
    ShapesExamples src = new ShapesExamples(0, "describe the video.");
    java.util.SplittableRandom r = new java.util.SplittableRandom(3);
    int withBoxes = 0;
    for (int i = 0; i < 40; i++) {
      Example e = src.next(r, 3);
      if (e.kind().equals("count") || e.kind().equals("caption")) {
        assertTrue(e.attend().isEmpty(), e.question());
      }
      if (!e.attend().isEmpty()) {
        assertEquals(3, e.attend().size());
        withBoxes++;
      }
    }
    assertTrue(withBoxes > 20, "examples with boxes: " + withBoxes);
  }

  @Test
  void maskMarksTheTokensTheBoxCovers(@TempDir Path dir) {
    TinyPack.write(dir, TrainingForwardTest.spec(), 5); // 28 px frames, 2x2 pooled tokens of 14 px
    try (TrainablePack pack = TrainablePack.open(dir)) {
      VideoQaForward fwd = new VideoQaForward(pack);
      List<RgbImage> frames = TrainingForwardTest.solid(2, 200, 30, 30);
      // frame 0: the top left token only; frame 1: straddles the bottom two, 1 px into the top ones
      // (under 10%)
      ExampleEncoder.Encoded e =
          fwd.encoder()
              .encode(
                  frames,
                  "where is the red circle?",
                  "top left",
                  List.of(new Box(0, 0, 12, 12), new Box(3, 13, 25, 28)));
      assertArrayEquals(new float[] {1, 0, 0, 0, 0, 0, 1, 1}, e.attend(), 0f);
      assertNull(fwd.encoder().encode(frames, "how many shapes are there?", "one").attend());
      // the naming word: the last colour or kind word of the question
      int[] ids = e.questionIds();
      assertEquals("circle", pack.tokenizer().decode(new int[] {ids[e.namingWord()]}, true).trim());
      assertEquals(
          -1, fwd.encoder().encode(frames, "how many shapes are there?", "one").namingWord());
    }
  }

  @Test
  void theLossAddsMinusLogOfTheLookupHeadsMassAndTrainingRaisesThatMass(@TempDir Path dir) {
    TinyPack.write(dir, TrainingForwardTest.spec(), 5);
    try (TrainablePack pack = TrainablePack.open(dir)) {
      VideoQaForward fwd = new VideoQaForward(pack);
      List<RgbImage> frames = TrainingForwardTest.solid(2, 200, 30, 30);
      List<Box> topLeft = List.of(new Box(0, 0, 14, 14), new Box(0, 0, 14, 14));
      List<ExampleEncoder.Encoded> batch =
          List.of(
              fwd.encoder().encode(frames, "where is the red circle?", "top left", topLeft),
              fwd.encoder().encode(frames, "how many shapes are there?", "one"));
      double plain;
      double with;
      double mass;
      try (NDManager m = pack.manager().newSubManager()) {
        plain = fwd.forward(m, batch).loss().getFloat();
        VideoQaForward.Result r = fwd.forward(m, batch, 0.5);
        with = r.loss().getFloat();
        mass = r.attendMass();
        assertEquals(1, r.attendExamples());
      }
      // 2 of the 8 visual tokens: the untrained lookup head puts well under all its mass there
      assertEquals(0, LookupLoss.lookupHead(2, 4));
      assertEquals(12, LookupLoss.lookupHead(4, 6));
      assertEquals(6, LookupLoss.lookupHead(AttendAt.WORD, 4, 6));
      assertEquals(4, LookupLoss.lookupHead(AttendAt.WORD, 2, 4));
      assertTrue(mass > 0 && mass < 0.9, "mass " + mass);
      assertEquals(plain + 0.5 * -Math.log(mass + 1e-6), with, 1e-4);
      // at the naming word: the lookup from the word's row plus the relay from the answer row to
      // the word
      try (NDManager m = pack.manager().newSubManager()) {
        VideoQaForward.Result r = fwd.forward(m, batch, 0.5, AttendAt.WORD);
        assertTrue(
            r.attendMass() > 0 && r.attendMass() < 1 && r.relayMass() > 0 && r.relayMass() < 1,
            r.toString());
        assertEquals(
            plain + 0.5 * (-Math.log(r.attendMass() + 1e-6) - Math.log(r.relayMass() + 1e-6)),
            r.loss().getFloat(),
            1e-4);
      }

      double after = train(pack, m -> fwd.forward(m, batch, 1.0)).attendMass();
      assertTrue(after > Math.max(0.9, mass + 0.2), "attended mass " + mass + " -> " + after);
    }
  }

  @Test
  void theContentLossTeachesTheNamingWordToPredictTheObjectsColour(@TempDir Path dir) {
    TinyPack.write(dir, TrainingForwardTest.spec(), 5);
    try (TrainablePack pack = TrainablePack.open(dir)) {
      VideoQaForward fwd = new VideoQaForward(pack);
      List<ExampleEncoder.Encoded> batch = redCircle(fwd, new Box(0, 0, 14, 14));
      assertEquals(pack.tokenizer().encode("red", false)[0], batch.get(0).contentId());
      assertEquals(-1, batch.get(1).contentId());
      double before = contentPart(fwd, pack, batch);
      assertTrue(
          before > 1, "an untrained model does not predict the colour at the word: " + before);
      train(pack, m -> fwd.forward(m, batch, 0, AttendAt.WORD, 1.0));
      double after = contentPart(fwd, pack, batch);
      assertTrue(after < 0.2, "content cross-entropy " + before + " -> " + after);
    }
  }

  @Test
  void theContentLossAtAnInnerLayerIsReadOffTheWordAsItEntersThatLayer(@TempDir Path dir) {
    TinyPack.write(dir, TrainingForwardTest.spec(), 5);
    try (TrainablePack pack = TrainablePack.open(dir)) {
      VideoQaForward fwd = new VideoQaForward(pack);
      List<ExampleEncoder.Encoded> batch = redCircle(fwd, new Box(0, 0, 14, 14));
      int layers = pack.llm().layerCount();
      assertEquals(2, layers);
      double inner;
      try (NDManager m = pack.manager().newSubManager()) {
        double last = fwd.forward(m, batch, 0, AttendAt.WORD, 1.0).contentLoss();
        // the lens on the residual stream after the last layer is the last layer's own prediction
        assertEquals(
            last,
            fwd.forward(m, batch, new AuxLosses(0, AttendAt.WORD, 1.0, layers, 0, 0)).contentLoss(),
            1e-4);
        VideoQaForward.Result at1 =
            fwd.forward(m, batch, new AuxLosses(0, AttendAt.WORD, 1.0, 1, 0, 0));
        inner = at1.contentLoss();
        assertTrue(
            Math.abs(inner - last) > 1e-3,
            "layer 1's input is another state than the output: " + inner);
        // the loss adds exactly that cross-entropy, at weight 1
        assertEquals(fwd.forward(m, batch).loss().getFloat() + inner, at1.loss().getFloat(), 1e-4);
        assertThrows(
            IllegalArgumentException.class,
            () -> fwd.forward(m, batch, new AuxLosses(0, AttendAt.WORD, 1.0, layers + 1, 0, 0)));
        for (int bad : new int[] {0, -2}) {
          assertThrows(
              IllegalArgumentException.class,
              () -> new AuxLosses(0, AttendAt.WORD, 1.0, bad, 0, 0));
        }
        assertThrows(
            IllegalArgumentException.class,
            () -> new AuxLosses(0.5, AttendAt.ANSWER, 1.0, 1, 0, 0),
            "no naming word row to read");
      }
      assertTrue(inner > 1, "an untrained model does not predict the colour there: " + inner);
      train(pack, m -> fwd.forward(m, batch, new AuxLosses(0, AttendAt.WORD, 1.0, 1, 0, 0)));
      try (NDManager m = pack.manager().newSubManager()) {
        double after =
            fwd.forward(m, batch, new AuxLosses(0, AttendAt.WORD, 1.0, 1, 0, 0)).contentLoss();
        assertTrue(
            after < 0.2, "content cross-entropy at layer 1's input " + inner + " -> " + after);
      }
    }
  }

  @Test
  void theStrayLossTeachesTheAnswerRowToLeaveTheVisualTokensOutsideTheObject(@TempDir Path dir) {
    TinyPack.write(dir, TrainingForwardTest.spec(), 5);
    try (TrainablePack pack = TrainablePack.open(dir)) {
      VideoQaForward fwd = new VideoQaForward(pack);
      List<ExampleEncoder.Encoded> batch = redCircle(fwd, new Box(0, 0, 14, 14));
      AuxLosses stray = new AuxLosses(0, AttendAt.WORD, 0, -1, 1.0, 0);
      VideoQaForward.Result before;
      try (NDManager m = pack.manager().newSubManager()) {
        before = fwd.forward(m, batch, stray);
        // the loss adds exactly the reported mass at weight 1; the count question has no object and
        // no stray loss
        assertEquals(
            fwd.forward(m, batch).loss().getFloat() + before.strayMass(),
            before.loss().getFloat(),
            1e-5);
        assertEquals(1, before.attendExamples());
        assertTrue(
            Double.isNaN(fwd.forward(m, batch, AuxLosses.NONE).strayMass()), "off at weight 0");
      }
      // 6 of the 8 visual tokens lie outside the object: an untrained answer row spreads some mass
      // over them
      assertTrue(
          before.strayMass() > 0.05 && before.strayMass() < 1, "stray mass " + before.strayMass());
      VideoQaForward.Result after = train(pack, m -> fwd.forward(m, batch, stray));
      assertTrue(
          after.strayMass() < before.strayMass() / 5,
          "stray mass " + before.strayMass() + " -> " + after.strayMass());
    }
  }

  @Test
  void theMapLossMeasuresTheRolledOutShareInsideTheGrownBoxAndTrainingRaisesIt(@TempDir Path dir) {
    TinyPack.write(dir, TrainingForwardTest.spec(), 5);
    try (TrainablePack pack = TrainablePack.open(dir)) {
      VideoQaForward fwd = new VideoQaForward(pack);
      // 28 px frames, 7 px patches, 2x2 tokens: the box grown by one patch to (-7,-7)-(21,21) holds
      // all of the top
      // left token's patches, half of the top right and bottom left ones', a quarter of the bottom
      // right one's
      List<ExampleEncoder.Encoded> batch = redCircle(fwd, new Box(0, 0, 14, 14));
      assertArrayEquals(
          new float[] {1, 0.5f, 0.5f, 0.25f},
          java.util.Arrays.copyOfRange(batch.get(0).insideGrown(), 4, 8));
      List<ExampleEncoder.Encoded> everywhere = redCircle(fwd, new Box(0, 0, 28, 28));
      AuxLosses map = new AuxLosses(0, AttendAt.WORD, 0, -1, 0, 1.0);
      VideoQaForward.Result before;
      try (NDManager m = pack.manager().newSubManager()) {
        before = fwd.forward(m, batch, map);
        // an untrained map lies partly outside; the loss adds exactly -log of the share (weight 1,
        // one example)
        assertTrue(
            before.mapShare() > 0.25 && before.mapShare() < 0.95, "share " + before.mapShare());
        assertEquals(
            fwd.forward(m, batch).loss().getFloat() - Math.log(before.mapShare() + 1e-6),
            before.loss().getFloat(),
            1e-4);
        assertTrue(
            Double.isNaN(fwd.forward(m, batch, AuxLosses.NONE).mapShare()), "off at weight 0");
        // a box over the whole frame holds all of the map, whatever the attention
        assertEquals(1.0, fwd.forward(m, everywhere, map).mapShare(), 1e-5);
      }
      VideoQaForward.Result after = train(pack, m -> fwd.forward(m, batch, map));
      // a share above the three partial tokens' best (0.5) needs the map on the one token wholly
      // inside
      assertTrue(after.mapShare() > 0.9, "share " + before.mapShare() + " -> " + after.mapShare());
    }
  }

  @Test
  void theEndsHeadsLearnToLookAtTheObjectInTheLatestAndInTheFirstFrame(@TempDir Path dir) {
    TinyPack.write(dir, TrainingForwardTest.spec(), 5);
    try (TrainablePack pack = TrainablePack.open(dir)) {
      VideoQaForward fwd = new VideoQaForward(pack);
      List<RgbImage> frames = TrainingForwardTest.solid(2, 200, 30, 30);
      // the object moves from the top left token (first frame) to the bottom right one (latest
      // frame): each end head
      // is scored on its own frame's token only, so high mass on both means each looks at its own
      // frame
      List<Box> moving = List.of(new Box(0, 0, 14, 14), new Box(14, 14, 28, 28));
      List<ExampleEncoder.Encoded> batch =
          withCount(fwd, frames, "which way is the red circle moving?", "right", moving, "right");
      double word;
      double withEnds;
      VideoQaForward.Result ends;
      try (NDManager m = pack.manager().newSubManager()) {
        word = fwd.forward(m, batch, 0.5, AttendAt.WORD).loss().getFloat();
        ends = fwd.forward(m, batch, 0.5, AttendAt.ENDS, 0);
        withEnds = ends.loss().getFloat();
        assertTrue(Double.isNaN(fwd.forward(m, batch, 0.5, AttendAt.WORD).endsMass()));
      }
      // each end head has one of the 8 visual tokens to find: little mass before training; the
      // added loss is
      // 0.5 (-log latest - log first) >= -log(mean of the two), by Jensen
      assertTrue(ends.endsMass() > 0 && ends.endsMass() < 0.5, "ends mass " + ends.endsMass());
      assertTrue(
          withEnds - word >= -Math.log(ends.endsMass()) - 1e-4,
          word + " -> " + withEnds + " at mass " + ends.endsMass());
      assertEquals(1, ends.attendExamples());
      assertTrue(Double.isNaN(ends.contentLoss()), "no content loss asked for");

      VideoQaForward.Result after =
          train(pack, m -> fwd.forward(m, batch, 1.0, AttendAt.ENDS, 1.0));
      assertTrue(
          after.endsMass() > 0.9, "ends mass " + ends.endsMass() + " -> " + after.endsMass());
      assertTrue(after.attendMass() > 0.9 && after.relayMass() > 0.9, after.toString());
      // the reported content loss is the content cross-entropy alone
      assertEquals(contentPart(fwd, pack, batch), after.contentLoss(), 0.05);
    }
  }

  /**
   * One example naming an object (with its boxes and content word), then a count question that
   * names none.
   */
  private static List<ExampleEncoder.Encoded> withCount(
      VideoQaForward fwd,
      List<RgbImage> frames,
      String question,
      String answer,
      List<Box> boxes,
      String contentWord) {
    return List.of(
        fwd.encoder().encode(frames, question, answer, boxes, contentWord),
        fwd.encoder().encode(frames, "how many shapes are there?", "one"));
  }

  /**
   * {@code what color is the circle?} → red on two solid 28 px frames with the circle in {@code
   * box} in both, then the count question ({@link #withCount}).
   */
  private static List<ExampleEncoder.Encoded> redCircle(VideoQaForward fwd, Box box) {
    return withCount(
        fwd,
        TrainingForwardTest.solid(2, 200, 30, 30),
        "what color is the circle?",
        "red",
        List.of(box, box),
        "red");
  }

  /**
   * 40 AdamW steps (lr 3e-3, clip 1) on the loss {@code step} computes; returns the last step's
   * result.
   */
  private static VideoQaForward.Result train(
      TrainablePack pack, java.util.function.Function<NDManager, VideoQaForward.Result> step) {
    AdamW opt = new AdamW(pack.parameters(), 0.9, 0.98, 1e-8, 0, n -> false);
    VideoQaForward.Result last = null;
    for (int i = 0; i < 40; i++) {
      try (NDManager m = pack.manager().newSubManager();
          GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        last = step.apply(m);
        gc.backward(last.loss());
      }
      opt.clipGlobalNorm(1.0);
      opt.update(3e-3);
    }
    return last;
  }

  /** The content loss alone: the loss with it (weight 1) minus the loss without. */
  private static double contentPart(
      VideoQaForward fwd, TrainablePack pack, List<ExampleEncoder.Encoded> batch) {
    try (NDManager m = pack.manager().newSubManager()) {
      return fwd.forward(m, batch, 0, AttendAt.WORD, 1.0).loss().getFloat()
          - fwd.forward(m, batch).loss().getFloat();
    }
  }
}
