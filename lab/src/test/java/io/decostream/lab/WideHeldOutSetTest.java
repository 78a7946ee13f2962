package io.decostream.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.shapes.QuestionType;
import io.decostream.shapes.WideClips;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the shipped model must keep on the wider held-out set (issue 23 point 4): the first {@link
 * #VIDEOS} clips of {@code deco eval --wide} ({@link WideClips}: 336x336 to 640x360 frames, 6-10 s,
 * 5-36 px/s, five backgrounds), asked what deco eval asks them, each rendered at its own size
 * straight into the model facade as {@link HeldOutSetTest} does (no H.264). The pack's
 * preprocessing resizes the whole frame to the tower's square (no centre crop), so a shape near a
 * 16:9 frame's side edge is seen.
 */
@Timeout(300)
class WideHeldOutSetTest {

  static final int VIDEOS = 20;

  static List<HeldOutSetTest.Result> results;

  @BeforeAll
  static void answerTheSet() {
    List<WideClips.Clip> clips = new ArrayList<>();
    for (int i = 0; i < VIDEOS; i++) {
      clips.add(WideClips.clip(HeldOutSetTest.SEED, i));
    }
    results = HeldOutSetTest.run(HeldOutSetTest.PACK, HeldOutSetTest.SEED, clips);
    System.out.println(HeldOutSetTest.describe(results));
  }

  /**
   * Must-keep figures: per type at most one answer fewer than measured. Measured on this set with
   * one intra-op thread (2026-12-04, the shipped model with whole-frame preprocessing): color
   * 18/18, shape 19/20, count 20/20, position 15/17, motion 12/20, yes/no 18/20. Motion is the weak
   * type (issue 23 point 4 is open): slow movers called "not moving", directions confused.
   * {correct, asked} per type.
   */
  static final Map<QuestionType, int[]> MEASURED =
      Map.of(
          QuestionType.COLOR, new int[] {18, 18},
          QuestionType.SHAPE, new int[] {19, 20},
          QuestionType.COUNT, new int[] {20, 20},
          QuestionType.POSITION, new int[] {15, 17},
          QuestionType.MOTION, new int[] {12, 20},
          QuestionType.EXISTS, new int[] {18, 20});

  @Test
  void theShippedPackResizesTheWholeFrameWithoutACentreCrop() {
    // with shortest_edge + centre crop a 640x360 frame lost 22% of its width on each side
    io.decostream.nn.clip.ClipImageProcessor p =
        io.decostream.nn.clip.ClipImageProcessor.fromPreprocessorConfig(HeldOutSetTest.PACK);
    assertEquals(new io.decostream.nn.clip.ClipImageProcessor.Resize.Exact(168, 168), p.resize());
    assertEquals(168, p.cropWidth());
    assertEquals(168, p.cropHeight());
  }

  @Test
  void everyQuestionTypeKeepsItsAccuracyWithinOneAnswer() {
    String figures = HeldOutSetTest.describe(results);
    Map<QuestionType, int[]> got = HeldOutSetTest.perType(results);
    for (QuestionType t : QuestionType.values()) {
      int[] want = MEASURED.get(t);
      int[] c = got.get(t);
      assertEquals(want[1], c[1], t.label() + " questions asked\n" + figures);
      assertTrue(
          c[0] >= want[0] - 1,
          t.label() + ": " + c[0] + " of " + c[1] + " right, measured " + want[0] + "\n" + figures);
    }
  }
}
