package io.decostream.cli;

import io.decostream.ingest.ShapesVideoWriter;
import io.decostream.shapes.ShapesJsonl;
import io.decostream.shapes.ShapesVideoSet;
import io.decostream.shapes.VideoSpec;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code deco shapes} (issue 5, point 1): writes a ShapesWorld video set: N real H.264 videos
 * ({@link ShapesVideoWriter}) plus qa.jsonl, captions.jsonl and scenes.jsonl ({@link ShapesJsonl}).
 * Video i is the scene of seed {@code ShapesWorld.videoSeed(seed, i)}, so a set is reproducible
 * from its command line alone.
 */
@Command(
    name = "shapes",
    mixinStandardHelpOptions = true,
    description =
        "Write ShapesWorld videos (moving coloured shapes, real H.264) with ground-truth questions, "
            + "answers and captions as JSON Lines.")
final class ShapesCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--out", required = true, description = "Output directory (created).")
  Path out;

  @Option(
      names = "--videos",
      defaultValue = "10",
      description = "Number of videos (default ${DEFAULT-VALUE}).")
  int videos;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Base seed of the set (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--fps",
      defaultValue = "8",
      description = "Video frame rate (default ${DEFAULT-VALUE}).")
  double fps;

  @Option(
      names = "--seconds",
      defaultValue = "16",
      description = "Length of each video (default ${DEFAULT-VALUE}).")
  double seconds;

  @Option(
      names = "--size",
      defaultValue = "336",
      description = "Frame size: N for NxN, or WxH; even numbers (default ${DEFAULT-VALUE}).")
  String size;

  @Option(
      names = "--windows",
      defaultValue = "3",
      description =
          "Question windows per video: the last second plus random earlier ones (default ${DEFAULT-VALUE}).")
  int windows;

  @Option(names = "--no-video", description = "Write only the JSONL files (no encoding).")
  boolean noVideo;

  @Override
  public Integer call() {
    if (videos < 1 || videos > 100_000) {
      throw new ParameterException(
          spec.commandLine(), "--videos must be in 1..100000, got " + videos);
    }
    VideoSpec vs;
    try {
      int[] wh = SizeArg.parse("--size", size);
      vs = new VideoSpec(wh[0], wh[1], fps, seconds);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    if (windows < 1 || windows > 64) {
      throw new ParameterException(
          spec.commandLine(), "--windows must be in 1..64, got " + windows);
    }
    PrintWriter log = spec.commandLine().getOut();
    long start = System.nanoTime();
    int questions;
    try (ShapesJsonl.Writer jsonl = new ShapesJsonl.Writer(out)) {
      for (int i = 0; i < videos; i++) {
        long t0 = System.nanoTime();
        ShapesVideoSet.Entry e = ShapesVideoSet.entry(seed, i, vs, windows);
        if (!noVideo) {
          ShapesVideoWriter.write(out.resolve(e.fileName()), e.scene(), vs);
        }
        jsonl.write(e);
        log.printf(
            Locale.ROOT,
            "[%d/%d] %s  %d shape%s, %d questions  (%.1f s)%n",
            i + 1,
            videos,
            e.fileName(),
            e.scene().shapes().size(),
            e.scene().shapes().size() == 1 ? "" : "s",
            e.windows().stream().mapToInt(w -> w.questions().size()).sum(),
            (System.nanoTime() - t0) / 1e9);
        log.flush();
      }
      questions = jsonl.questions();
    }
    log.printf(
        Locale.ROOT,
        "wrote %d video%s (%dx%d, %.0f fps, %.0f s%s) and %d questions to %s in %.1f s%n",
        videos,
        videos == 1 ? "" : "s",
        vs.width(),
        vs.height(),
        vs.fps(),
        vs.seconds(),
        noVideo ? ", videos skipped" : ", " + ShapesVideoWriter.encoderName(),
        questions,
        out,
        (System.nanoTime() - start) / 1e9);
    log.printf(
        "files: %s, %s, %s%n",
        ShapesJsonl.QA_FILE, ShapesJsonl.CAPTIONS_FILE, ShapesJsonl.SCENES_FILE);
    log.flush();
    return Files.isDirectory(out) ? 0 : 1;
  }
}
