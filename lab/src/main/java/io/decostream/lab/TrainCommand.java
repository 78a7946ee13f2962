package io.decostream.lab;

import io.decostream.nn.tiny.TinyPack;
import io.decostream.shapes.QuestionType;
import io.decostream.train.AttendAt;
import io.decostream.train.AuxLosses;
import io.decostream.train.DemoModel;
import io.decostream.train.PackExport;
import io.decostream.train.ShapesExamples;
import io.decostream.train.TrainConfig;
import io.decostream.train.Trainer;
import io.decostream.train.VisionPretrainer;
import io.decostream.worker.WorkerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code deco train}: trains a llava_next_video pack end to end on ShapesWorld (issue 5) with DJL
 * autograd on the CPU: ViT from scratch, DeCo pooling, projector and Llama, on questions and
 * captions of random windows. Resumes from the newest checkpoint under {@code --out}; the same
 * flags and seed give the same model.
 */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Train a small llava_next_video model on ShapesWorld videos (CPU, DJL autograd).",
      "Writes OUT/checkpoint-<step>/ (resumable), OUT/log.jsonl and OUT/final/ (an HF-format pack)."
    })
final class TrainCommand implements Callable<Integer> {

  @Option(
      names = "--out",
      required = true,
      description = "Run directory (resumes from its newest checkpoint).")
  Path out;

  @Option(
      names = "--init",
      description =
          "Start from this pack instead of a fresh random one of the demo model's " + "shape.")
  Path init;

  @Option(
      names = "--steps",
      defaultValue = "4000",
      description = "Optimizer steps (default ${DEFAULT-VALUE}).")
  int steps;

  @Option(
      names = "--batch",
      defaultValue = "12",
      description = "Examples per step (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(
      names = "--min-frames",
      defaultValue = "2",
      description = "Fewest frames per window (default ${DEFAULT-VALUE}).")
  int minFrames;

  @Option(
      names = "--max-frames",
      defaultValue = "16",
      description = "Most frames per window (default ${DEFAULT-VALUE}).")
  int maxFrames;

  @Option(
      names = "--frames",
      split = ",",
      description =
          "Frame counts a step's window draws from, uniformly "
              + "(e.g. 2,3,4,16; repeat one to weight it); overrides --min-frames/--max-frames.")
  List<Integer> frames;

  @Option(
      names = "--stage",
      defaultValue = "qa",
      description =
          "qa: the LLM stages on questions and captions "
              + "(default); vision: pre-train the vision tower on dense per-patch targets (what covers each patch, and where "
              + "it is), the stand-in for CLIP's pre-training.")
  String stage;

  @Option(
      names = "--cell-targets",
      description =
          "With --stage vision: also train heads on the pooled cells the "
              + "connector sees (which shape has its centre in each cell, and where inside it).")
  boolean cellTargets;

  @Option(
      names = "--freeze-vision",
      description = "Keep the vision tower fixed (after --stage vision).")
  boolean freezeVision;

  @Option(
      names = "--lr",
      defaultValue = "7e-4",
      description = "Peak learning rate (default ${DEFAULT-VALUE}).")
  double lr;

  @Option(
      names = "--warmup",
      defaultValue = "200",
      description = "Warm-up steps (default ${DEFAULT-VALUE}).")
  int warmup;

  @Option(
      names = "--weight-decay",
      defaultValue = "0.01",
      description = "AdamW weight decay (default ${DEFAULT-VALUE}).")
  double weightDecay;

  @Option(
      names = "--clip",
      defaultValue = "1.0",
      description = "Gradient-norm clip (default ${DEFAULT-VALUE}).")
  double clip;

  @Option(
      names = "--caption-fraction",
      defaultValue = "0.15",
      description = "Share of caption examples (default ${DEFAULT-VALUE}).")
  double captionFraction;

  @Option(
      names = "--question-weights",
      split = ",",
      paramLabel = "TYPE=W",
      description =
          "Relative weight of question types in QA examples, e.g. color=3,motion=2 (types: color, shape, "
              + "count, position, motion, yesno; unnamed types weigh 1; default: uniform over the types a window allows).")
  Map<String, Double> questionWeights;

  @Option(
      names = "--same-colour-fraction",
      defaultValue = "0",
      description =
          "Share of training scenes whose shapes "
              + "all get one colour (kinds distinct), where only the kind tells the shapes apart (default ${DEFAULT-VALUE}).")
  double sameColourFraction;

  @Option(
      names = "--same-kind-fraction",
      defaultValue = "0",
      description =
          "Share of the other training scenes whose "
              + "shapes all get one kind (colours distinct), where only the colour tells the shapes apart (default "
              + "${DEFAULT-VALUE}).")
  double sameKindFraction;

  @Option(
      names = "--wide-fraction",
      defaultValue = "0",
      description =
          "Share of training examples from the wider world (issue 23 point 4): frame sizes from"
              + " 336x336 to 640x360, clips of 6-16 s, speeds 5-36 px/s, vignette and block"
              + " backgrounds; with --stage vision, that share of frames (default ${DEFAULT-VALUE}).")
  double wideFraction;

  @Option(
      names = "--content-answer",
      description =
          "With --content-weight: for motion and position questions the "
              + "naming word predicts the answer's first word (the named object's motion or cell) instead of its colour.")
  boolean contentAnswer;

  @Option(
      names = "--attend-weight",
      defaultValue = "0",
      description =
          "Weight of the attention loss: for questions "
              + "that name one object, some attention head at the answer should look at that object's tokens (default "
              + "${DEFAULT-VALUE}: off).")
  double attendWeight;

  @Option(
      names = "--attend-at",
      defaultValue = "answer",
      description =
          "Where that lookup is made: answer (the "
              + "position predicting the answer), word (the question's word naming the object) or ends (word, plus two more "
              + "heads there on the object in the latest and in the first frame) (default ${DEFAULT-VALUE}).")
  String attendAt;

  @Option(
      names = "--content-weight",
      defaultValue = "0",
      description =
          "Weight of the content loss: at the question's "
              + "word naming an object, predict that object's colour (default ${DEFAULT-VALUE}: off).")
  double contentWeight;

  @Option(
      names = "--content-layer",
      defaultValue = "-1",
      description =
          "With --attend-at word or ends: read the "
              + "content loss off the naming word as it enters this layer (1..layers; the relay reads the word at its own "
              + "layer's input) instead of off the last layer (default ${DEFAULT-VALUE}: the last layer).")
  int contentLayer;

  @Option(
      names = "--stray-weight",
      defaultValue = "0",
      description =
          "Weight of the stray loss: for questions that "
              + "name one object, the answer's attention (every head, every layer) on visual tokens outside that object, "
              + "where R-GAE's grounding maps spill (default ${DEFAULT-VALUE}: off).")
  double strayWeight;

  @Option(
      names = "--map-weight",
      defaultValue = "0",
      description =
          "Weight of the map loss: for questions that name "
              + "one object, -log of the share of the answer's relevance map (rolled out through the question's rows like "
              + "R-GAE, heads averaged) in the latest frame that lies inside the object's box grown by one patch, the "
              + "grounding check's own measure (default ${DEFAULT-VALUE}: off).")
  double mapWeight;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Seed of the weights and the data (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--log-every",
      defaultValue = "20",
      description = "Steps between progress lines (default ${DEFAULT-VALUE}).")
  int logEvery;

  @Option(
      names = "--checkpoint-every",
      defaultValue = "250",
      description = "Steps between checkpoints (default ${DEFAULT-VALUE}).")
  int checkpointEvery;

  @Option(
      names = "--ship",
      description = "Also write the final pack with F16 weights here (what the repo ships).")
  Path ship;

  private Map<QuestionType, Double> weights() {
    Map<QuestionType, Double> w = new EnumMap<>(QuestionType.class);
    if (questionWeights != null) {
      questionWeights.forEach((k, v) -> w.put(QuestionType.fromLabel(k.trim()), v));
    }
    return w;
  }

  @Override
  public Integer call() throws Exception {
    Path start = init;
    if (start == null) {
      start = out.resolve("init");
      if (!Files.isRegularFile(start.resolve("model.safetensors"))) {
        System.out.println("writing a fresh random pack of the demo model's shape to " + start);
        TinyPack.write(start, DemoModel.spec(), seed);
      }
    }
    if ("vision".equals(stage)) {
      Path fin =
          new VisionPretrainer(
                  new VisionPretrainer.Settings(
                      out, steps, batch, lr, warmup, seed, logEvery, cellTargets, wideFraction),
                  System.out)
              .run(start);
      if (ship != null) {
        PackExport.toF16(fin, ship);
        System.out.println("shipped an F16 copy to " + ship);
      }
      return 0;
    }
    if (!"qa".equals(stage)) {
      throw new IllegalArgumentException("--stage must be qa or vision, got " + stage);
    }
    List<Integer> frameChoices =
        frames != null && !frames.isEmpty() ? frames : TrainConfig.frameRange(minFrames, maxFrames);
    AttendAt at =
        switch (attendAt) {
          case "answer" -> AttendAt.ANSWER;
          case "word" -> AttendAt.WORD;
          case "ends" -> AttendAt.ENDS;
          default ->
              throw new IllegalArgumentException(
                  "--attend-at must be answer, word or ends, got " + attendAt);
        };
    TrainConfig config =
        new TrainConfig(
            out,
            steps,
            batch,
            frameChoices,
            lr,
            warmup,
            weightDecay,
            clip,
            seed,
            logEvery,
            checkpointEvery,
            freezeVision,
            new AuxLosses(attendWeight, at, contentWeight, contentLayer, strayWeight, mapWeight));
    String captionPrompt = WorkerConfig.defaults().captionPrompt();
    Trainer.Summary s =
        new Trainer(
                config,
                new ShapesExamples(
                    captionFraction,
                    captionPrompt,
                    weights(),
                    sameColourFraction,
                    sameKindFraction,
                    contentAnswer,
                    wideFraction),
                System.out)
            .run(start);
    System.out.printf(
        "done: %d steps in %.0f s, loss %.4f, token accuracy %.3f, %,d parameters -> %s%n",
        s.steps(), s.seconds(), s.lastLoss(), s.lastTokenAccuracy(), s.parameters(), s.finalPack());
    if (ship != null) {
      PackExport.toF16(s.finalPack(), ship);
      System.out.println("shipped an F16 copy to " + ship);
    }
    return 0;
  }
}
