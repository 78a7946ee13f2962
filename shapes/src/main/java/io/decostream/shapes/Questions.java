package io.decostream.shapes;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The questions of issue 5 ("the visual world and the questions", normative) and their answers.
 *
 * <p>Templates, and when each may be asked:
 *
 * <ul>
 *   <li>{@code what color is the {shape}?} -> colour; only when exactly one shape of that kind is
 *       present;
 *   <li>{@code what shape is the {color} object?} -> shape; only when exactly one object has that
 *       colour;
 *   <li>{@code how many shapes are there?} -> one / two / three; always;
 *   <li>{@code where is the {color} {shape}?} -> one of the nine {@link GridCell} positions of the
 *       shape's centre in the latest frame of the window; for present shapes. Generated questions
 *       ({@link #askable}, {@link #sample}) skip shapes whose centre lies within {@value
 *       #POSITION_MARGIN} reference px of a grid line, where the answer would hinge on a pixel;
 *       {@link #answer} answers them anyway;
 *   <li>{@code which way is the {color} {shape} moving?} -> left / right / up / down / not moving;
 *       for present shapes, when the window holds at least two 1 fps frames;
 *   <li>{@code is there a {color} {shape}?} -> yes / no; always. {@link #sample} draws yes and no
 *       with probability 1/2 each; a "no" names an absent combination, half of the time (when one
 *       exists) a near miss that shares the colour or the kind of a present shape.
 * </ul>
 */
public final class Questions {

  /**
   * Generated position questions need the centre at least this far from a grid line (reference px,
   * ~1.8% of the frame).
   */
  public static final double POSITION_MARGIN = 6;

  private static final String COLORS = "(red|green|blue|yellow|white|purple)";
  private static final String KINDS = "(circle|square|triangle)";
  private static final Pattern WHAT_COLOR = Pattern.compile("what colou?r is the " + KINDS + "\\?");
  private static final Pattern WHAT_SHAPE =
      Pattern.compile("what shape is the " + COLORS + " object\\?");
  private static final Pattern HOW_MANY = Pattern.compile("how many shapes are there\\?");
  private static final Pattern WHERE =
      Pattern.compile("where is the " + COLORS + " " + KINDS + "\\?");
  private static final Pattern WHICH_WAY =
      Pattern.compile("which way is the " + COLORS + " " + KINDS + " moving\\?");
  private static final Pattern IS_THERE =
      Pattern.compile("is there an? " + COLORS + " " + KINDS + "\\?");

  private Questions() {}

  // ---- the templates -------------------------------------------------------------------------

  public static String whatColor(ShapeKind kind) {
    return "what color is the " + kind.word() + "?";
  }

  public static String whatShape(ShapeColor color) {
    return "what shape is the " + color.word() + " object?";
  }

  public static String howMany() {
    return "how many shapes are there?";
  }

  public static String where(ShapeColor color, ShapeKind kind) {
    return "where is the " + color.word() + " " + kind.word() + "?";
  }

  public static String whichWay(ShapeColor color, ShapeKind kind) {
    return "which way is the " + color.word() + " " + kind.word() + " moving?";
  }

  public static String isThere(ShapeColor color, ShapeKind kind) {
    return "is there a " + color.word() + " " + kind.word() + "?";
  }

  // ---- answering -----------------------------------------------------------------------------

  /**
   * The ground-truth answer to {@code question} (one of the templates, compared after {@link
   * Answers#normalize}; a missing final "?" is tolerated) for {@code window} of {@code scene}, or
   * empty when the question is not a template or may not be asked of this scene (its precondition
   * fails: e.g. two circles for "what color is the circle?", or a where/which-way question about an
   * absent shape, or a motion question on a one-frame window).
   */
  public static Optional<QaPair> answer(Scene scene, Window window, String question) {
    String q = Answers.normalize(question);
    if (!q.endsWith("?")) {
      q = q + "?";
    }
    Matcher m;
    if ((m = WHAT_COLOR.matcher(q)).matches()) {
      ShapeKind k = ShapeKind.fromWord(m.group(1));
      return scene.count(k) == 1 ? Optional.of(colorQa(scene, k)) : Optional.empty();
    }
    if ((m = WHAT_SHAPE.matcher(q)).matches()) {
      ShapeColor c = ShapeColor.fromWord(m.group(1));
      return scene.count(c) == 1 ? Optional.of(shapeQa(scene, c)) : Optional.empty();
    }
    if (HOW_MANY.matcher(q).matches()) {
      return Optional.of(countQa(scene));
    }
    if ((m = WHERE.matcher(q)).matches()) {
      return scene
          .find(ShapeColor.fromWord(m.group(1)), ShapeKind.fromWord(m.group(2)))
          .map(s -> positionQa(s, window));
    }
    if ((m = WHICH_WAY.matcher(q)).matches()) {
      if (!window.showsMotion()) {
        return Optional.empty();
      }
      return scene
          .find(ShapeColor.fromWord(m.group(1)), ShapeKind.fromWord(m.group(2)))
          .map(Questions::motionQa);
    }
    if ((m = IS_THERE.matcher(q)).matches()) {
      return Optional.of(
          existsQa(scene, ShapeColor.fromWord(m.group(1)), ShapeKind.fromWord(m.group(2))));
    }
    return Optional.empty();
  }

  /** The grid cell of {@code shape}'s centre in the latest frame of {@code window}. */
  public static GridCell position(Shape shape, Window window) {
    return GridCell.of(
        shape.centerX(window.endSeconds()),
        shape.centerY(window.endSeconds()),
        ShapesWorld.REFERENCE_SIZE,
        ShapesWorld.REFERENCE_SIZE);
  }

  /**
   * Whether {@code shape}'s centre is clear of every grid line by {@link #POSITION_MARGIN} at the
   * window's end.
   */
  public static boolean positionIsClear(Shape shape, Window window) {
    return GridCell.distanceToBoundary(
            shape.centerX(window.endSeconds()),
            shape.centerY(window.endSeconds()),
            ShapesWorld.REFERENCE_SIZE,
            ShapesWorld.REFERENCE_SIZE)
        >= POSITION_MARGIN;
  }

  // ---- generation ----------------------------------------------------------------------------

  /**
   * Every question that may be generated for this window, in a fixed order: colour (kinds in enum
   * order), shape (colours in enum order), count, position and motion (shapes in scene order), then
   * yes/no: a "yes" for every present shape and a "no" for every absent colour+kind combination (so
   * this list is NOT balanced; {@link #sample} is).
   */
  public static List<QaPair> askable(Scene scene, Window window) {
    List<QaPair> out = new ArrayList<>();
    for (ShapeKind k : ShapeKind.values()) {
      if (scene.count(k) == 1) {
        out.add(colorQa(scene, k));
      }
    }
    for (ShapeColor c : ShapeColor.values()) {
      if (scene.count(c) == 1) {
        out.add(shapeQa(scene, c));
      }
    }
    out.add(countQa(scene));
    for (Shape s : scene.shapes()) {
      if (positionIsClear(s, window)) {
        out.add(positionQa(s, window));
      }
    }
    if (window.showsMotion()) {
      for (Shape s : scene.shapes()) {
        out.add(motionQa(s));
      }
    }
    for (ShapeColor c : ShapeColor.values()) {
      for (ShapeKind k : ShapeKind.values()) {
        out.add(existsQa(scene, c, k));
      }
    }
    return out;
  }

  /** A random question of {@code type} for this window, or empty when none may be asked. */
  public static Optional<QaPair> sample(
      Scene scene, Window window, QuestionType type, SplittableRandom rnd) {
    switch (type) {
      case COLOR -> {
        List<ShapeKind> ks = new ArrayList<>();
        for (ShapeKind k : ShapeKind.values()) {
          if (scene.count(k) == 1) {
            ks.add(k);
          }
        }
        return ks.isEmpty()
            ? Optional.empty()
            : Optional.of(colorQa(scene, ks.get(rnd.nextInt(ks.size()))));
      }
      case SHAPE -> {
        List<ShapeColor> cs = new ArrayList<>();
        for (ShapeColor c : ShapeColor.values()) {
          if (scene.count(c) == 1) {
            cs.add(c);
          }
        }
        return cs.isEmpty()
            ? Optional.empty()
            : Optional.of(shapeQa(scene, cs.get(rnd.nextInt(cs.size()))));
      }
      case COUNT -> {
        return Optional.of(countQa(scene));
      }
      case POSITION -> {
        List<Shape> ss = scene.shapes().stream().filter(s -> positionIsClear(s, window)).toList();
        return ss.isEmpty()
            ? Optional.empty()
            : Optional.of(positionQa(ss.get(rnd.nextInt(ss.size())), window));
      }
      case MOTION -> {
        if (!window.showsMotion()) {
          return Optional.empty();
        }
        return Optional.of(motionQa(scene.shapes().get(rnd.nextInt(scene.shapes().size()))));
      }
      case EXISTS -> {
        return Optional.of(sampleExists(scene, rnd.nextBoolean(), rnd));
      }
      default -> throw new IllegalStateException("unhandled question type " + type);
    }
  }

  /**
   * One random question of every type that may be asked for this window, in {@link QuestionType}
   * order.
   */
  public static List<QaPair> samplePerType(Scene scene, Window window, SplittableRandom rnd) {
    List<QaPair> out = new ArrayList<>();
    for (QuestionType t : QuestionType.values()) {
      sample(scene, window, t, rnd).ifPresent(out::add);
    }
    return out;
  }

  /**
   * An "is there a {color} {shape}?" question whose answer is {@code yes} when {@code wantYes} (a
   * present shape, uniform) and {@code no} otherwise (an absent combination: with probability 1/2 a
   * near miss sharing the colour or the kind of a present shape, else uniform over all absent
   * ones).
   */
  public static QaPair sampleExists(Scene scene, boolean wantYes, SplittableRandom rnd) {
    if (wantYes) {
      Shape s = scene.shapes().get(rnd.nextInt(scene.shapes().size()));
      return existsQa(scene, s.color(), s.kind());
    }
    List<QaPair> absent = new ArrayList<>();
    List<QaPair> nearMiss = new ArrayList<>();
    for (ShapeColor c : ShapeColor.values()) {
      for (ShapeKind k : ShapeKind.values()) {
        if (scene.find(c, k).isEmpty()) {
          QaPair qa = existsQa(scene, c, k);
          absent.add(qa);
          if (scene.count(c) > 0 || scene.count(k) > 0) {
            nearMiss.add(qa);
          }
        }
      }
    }
    List<QaPair> pool = !nearMiss.isEmpty() && rnd.nextBoolean() ? nearMiss : absent;
    return pool.get(rnd.nextInt(pool.size()));
  }

  // ---- one pair per template -----------------------------------------------------------------

  private static QaPair colorQa(Scene scene, ShapeKind k) {
    Shape s = scene.shapes().stream().filter(x -> x.kind() == k).findFirst().orElseThrow();
    return new QaPair(QuestionType.COLOR, whatColor(k), s.color().word(), null, k);
  }

  private static QaPair shapeQa(Scene scene, ShapeColor c) {
    Shape s = scene.shapes().stream().filter(x -> x.color() == c).findFirst().orElseThrow();
    return new QaPair(QuestionType.SHAPE, whatShape(c), s.kind().word(), c, null);
  }

  private static QaPair countQa(Scene scene) {
    return new QaPair(QuestionType.COUNT, howMany(), Answers.countWord(scene.shapes().size()));
  }

  private static QaPair positionQa(Shape s, Window w) {
    return new QaPair(
        QuestionType.POSITION,
        where(s.color(), s.kind()),
        position(s, w).words(),
        s.color(),
        s.kind());
  }

  private static QaPair motionQa(Shape s) {
    return new QaPair(
        QuestionType.MOTION, whichWay(s.color(), s.kind()), s.motion().word(), s.color(), s.kind());
  }

  private static QaPair existsQa(Scene scene, ShapeColor c, ShapeKind k) {
    return new QaPair(
        QuestionType.EXISTS, isThere(c, k), scene.find(c, k).isPresent() ? "yes" : "no", c, k);
  }
}
