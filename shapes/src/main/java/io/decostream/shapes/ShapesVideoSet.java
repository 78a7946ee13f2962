package io.decostream.shapes;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Plans the videos of {@code deco shapes}: video {@code i} of a set with base seed {@code S} is the
 * scene of seed {@link ShapesWorld#videoSeed videoSeed(S, i)}, named {@code shapes_%05d.mp4}, with
 * questions at {@code windowsPerVideo} window ends: the last sampled second always, plus distinct
 * random whole seconds in 1..last-1. Each window is the last 16 frames at 1 fps up to its end
 * ({@link Window#latest}) and gets one question per askable type and a caption. The plan is pure
 * (no files), so the writer in ingest and tests share it.
 */
public final class ShapesVideoSet {

  /** Questions and caption of one window. */
  public record WindowQa(Window window, List<QaPair> questions, String caption) {
    public WindowQa {
      questions = List.copyOf(questions);
    }
  }

  /** One planned video. */
  public record Entry(int index, String fileName, Scene scene, List<WindowQa> windows) {
    public Entry {
      windows = List.copyOf(windows);
    }
  }

  private ShapesVideoSet() {}

  /** File name of video {@code index}. */
  public static String fileName(int index) {
    return String.format(Locale.ROOT, "shapes_%05d.mp4", index);
  }

  /** The plan of video {@code index}. */
  public static Entry entry(long baseSeed, int index, VideoSpec spec, int windowsPerVideo) {
    if (windowsPerVideo < 1 || windowsPerVideo > 64) {
      throw new IllegalArgumentException(
          "windowsPerVideo must be in 1..64, got " + windowsPerVideo);
    }
    long seed = ShapesWorld.videoSeed(baseSeed, index);
    Scene scene = SceneGenerator.generate(seed, spec.seconds());
    SplittableRandom rnd = new SplittableRandom(ShapesWorld.mix(seed + 0x632BE59BD9B4E019L));
    int last = spec.lastSampledSecond();
    TreeSet<Integer> ends = new TreeSet<>();
    ends.add(last);
    int want = Math.min(windowsPerVideo, Math.max(1, last)); // seconds 1..last available
    while (ends.size() < want) {
      ends.add(1 + rnd.nextInt(last));
    }
    List<WindowQa> windows = new ArrayList<>();
    for (int e : ends) {
      Window w = Window.latest(e, ShapesWorld.MAX_WINDOW_FRAMES);
      windows.add(
          new WindowQa(w, Questions.samplePerType(scene, w, rnd), Captions.caption(scene, e)));
    }
    return new Entry(index, fileName(index), scene, windows);
  }
}
