package io.decostream.lab;

import io.decostream.cli.DemoCommand;
import io.decostream.train.BindingProbe;
import io.decostream.train.ComparisonReport;
import io.decostream.train.ComparisonVariants;
import io.decostream.train.ConnectorRgae;
import io.decostream.train.ProjectorComparison;
import io.decostream.worker.WorkerConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code deco compare}: the paper's projector comparison in miniature (issue 5, point 5). */
@Command(
    name = "compare",
    mixinStandardHelpOptions = true,
    description =
        "Train every connector variant (linear, avg/max pooling, Q-Former, C-Abstractor) on the same "
            + "ShapesWorld data and step budget around one trained vision tower and LLM, then report accuracy per "
            + "question type, parameters, speed, frames per 4096-token window and loss curves.")
public final class CompareCommand implements Callable<Integer> {

  @Option(
      names = "--base",
      description =
          "Trained pack whose ViT and LLM all variants share (default: the shipped "
              + "models/shapes-demo).")
  Path base;

  @Option(
      names = "--out",
      defaultValue = "runs/compare",
      description = "Run directory; finished runs are reused " + "(default ${DEFAULT-VALUE}).")
  Path out;

  @Option(
      names = "--variants",
      split = ",",
      description = "Variants to run (default: all of ${COMPLETION-CANDIDATES}).",
      completionCandidates = VariantNames.class)
  List<String> variants;

  @Option(
      names = "--seeds",
      split = ",",
      defaultValue = "1,2",
      description = "Seeds, one run each (default ${DEFAULT-VALUE}).")
  List<Long> seeds;

  @Option(
      names = "--align-steps",
      defaultValue = "150",
      description = "Stage 1 steps: connector only, captions (default ${DEFAULT-VALUE}).")
  int alignSteps;

  @Option(
      names = "--tune-steps",
      defaultValue = "450",
      description = "Stage 2 steps: connector + LLM, questions (default ${DEFAULT-VALUE}).")
  int tuneSteps;

  @Option(
      names = "--batch",
      defaultValue = "12",
      description = "Examples per step (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(
      names = "--frames",
      defaultValue = "4",
      description = "Frames per window (default ${DEFAULT-VALUE}).")
  int frames;

  @Option(
      names = "--pad-window",
      defaultValue = "0",
      description =
          "With --score: repeat each window's first frame at its start up to this many frames"
              + " (does a short window fail for its length? docs/shapes-eval-wide.md).")
  int padWindow;

  @Option(
      names = "--align-lr",
      defaultValue = "1e-3",
      description = "Stage 1 peak learning rate (default ${DEFAULT-VALUE}).")
  double alignLr;

  @Option(
      names = "--tune-lr",
      defaultValue = "5e-4",
      description = "Stage 2 peak learning rate (default ${DEFAULT-VALUE}).")
  double tuneLr;

  @Option(
      names = "--caption-fraction",
      defaultValue = "0.15",
      description = "Caption share in stage 2 (default ${DEFAULT-VALUE}).")
  double captionFraction;

  @Option(
      names = "--eval-scenes",
      defaultValue = "100",
      description =
          "Held-out scenes, one question per askable type each (default ${DEFAULT-VALUE}).")
  int evalScenes;

  @Option(
      names = "--eval-seed",
      defaultValue = "2000003",
      description = "Base seed of the held-out scenes (default ${DEFAULT-VALUE}).")
  long evalSeed;

  @Option(
      names = "--log-every",
      defaultValue = "25",
      description = "Steps between progress lines (default ${DEFAULT-VALUE}).")
  int logEvery;

  @Option(
      names = "--check-every",
      defaultValue = "250",
      description =
          "Stage-2 steps between accuracy checks on the first --check-scenes held-out scenes (the"
              + " convergence curve); each check also leaves a checkpoint an interrupted run resumes"
              + " from; 0: neither (default ${DEFAULT-VALUE}).")
  int checkEvery;

  @Option(
      names = "--check-scenes",
      defaultValue = "30",
      description = "Held-out scenes each accuracy check answers (default ${DEFAULT-VALUE}).")
  int checkScenes;

  @Option(names = "--markdown", description = "Write the result tables to this Markdown file.")
  Path markdown;

  @Option(
      names = "--plot",
      description = "Write the loss and accuracy curves against step to this PNG.")
  Path plot;

  @Option(
      names = "--score",
      description =
          "Only answer the held-out set with this pack's own connector (in "
              + "process, rendered frames, --frames per window) and print the accuracy per question type.")
  Path score;

  @Option(
      names = "--show-wrong",
      defaultValue = "12",
      description =
          "With --score: how many wrong answers to print, "
              + "each with the window's caption (default ${DEFAULT-VALUE}).")
  int showWrong;

  @Option(
      names = "--binding",
      description =
          "With --score: instead of the per-type table, measure whether the pack "
              + "finds shapes by kind (colour answers by number of shapes; position answers in one-colour two-shape windows).")
  boolean binding;

  /** Picocli completion candidates: the registered variant names. */
  static final class VariantNames implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return ComparisonVariants.names().iterator();
    }
  }

  @Option(
      names = "--rgae",
      description =
          "Instead of training: the R-GAE analysis of the finished runs in --out (their saved "
              + "weights): Query-to-Patch per connector, Text-to-Patch of the held-out answers and its "
              + "locality in the named object's box, as a Markdown table and PNGs in --rgae-out.")
  boolean rgae;

  @Option(
      names = "--rgae-out",
      description = "Where --rgae writes rgae.md and its PNGs (default: <out>/rgae).")
  Path rgaeOut;

  @Option(
      names = "--rgae-examples",
      defaultValue = "4",
      description =
          "Answers per connector drawn in the Text-to-Patch picture (default: ${DEFAULT-VALUE}).")
  int rgaeExamples;

  @Override
  public Integer call() throws Exception {
    if (score != null && binding) {
      BindingProbe.Result r = BindingProbe.run(score, frames, evalScenes, evalSeed);
      r.colourByShapes()
          .forEach(
              (n, c) ->
                  System.out.printf(
                      "colour answers, %d shape(s) in the window: %d / %d  %5.1f%%%n",
                      n, c[0], c[1], 100.0 * c[0] / Math.max(1, c[1])));
      int[] o = r.oneColourPosition();
      System.out.printf(
          "position answers, two shapes of one colour (only the kind tells them apart): %d / %d  %5.1f%%%n",
          o[0], o[1], 100.0 * o[0] / Math.max(1, o[1]));
      return 0;
    }
    if (score != null) {
      List<String> wrong = new java.util.ArrayList<>();
      java.util.Map<String, int[]> acc =
          ProjectorComparison.evaluatePack(score, frames, evalScenes, evalSeed, padWindow, wrong);
      int c = 0;
      int a = 0;
      for (var e : acc.entrySet()) {
        System.out.printf(
            "%-9s %4d / %4d  %5.1f%%%n",
            e.getKey(),
            e.getValue()[0],
            e.getValue()[1],
            100.0 * e.getValue()[0] / Math.max(1, e.getValue()[1]));
        c += e.getValue()[0];
        a += e.getValue()[1];
      }
      System.out.printf("%-9s %4d / %4d  %5.1f%%%n", "all", c, a, 100.0 * c / Math.max(1, a));
      if (!wrong.isEmpty()) {
        System.out.println(
            "some wrong answers (teacher-forced argmax, the same as greedy decoding when right):");
        wrong.stream().limit(Math.max(0, showWrong)).forEach(w -> System.out.println("  " + w));
      }
      return 0;
    }
    Path pack = base != null ? base : DemoCommand.shippedModel();
    if (pack == null) {
      throw new IllegalArgumentException("no --base given and no models/shapes-demo found");
    }
    if (rgae) {
      return rgae(pack);
    }
    ProjectorComparison.Settings s =
        new ProjectorComparison.Settings(
            pack,
            out,
            variants == null ? ComparisonVariants.names() : variants,
            seeds,
            alignSteps,
            tuneSteps,
            batch,
            frames,
            alignLr,
            tuneLr,
            captionFraction,
            WorkerConfig.defaults().captionPrompt(),
            evalScenes,
            evalSeed,
            logEvery,
            checkEvery,
            checkScenes);
    List<ProjectorComparison.RunResult> runs = new ProjectorComparison(s, System.out).run();
    String table = ComparisonReport.markdown(runs);
    System.out.println();
    System.out.print(table);
    if (markdown != null) {
      Path parent = markdown.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      Files.writeString(markdown, table, StandardCharsets.UTF_8);
      System.out.println("wrote " + markdown);
    }
    if (plot != null) {
      ComparisonReport.plot(runs, alignSteps, plot);
      System.out.println("wrote " + plot);
    }
    return 0;
  }

  /** {@code --rgae}: the analysis of saved runs (issue 23 point 2), table and pictures. */
  private int rgae(Path pack) throws java.io.IOException {
    List<ConnectorRgae.Run> runs =
        ConnectorRgae.analyse(
            pack,
            out,
            variants == null ? ComparisonVariants.names() : variants,
            seeds,
            frames,
            evalScenes,
            evalSeed,
            rgaeExamples,
            System.out);
    Path dir = rgaeOut != null ? rgaeOut : out.resolve("rgae");
    Files.createDirectories(dir);
    String table = RgaePictures.table(runs);
    Files.writeString(dir.resolve("rgae.md"), table, StandardCharsets.UTF_8);
    RgaePictures.queryToPatch(runs, dir.resolve("query-to-patch.png"));
    RgaePictures.textToPatch(runs, dir.resolve("text-to-patch.png"));
    System.out.println();
    System.out.print(table);
    System.out.println(
        "wrote " + dir.resolve("rgae.md") + ", query-to-patch.png, text-to-patch.png");
    return 0;
  }
}
