package io.decostream.train;

import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.Box;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.QuestionType;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.Shape;
import io.decostream.shapes.ShapeKind;
import io.decostream.shapes.ShapesDataset;
import io.decostream.shapes.ShapesWorld;
import io.decostream.shapes.WideClips;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Training examples from ShapesWorld (issue 5): a fresh random scene per example, a window of
 * exactly the asked number of frames sampled at 1 fps (whole seconds, as the frames stage samples
 * real video) ending at a random second, rendered at the pipeline's 336x336 (the pack's own
 * preprocessing then resizes them, as the encoder does), and either one of the questions that may
 * be asked of that window (question types uniform among those allowed, or drawn with the given
 * weights per type) with its answer, or the caption prompt with the window's caption.
 */
public final class ShapesExamples implements ExampleSource {

  private final double captionFraction;
  private final String captionPrompt;
  private final int size;
  private final double clipSeconds;
  private final Map<QuestionType, Double> weights;

  /** All weights 1: the original draw, kept so that recorded recipes replay exactly. */
  private final boolean uniform;

  private final double sameColourFraction;
  private final double sameKindFraction;
  private final boolean contentAnswer;
  private final double wideFraction;

  /**
   * @param captionFraction share of caption examples (0..1)
   * @param captionPrompt the worker's caption instruction (llm-worker {@code captionPrompt})
   */
  public ShapesExamples(double captionFraction, String captionPrompt) {
    this(captionFraction, captionPrompt, Map.of());
  }

  /**
   * @param weights relative weight of each question type when the window allows several (missing
   *     types weigh 1); a type the model answers badly can be asked more often without changing
   *     which questions exist
   */
  public ShapesExamples(
      double captionFraction, String captionPrompt, Map<QuestionType, Double> weights) {
    this(captionFraction, captionPrompt, weights, 0);
  }

  /**
   * @param sameColourFraction share of scenes (with two or more shapes of distinct kinds) whose
   *     shapes all get the first shape's colour. Such scenes are still valid ShapesWorld scenes. In
   *     them only a shape's kind tells the shapes apart, so "where is the red square?" can be
   *     answered only by finding the shape by its kind. A model that has learnt to find shapes by
   *     colour alone gets no reward from that shortcut here (a curriculum step; 0 leaves the scene
   *     draw exactly as before).
   */
  public ShapesExamples(
      double captionFraction,
      String captionPrompt,
      Map<QuestionType, Double> weights,
      double sameColourFraction) {
    this(captionFraction, captionPrompt, weights, sameColourFraction, false);
  }

  /**
   * @param contentAnswer the content loss's word for motion and position questions becomes the
   *     answer's first word (left, right, up, down, not; top, bottom, left, right, center) instead
   *     of the named object's colour, which those questions already say. Motion answers on
   *     multi-shape windows were mostly another shape's motion (35 of 55 errors): the same binding
   *     failure the colour target cured for colour questions. False keeps the draw and the targets
   *     of recorded recipes exactly.
   */
  public ShapesExamples(
      double captionFraction,
      String captionPrompt,
      Map<QuestionType, Double> weights,
      double sameColourFraction,
      boolean contentAnswer) {
    this(captionFraction, captionPrompt, weights, sameColourFraction, 0, contentAnswer);
  }

  /**
   * @param sameKindFraction share of the scenes not recoloured above (with two or more shapes of
   *     distinct colours) whose shapes all get the first shape's kind: the mirror of {@code
   *     sameColourFraction}. Then only the colour tells the shapes apart, so "which way is the red
   *     square moving?" must be answered off the red one. Most motion errors were another shape's
   *     motion, often a shape of the same kind (12 of 22 on s1). 0 leaves the draw of recorded
   *     recipes exactly as it was.
   */
  public ShapesExamples(
      double captionFraction,
      String captionPrompt,
      Map<QuestionType, Double> weights,
      double sameColourFraction,
      double sameKindFraction,
      boolean contentAnswer) {
    this(
        captionFraction,
        captionPrompt,
        weights,
        sameColourFraction,
        sameKindFraction,
        contentAnswer,
        0);
  }

  /**
   * @param wideFraction share of examples drawn from the wider world of issue 23 point 4 (the frame
   *     sizes of {@link WideClips#SIZES}, clips of 6 to 16 s, {@link SceneGenerator.Ranges#WIDE}
   *     speeds and backgrounds); the rest come from the default world. 0 leaves the draw of
   *     recorded recipes exactly as it was.
   */
  public ShapesExamples(
      double captionFraction,
      String captionPrompt,
      Map<QuestionType, Double> weights,
      double sameColourFraction,
      double sameKindFraction,
      boolean contentAnswer,
      double wideFraction) {
    if (!(wideFraction >= 0 && wideFraction <= 1)) {
      throw new IllegalArgumentException("wideFraction must be in [0, 1], got " + wideFraction);
    }
    this.wideFraction = wideFraction;
    this.contentAnswer = contentAnswer;
    if (!(sameColourFraction >= 0 && sameColourFraction <= 1)) {
      throw new IllegalArgumentException(
          "sameColourFraction must be in [0, 1], got " + sameColourFraction);
    }
    if (!(sameKindFraction >= 0 && sameKindFraction <= 1)) {
      throw new IllegalArgumentException(
          "sameKindFraction must be in [0, 1], got " + sameKindFraction);
    }
    this.sameColourFraction = sameColourFraction;
    this.sameKindFraction = sameKindFraction;
    this.weights = new EnumMap<>(QuestionType.class);
    for (QuestionType t : QuestionType.values()) {
      double w = weights.getOrDefault(t, 1.0);
      if (!(w >= 0) || Double.isInfinite(w)) {
        throw new IllegalArgumentException(
            "question weight of " + t.label() + " must be finite and >= 0, got " + w);
      }
      this.weights.put(t, w);
    }
    if (this.weights.values().stream().allMatch(w -> w == 0)) {
      throw new IllegalArgumentException("at least one question type needs a weight above 0");
    }
    this.uniform = this.weights.values().stream().allMatch(w -> w == 1.0);
    if (captionFraction < 0 || captionFraction > 1) {
      throw new IllegalArgumentException(
          "captionFraction must be in [0, 1], got " + captionFraction);
    }
    this.captionFraction = captionFraction;
    this.captionPrompt = Objects.requireNonNull(captionPrompt, "captionPrompt");
    this.size = ShapesWorld.REFERENCE_SIZE;
    this.clipSeconds = 16;
  }

  @Override
  public Example next(SplittableRandom rng, int frames) {
    if (wideFraction > 0 && rng.nextDouble() < wideFraction) {
      return wide(rng, frames);
    }
    ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(size, size, clipSeconds, frames);
    if (frames - 1 > spec.lastSecond()) {
      throw new IllegalArgumentException(
          frames + " frames do not fit a " + clipSeconds + " s clip at 1 fps");
    }
    return example(SceneGenerator.generate(rng.nextLong(), clipSeconds), spec, frames, rng);
  }

  /**
   * An example of the wider world: a frame size of the wide held-out set, a clip of {@code max(6,
   * frames)} to 16 s in half seconds (long enough for the window), a scene of the wide ranges (the
   * shortest clips allow the fastest shapes).
   */
  private Example wide(SplittableRandom rng, int frames) {
    int[] wh = WideClips.SIZES.get(rng.nextInt(WideClips.SIZES.size()));
    double lo = Math.max(WideClips.MIN_SECONDS, frames);
    double seconds = lo + rng.nextInt((int) Math.round(2 * (clipSeconds - lo)) + 1) / 2.0;
    ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(wh[0], wh[1], seconds, frames);
    Scene scene = SceneGenerator.generate(rng.nextLong(), seconds, SceneGenerator.Ranges.WIDE);
    return example(scene, spec, frames, rng);
  }

  /**
   * The example of one scene: the curriculum's recolouring, a window of {@code frames} ending at a
   * random sampled second, then a caption or a question about it.
   */
  private Example example(
      Scene scene, ShapesDataset.SampleSpec spec, int frames, SplittableRandom rng) {
    if (sameColourFraction > 0 && rng.nextDouble() < sameColourFraction) {
      scene = oneColour(scene);
    } else if (sameKindFraction > 0 && rng.nextDouble() < sameKindFraction) {
      scene = oneKind(scene);
    }
    int end = frames - 1 + rng.nextInt(spec.lastSecond() - frames + 2);
    ShapesDataset.Sample s = ShapesDataset.sample(scene, end, spec, rng.split());
    List<RgbImage> images = new ArrayList<>(s.frames().size());
    for (ShapesDataset.Frame f : s.frames()) {
      images.add(new RgbImage(f.width(), f.height(), f.rgb()));
    }
    if (s.questions().isEmpty() || rng.nextDouble() < captionFraction) {
      return new Example(images, captionPrompt, s.caption(), "caption");
    }
    QaPair q = pick(s.questions(), rng);
    if (q == null) {
      return new Example(images, captionPrompt, s.caption(), "caption");
    }
    // the object the question names, from the scene's ground truth, for the attention losses
    Shape subject = q.subject(scene).orElse(null);
    List<Box> attend = new ArrayList<>();
    if (subject != null) {
      for (ShapesDataset.Frame f : s.frames()) {
        attend.add(subject.referenceBox(f.timeSeconds()));
      }
    }
    return new Example(
        images, q.question(), q.answer(), q.type().label(), attend, contentWord(subject, q));
  }

  /**
   * The content loss's target word at the question's naming word: the named object's colour, or
   * (see above) the answer's first word for motion and position questions; empty when the question
   * names no single object.
   */
  String contentWord(Shape subject, QaPair q) {
    if (subject == null) {
      return "";
    }
    if (contentAnswer && (q.type() == QuestionType.MOTION || q.type() == QuestionType.POSITION)) {
      return q.answer().trim().split("\\s+")[0];
    }
    return subject.color().word();
  }

  /**
   * The scene with every shape in the first shape's colour, when its kinds are distinct (else
   * unchanged).
   */
  static Scene oneColour(Scene scene) {
    Shape first = scene.shapes().isEmpty() ? null : scene.shapes().get(0);
    return alike(
        scene,
        Shape::kind,
        s ->
            new Shape(
                s.kind(),
                first.color(),
                first.rgb(),
                s.size(),
                s.x0(),
                s.y0(),
                s.motion(),
                s.speed()));
  }

  /**
   * The scene with every shape of the first shape's kind, when its colours are distinct (else
   * unchanged).
   */
  static Scene oneKind(Scene scene) {
    ShapeKind kind = scene.shapes().isEmpty() ? null : scene.shapes().get(0).kind();
    return alike(
        scene,
        Shape::color,
        s -> new Shape(kind, s.color(), s.rgb(), s.size(), s.x0(), s.y0(), s.motion(), s.speed()));
  }

  /**
   * The scene with {@code change} applied to every shape, when it has two or more shapes that
   * {@code keeps} tells apart (then they stay valid ShapesWorld scenes: no two shapes share both
   * colour and kind); else unchanged.
   */
  private static Scene alike(
      Scene scene,
      java.util.function.Function<Shape, ?> keeps,
      java.util.function.UnaryOperator<Shape> change) {
    List<Shape> shapes = scene.shapes();
    if (shapes.size() < 2 || shapes.stream().map(keeps).distinct().count() < shapes.size()) {
      return scene;
    }
    return new Scene(
        scene.seed(),
        scene.durationSeconds(),
        scene.background(),
        shapes.stream().map(change).toList());
  }

  /**
   * One question, its type drawn with the weights among the types present (uniform when all weigh
   * 1), then uniform within the type; null when every present type weighs 0.
   */
  QaPair pick(List<QaPair> questions, SplittableRandom rng) {
    if (uniform) { // one question per askable type, uniform
      return questions.get(rng.nextInt(questions.size()));
    }
    Map<QuestionType, List<QaPair>> byType = new EnumMap<>(QuestionType.class);
    for (QaPair q : questions) {
      byType.computeIfAbsent(q.type(), t -> new ArrayList<>()).add(q);
    }
    double total = 0;
    for (QuestionType t : byType.keySet()) {
      total += weights.get(t);
    }
    if (total == 0) {
      return null;
    }
    double r = rng.nextDouble() * total;
    QuestionType chosen = null;
    for (QuestionType t : byType.keySet()) {
      if (weights.get(t) > 0) {
        chosen = t;
        r -= weights.get(t);
        if (r < 0) {
          break;
        }
      }
    }
    List<QaPair> of = byType.get(chosen);
    return of.get(rng.nextInt(of.size()));
  }
}
