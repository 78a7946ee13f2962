package io.decostream.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.shapes.Box;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Characterization of the training forward's losses (issue 19, point 2): the total loss, the token
 * counts and every auxiliary figure for a fixed batch on a fixed tiny pack, under the shipped
 * chain's loss settings and their variants, recorded from the forward as it was before the losses
 * became classes. A refactoring of the losses must reproduce them (relative 1e-5).
 */
class TrainingLossCharacterizationTest {

  /** The recorded figures, by variant and name; set {@code -Dcharacterize.print=true} to redo. */
  private static final Map<String, Double> RECORDED = new LinkedHashMap<>();

  static {
    // recorded from VideoQaForward at c0ac5d3 (one forward method, before the loss classes)
    RECORDED.put("chain.loss", 24.95805549621582);
    RECORDED.put("chain.targetTokens", 11.0);
    RECORDED.put("chain.correctTokens", 0.0);
    RECORDED.put("chain.attendExamples", 4.0);
    RECORDED.put("chain.attendMass", 0.050179120153188705);
    RECORDED.put("chain.attended0", 0.01735401712357998);
    RECORDED.put("chain.attended1", 0.009319733828306198);
    RECORDED.put("chain.attended2", 0.0809330940246582);
    RECORDED.put("chain.attended3", Double.NaN);
    RECORDED.put("chain.attended4", 0.093109630048275);
    RECORDED.put("chain.relayMass", 0.028329765424132347);
    RECORDED.put("chain.endsMass", 0.03553980588912964);
    RECORDED.put("chain.contentLoss", 5.841188430786133);
    RECORDED.put("chain.strayMass", 0.06235141307115555);
    RECORDED.put("chain.mapShare", 0.7501019239425659);
    RECORDED.put("chain.gradNorm", 36.35533924664813);
    RECORDED.put("endsLens1.loss", 23.017669677734375);
    RECORDED.put("endsLens1.targetTokens", 11.0);
    RECORDED.put("endsLens1.correctTokens", 0.0);
    RECORDED.put("endsLens1.attendExamples", 4.0);
    RECORDED.put("endsLens1.attendMass", 0.050179120153188705);
    RECORDED.put("endsLens1.attended0", 0.01735401712357998);
    RECORDED.put("endsLens1.attended1", 0.009319733828306198);
    RECORDED.put("endsLens1.attended2", 0.0809330940246582);
    RECORDED.put("endsLens1.attended3", Double.NaN);
    RECORDED.put("endsLens1.attended4", 0.093109630048275);
    RECORDED.put("endsLens1.relayMass", 0.028329765424132347);
    RECORDED.put("endsLens1.endsMass", 0.03553980588912964);
    RECORDED.put("endsLens1.contentLoss", 5.966116428375244);
    RECORDED.put("endsLens1.strayMass", 0.06235141307115555);
    RECORDED.put("endsLens1.mapShare", Double.NaN);
    RECORDED.put("endsLens1.gradNorm", 24.49695109596312);
    RECORDED.put("word.loss", 13.001397132873535);
    RECORDED.put("word.targetTokens", 11.0);
    RECORDED.put("word.correctTokens", 0.0);
    RECORDED.put("word.attendExamples", 4.0);
    RECORDED.put("word.attendMass", 0.050179120153188705);
    RECORDED.put("word.attended0", 0.01735401712357998);
    RECORDED.put("word.attended1", 0.009319733828306198);
    RECORDED.put("word.attended2", 0.0809330940246582);
    RECORDED.put("word.attended3", Double.NaN);
    RECORDED.put("word.attended4", 0.093109630048275);
    RECORDED.put("word.relayMass", 0.028329765424132347);
    RECORDED.put("word.endsMass", Double.NaN);
    RECORDED.put("word.contentLoss", 5.841188430786133);
    RECORDED.put("word.strayMass", Double.NaN);
    RECORDED.put("word.mapShare", Double.NaN);
    RECORDED.put("word.gradNorm", 16.181210885330085);
    RECORDED.put("wordStrayMap.loss", 13.412457466125488);
    RECORDED.put("wordStrayMap.targetTokens", 11.0);
    RECORDED.put("wordStrayMap.correctTokens", 0.0);
    RECORDED.put("wordStrayMap.attendExamples", 4.0);
    RECORDED.put("wordStrayMap.attendMass", 0.050179120153188705);
    RECORDED.put("wordStrayMap.attended0", 0.01735401712357998);
    RECORDED.put("wordStrayMap.attended1", 0.009319733828306198);
    RECORDED.put("wordStrayMap.attended2", 0.0809330940246582);
    RECORDED.put("wordStrayMap.attended3", Double.NaN);
    RECORDED.put("wordStrayMap.attended4", 0.093109630048275);
    RECORDED.put("wordStrayMap.relayMass", 0.028329765424132347);
    RECORDED.put("wordStrayMap.endsMass", Double.NaN);
    RECORDED.put("wordStrayMap.contentLoss", 5.841188430786133);
    RECORDED.put("wordStrayMap.strayMass", 0.06235141307115555);
    RECORDED.put("wordStrayMap.mapShare", 0.7501019239425659);
    RECORDED.put("wordStrayMap.gradNorm", 16.41701317521414);
    RECORDED.put("answer.loss", 11.04403018951416);
    RECORDED.put("answer.targetTokens", 11.0);
    RECORDED.put("answer.correctTokens", 0.0);
    RECORDED.put("answer.attendExamples", 4.0);
    RECORDED.put("answer.attendMass", 0.019825953990221024);
    RECORDED.put("answer.attended0", 0.02527906373143196);
    RECORDED.put("answer.attended1", 0.003332511056214571);
    RECORDED.put("answer.attended2", 0.033986303955316544);
    RECORDED.put("answer.attended3", Double.NaN);
    RECORDED.put("answer.attended4", 0.016705943271517754);
    RECORDED.put("answer.relayMass", Double.NaN);
    RECORDED.put("answer.endsMass", Double.NaN);
    RECORDED.put("answer.contentLoss", 5.841188430786133);
    RECORDED.put("answer.strayMass", 0.06235141307115555);
    RECORDED.put("answer.mapShare", 0.7501019239425659);
    RECORDED.put("answer.gradNorm", 14.4309186488632);
    RECORDED.put("answerOnly.loss", 7.743551731109619);
    RECORDED.put("answerOnly.targetTokens", 11.0);
    RECORDED.put("answerOnly.correctTokens", 0.0);
    RECORDED.put("answerOnly.attendExamples", 4.0);
    RECORDED.put("answerOnly.attendMass", 0.019825953990221024);
    RECORDED.put("answerOnly.attended0", 0.02527906373143196);
    RECORDED.put("answerOnly.attended1", 0.003332511056214571);
    RECORDED.put("answerOnly.attended2", 0.033986303955316544);
    RECORDED.put("answerOnly.attended3", Double.NaN);
    RECORDED.put("answerOnly.attended4", 0.016705943271517754);
    RECORDED.put("answerOnly.relayMass", Double.NaN);
    RECORDED.put("answerOnly.endsMass", Double.NaN);
    RECORDED.put("answerOnly.contentLoss", Double.NaN);
    RECORDED.put("answerOnly.strayMass", Double.NaN);
    RECORDED.put("answerOnly.mapShare", Double.NaN);
    RECORDED.put("answerOnly.gradNorm", 11.455712742421309);
    RECORDED.put("none.loss", 6.479413986206055);
    RECORDED.put("none.targetTokens", 11.0);
    RECORDED.put("none.correctTokens", 0.0);
    RECORDED.put("none.attendExamples", 0.0);
    RECORDED.put("none.attendMass", Double.NaN);
    RECORDED.put("none.attended0", Double.NaN);
    RECORDED.put("none.attended1", Double.NaN);
    RECORDED.put("none.attended2", Double.NaN);
    RECORDED.put("none.attended3", Double.NaN);
    RECORDED.put("none.attended4", Double.NaN);
    RECORDED.put("none.relayMass", Double.NaN);
    RECORDED.put("none.endsMass", Double.NaN);
    RECORDED.put("none.contentLoss", Double.NaN);
    RECORDED.put("none.strayMass", Double.NaN);
    RECORDED.put("none.mapShare", Double.NaN);
    RECORDED.put("none.gradNorm", 10.365205898802532);
  }

  /** The loss settings under test: the chain's last legs (v6), its earlier legs and no loss. */
  private static Map<String, AuxLosses> variants() {
    Map<String, AuxLosses> v = new LinkedHashMap<>();
    v.put("chain", aux(AttendAt.ENDS, 1.0, 0.5, 2, 2.0, 1.0));
    v.put("endsLens1", aux(AttendAt.ENDS, 0.5, 1.5, 1, 0.5, 0));
    v.put("word", aux(AttendAt.WORD, 0.5, 0.5, -1, 0, 0));
    v.put("wordStrayMap", aux(AttendAt.WORD, 0.5, 0.5, -1, 1.5, 1.0));
    v.put("answer", aux(AttendAt.ANSWER, 0.3, 0.5, -1, 1.0, 1.0));
    v.put("answerOnly", aux(AttendAt.ANSWER, 0.3, 0, -1, 0, 0));
    v.put("none", AuxLosses.NONE);
    return v;
  }

  /** The chain's loss options (attend weight and place, content weight and layer, stray, map). */
  private static AuxLosses aux(
      AttendAt at, double attend, double content, int layer, double stray, double map) {
    return new AuxLosses(attend, at, content, layer, stray, map);
  }

  /** Two 28 px frames of seeded noise with a brighter square where the box is. */
  private static List<RgbImage> frames(long seed, List<Box> boxes) {
    SplittableRandom r = new SplittableRandom(seed);
    List<RgbImage> out = new ArrayList<>();
    for (int f = 0; f < 2; f++) {
      byte[] rgb = new byte[28 * 28 * 3];
      for (int y = 0; y < 28; y++) {
        for (int x = 0; x < 28; x++) {
          boolean in = !boxes.isEmpty() && boxes.get(f).contains(x + 0.5, y + 0.5);
          for (int c = 0; c < 3; c++) {
            rgb[3 * (y * 28 + x) + c] = (byte) (in ? 150 + 30 * c : r.nextInt(60));
          }
        }
      }
      out.add(new RgbImage(28, 28, rgb));
    }
    return out;
  }

  private static ExampleEncoder.Encoded example(
      VideoQaForward fwd,
      long seed,
      String question,
      String answer,
      List<Box> boxes,
      String contentWord) {
    return fwd.encoder().encode(frames(seed, boxes), question, answer, boxes, contentWord);
  }

  /** Questions of different lengths (right padding), boxes here and there, one with no object. */
  private static List<ExampleEncoder.Encoded> batch(VideoQaForward fwd) {
    return List.of(
        example(
            fwd,
            1,
            "where is the red circle?",
            "top left",
            List.of(new Box(0, 0, 12, 12), new Box(3, 13, 25, 28)),
            "top"),
        example(
            fwd,
            2,
            "which way is the blue square moving?",
            "right",
            List.of(new Box(0, 0, 14, 14), new Box(14, 14, 28, 28)),
            "right"),
        example(
            fwd,
            3,
            "what color is the circle?",
            "red",
            List.of(new Box(5, 5, 20, 17), new Box(6, 6, 21, 18)),
            "red"),
        example(fwd, 4, "how many shapes are there?", "two", List.of(), ""),
        example(
            fwd,
            5,
            "what shape is the green object?",
            "triangle",
            List.of(new Box(14, 0, 28, 10), new Box(16, 2, 27, 13)),
            "green"));
  }

  private static void figures(Map<String, Double> out, String v, VideoQaForward.Result r) {
    out.put(v + ".loss", (double) r.loss().getFloat());
    out.put(v + ".targetTokens", (double) r.targetTokens());
    out.put(v + ".correctTokens", (double) r.correctTokens());
    out.put(v + ".attendExamples", (double) r.attendExamples());
    out.put(v + ".attendMass", r.attendMass());
    for (int i = 0; i < r.attended().length; i++) {
      out.put(v + ".attended" + i, r.attended()[i]);
    }
    out.put(v + ".relayMass", r.relayMass());
    out.put(v + ".endsMass", r.endsMass());
    out.put(v + ".contentLoss", r.contentLoss());
    out.put(v + ".strayMass", r.strayMass());
    out.put(v + ".mapShare", r.mapShare());
  }

  @Test
  void theLossesAndTheirFiguresAreThoseRecordedBeforeTheRefactoring(@TempDir Path dir) {
    TinyPack.write(dir, TrainingForwardTest.spec(), 5);
    Map<String, Double> got = new LinkedHashMap<>();
    try (TrainablePack pack = TrainablePack.open(dir)) {
      VideoQaForward fwd = new VideoQaForward(pack);
      List<ExampleEncoder.Encoded> batch = batch(fwd);
      AdamW opt = new AdamW(pack.parameters(), 0.9, 0.98, 1e-8, 0, n -> false);
      for (Map.Entry<String, AuxLosses> v : variants().entrySet()) {
        opt.zeroGradients();
        try (NDManager m = pack.manager().newSubManager();
            GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          VideoQaForward.Result r = fwd.forward(m, batch, v.getValue());
          figures(got, v.getKey(), r);
          gc.backward(r.loss());
        }
        // the gradients too: the same loss made of the same graph
        got.put(v.getKey() + ".gradNorm", opt.clipGlobalNorm(Double.MAX_VALUE));
      }
      opt.zeroGradients();
    }
    if (Boolean.getBoolean("characterize.print")) {
      got.forEach(
          (k, x) ->
              System.out.println(
                  "    RECORDED.put(\""
                      + k
                      + "\", "
                      + (Double.isNaN(x) ? "Double.NaN" : Double.toString(x))
                      + ");"));
      return;
    }
    assertEquals(RECORDED.keySet(), got.keySet());
    for (Map.Entry<String, Double> e : RECORDED.entrySet()) {
      double want = e.getValue();
      double have = got.get(e.getKey());
      if (Double.isNaN(want)) {
        assertEquals(want, have, e.getKey());
      } else {
        assertEquals(want, have, 1e-5 * Math.max(1e-3, Math.abs(want)), e.getKey());
      }
    }
  }
}
