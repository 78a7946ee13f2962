package io.decostream.train;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.*;
import java.nio.file.Path;
import java.util.*;

/**
 * Motion questions on multi-shape 16-frame windows: for right and for wrong answers, the lookup,
 * ends and relay heads' mass on the named object (is a wrong answer a failed lookup, or a right
 * lookup read wrongly?), and how many wrong answers have a same-kind or a same-colour neighbour, or
 * a still subject.
 */
public class MotionErrProbe {
  public static void main(String[] a) throws Exception {
    try (TrainablePack p = TrainablePack.open(Path.of(a[0]))) {
      p.parameters().values().forEach(x -> x.setRequiresGradient(false));
      VideoQaForward fwd = new VideoQaForward(p);
      int scenes = a.length > 1 ? Integer.parseInt(a[1]) : 150;
      ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(336, 336, 16, 16);
      double[][] st = new double[2][4]; // [wrong?][lookup, ends, relay, n]
      int[] wrongWhy =
          new int[4]; // same kind, same colour, still subject, answered a neighbour's motion
      for (int i = 0; i < scenes; i++) {
        long seed = ShapesWorld.videoSeed(2000003L, i);
        Scene scene = SceneGenerator.generate(seed, 16);
        if (scene.shapes().size() < 2) continue;
        ShapesDataset.Sample s =
            ShapesDataset.sample(scene, spec.lastSecond(), spec, new SplittableRandom(seed));
        List<RgbImage> imgs =
            s.frames().stream().map(f -> new RgbImage(f.width(), f.height(), f.rgb())).toList();
        for (QaPair q : s.questions()) {
          if (q.type() != QuestionType.MOTION) continue;
          Shape subject = q.subject(scene).orElse(null);
          if (subject == null) continue;
          List<Box> boxes =
              s.frames().stream().map(f -> subject.referenceBox(f.timeSeconds())).toList();
          try (NDManager m = fwd.manager().newSubManager()) {
            VideoQaForward.Result r =
                fwd.forward(
                    m,
                    new ArrayList<>(
                        List.of(fwd.encoder().encode(imgs, q.question(), q.answer(), boxes))),
                    1.0,
                    AttendAt.ENDS);
            int w = r.exact()[0] ? 0 : 1;
            st[w][0] += r.attendMass();
            st[w][1] += r.endsMass();
            st[w][2] += r.relayMass();
            st[w][3]++;
            if (w == 1) {
              String said = fwd.decode(r.predicted()[0]).trim();
              boolean sameKind =
                  scene.shapes().stream().anyMatch(o -> o != subject && o.kind() == subject.kind());
              boolean sameColour =
                  scene.shapes().stream()
                      .anyMatch(o -> o != subject && o.color() == subject.color());
              boolean neighbour = saysANeighboursMotion(scene, subject, said);
              wrongWhy[0] += sameKind ? 1 : 0;
              wrongWhy[1] += sameColour ? 1 : 0;
              wrongWhy[2] += subject.motion() == Motion.STILL ? 1 : 0;
              wrongWhy[3] += neighbour ? 1 : 0;
              System.out.printf(
                  "%s | %s -> %s (expected %s; lookup %.2f ends %.2f relay %.2f)%n",
                  s.caption(),
                  q.question(),
                  said,
                  q.answer(),
                  r.attendMass(),
                  r.endsMass(),
                  r.relayMass());
            }
          }
        }
      }
      for (int w = 0; w < 2; w++) {
        double n = st[w][3];
        System.out.printf(
            "%s n %3d  lookup %.3f  ends %.3f  relay %.3f%n",
            w == 0 ? "right" : "wrong", (int) n, st[w][0] / n, st[w][1] / n, st[w][2] / n);
      }
      System.out.printf(
          "wrong: %d with a same-kind neighbour, %d with a same-colour one, %d still subjects, %d a "
              + "neighbour's motion%n",
          wrongWhy[0], wrongWhy[1], wrongWhy[2], wrongWhy[3]);
    }
  }

  /** Whether {@code said} starts with the motion of a shape other than {@code subject}. */
  private static boolean saysANeighboursMotion(Scene scene, Shape subject, String said) {
    return scene.shapes().stream()
        .anyMatch(
            o ->
                o != subject
                    && said.startsWith(
                        o.motion() == Motion.STILL
                            ? "not"
                            : o.motion().name().toLowerCase(Locale.ROOT)));
  }
}
