package io.decostream.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.image.RgbImage;
import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.PoolingMode;
import io.decostream.projector.Scalars;
import io.decostream.shapes.Box;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapeColor;
import io.decostream.shapes.ShapeKind;
import io.decostream.shapes.ShapesRenderer;
import io.decostream.shapes.ShapesWorld;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Stage 0 of the ShapesWorld recipe: the stand-in for CLIP's pre-training. DeCo and LLaVA start
 * from a vision tower whose patch features already say what is where; a ViT trained from scratch
 * through the LLM's loss alone learns global features (colour and count come, shape and position
 * stay at chance), so before the LLM stages the tower is trained on dense per-patch targets: which
 * shape (colour x kind, or none) covers the patch, and the patch's row and column. The three linear
 * heads are training-only and are dropped; only the tower's weights change in the pack.
 */
public final class VisionPretrainer {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Classes of the "what covers this patch" head: none, then colour x kind. */
  static final int CLASSES = 1 + ShapeColor.values().length * ShapeKind.values().length;

  /** A patch counts as covered when a shape's box overlaps this share of it. */
  static final double COVER = 0.15;

  /**
   * Settings of the stage.
   *
   * @param cellTargets also train two heads on the pooled cells the connector sees (see {@link
   *     #cellTargets})
   */
  public record Settings(
      Path out,
      int steps,
      int batch,
      double peakLr,
      int warmup,
      long seed,
      int logEvery,
      boolean cellTargets) {

    /** Patch targets only (the recipe's first two vision legs). */
    public Settings(
        Path out, int steps, int batch, double peakLr, int warmup, long seed, int logEvery) {
      this(out, steps, batch, peakLr, warmup, seed, logEvery, false);
    }

    public Settings {
      if (steps < 1 || batch < 1 || !(peakLr > 0) || warmup < 0 || logEvery < 1) {
        throw new IllegalArgumentException("invalid vision pre-training settings: " + this);
      }
    }
  }

  private final Settings settings;
  private final PrintStream progress;

  public VisionPretrainer(Settings settings, PrintStream progress) {
    this.settings = settings;
    this.progress = progress;
  }

  /**
   * Per-patch targets of one frame: class index (0 = none, else 1 + colour*3 + kind of the shape
   * whose box covers the largest share of the patch, at least {@link #COVER}).
   */
  static int[] patchClasses(Scene scene, double t, int grid) {
    double cell = (double) ShapesWorld.REFERENCE_SIZE / grid;
    int[] out = new int[grid * grid];
    for (int r = 0; r < grid; r++) {
      for (int c = 0; c < grid; c++) {
        Box patch = new Box(c * cell, r * cell, (c + 1) * cell, (r + 1) * cell);
        double best = COVER * patch.area();
        for (io.decostream.shapes.Shape s : scene.shapes()) {
          double a = s.referenceBox(t).intersectionArea(patch);
          if (a >= best) {
            best = a;
            out[r * grid + c] =
                1 + s.color().ordinal() * ShapeKind.values().length + s.kind().ordinal();
          }
        }
      }
    }
    return out;
  }

  /**
   * Targets on the pooled grid (P x P cells of the connector's average pooling), per frame: {@code
   * hot[p * 18 + k]} is 1 when the shape of colour x kind class k (0-based, colour * 3 + kind) has
   * its centre in cell p, and {@code offset[p * 2 + {0, 1}]} is that centre's position inside the
   * cell (x, y in [-1, 1]) with {@code mask[p] = 1} (the first such shape when two centres share a
   * cell). Patch targets say what covers each patch; after 3x3 averaging that no longer tells which
   * cell holds a shape's centre (the position answer) nor where inside the cell it sits (what
   * motion within a cell changes), so these heads ask the pooled features for both.
   */
  static CellTargets cellTargets(Scene scene, double t, int cells) {
    int kinds = ShapeKind.values().length;
    int classes = CLASSES - 1;
    double size = ShapesWorld.REFERENCE_SIZE;
    double cell = size / cells;
    float[] hot = new float[cells * cells * classes];
    float[] offset = new float[cells * cells * 2];
    float[] mask = new float[cells * cells];
    int[] kind = new int[cells * cells];
    int[] colour = new int[cells * cells];
    for (io.decostream.shapes.Shape sh : scene.shapes()) {
      double cx = Math.min(size - 1e-9, Math.max(0, sh.centerX(t)));
      double cy = Math.min(size - 1e-9, Math.max(0, sh.centerY(t)));
      int c = (int) (cx / cell);
      int r = (int) (cy / cell);
      int p = r * cells + c;
      hot[p * classes + sh.color().ordinal() * kinds + sh.kind().ordinal()] = 1;
      if (mask[p] == 0) {
        mask[p] = 1;
        kind[p] = 1 + sh.kind().ordinal();
        colour[p] = 1 + sh.color().ordinal();
        offset[p * 2] = (float) (2 * (cx / cell - c) - 1);
        offset[p * 2 + 1] = (float) (2 * (cy / cell - r) - 1);
      }
    }
    return new CellTargets(hot, offset, mask, kind, colour);
  }

  /**
   * See {@link #cellTargets}; {@code kind[p]} and {@code colour[p]} are 0 for a cell holding no
   * centre, else 1 + the ordinal of the (first) shape centred there (what {@code deco diagnose Var}
   * groups the pooled features by).
   */
  record CellTargets(float[] hot, float[] offset, float[] mask, int[] kind, int[] colour) {}

  /**
   * Trains the tower of {@code init} and writes the pack (everything else unchanged) to {@code
   * out/final}.
   */
  public Path run(Path init) {
    try (TrainablePack pack = TrainablePack.open(init);
        NDManager hm = pack.manager().newSubManager()) {
      Map<String, NDArray> params = new LinkedHashMap<>();
      pack.parameters()
          .forEach(
              (name, p) -> {
                boolean vision = pack.isVision(name);
                p.setRequiresGradient(vision);
                if (vision) {
                  params.put(name, p);
                }
              });
      int dv = pack.config().visionConfig().hiddenSize();
      int g = pack.config().visionConfig().gridSize();
      int s = pack.config().visionConfig().imageSize();
      SplittableRandom init0 = new SplittableRandom(settings.seed());
      NDArray wWhat = Init.normal(hm, init0, 0.02, CLASSES, dv);
      NDArray bWhat = hm.zeros(new Shape(CLASSES));
      NDArray wRow = Init.normal(hm, init0, 0.02, g, dv);
      NDArray wCol = Init.normal(hm, init0, 0.02, g, dv);
      NDArray bPos = hm.zeros(new Shape(g));
      Map<String, NDArray> heads =
          Map.of(
              "head.what.weight",
              wWhat,
              "head.what.bias",
              bWhat,
              "head.row.weight",
              wRow,
              "head.col.weight",
              wCol,
              "head.pos.bias",
              bPos);
      Map<String, NDArray> allHeads = new LinkedHashMap<>(heads);
      int stride = pack.config().spatialPoolStride();
      int cells = g / stride;
      int classes = CLASSES - 1;
      if (settings.cellTargets()) {
        // after the patch heads, so that the patch heads' initial values do not depend on this
        // switch
        allHeads.put("head.cell.weight", Init.normal(hm, init0, 0.02, classes, dv));
        allHeads.put("head.cell.bias", hm.zeros(new Shape(classes)));
        allHeads.put("head.offset.weight", Init.normal(hm, init0, 0.02, 2, dv));
        allHeads.put("head.offset.bias", hm.zeros(new Shape(2)));
      }
      allHeads.values().forEach(p -> p.setRequiresGradient(true));
      params.putAll(allHeads);
      long visionCount = params.values().stream().mapToLong(p -> p.getShape().size()).sum();
      progress.printf(
          "vision pre-training: %,d parameters (tower + heads), %d steps, batch %d frames%n",
          visionCount, settings.steps(), settings.batch());
      AdamW opt =
          new AdamW(params, 0.9, 0.98, 1e-8, 0.01, n -> AdamW.decaysByDefault(n, params.get(n)));
      LrSchedule lr = new LrSchedule(settings.peakLr(), settings.warmup(), settings.steps(), 0.1);
      // row and column targets are the same for every frame: patch p sits at (p / g, p % g)
      float[] rowHot = new float[g * g * g];
      float[] colHot = new float[g * g * g];
      for (int p = 0; p < g * g; p++) {
        rowHot[p * g + p / g] = 1;
        colHot[p * g + p % g] = 1;
      }
      double emaLoss = Double.NaN;
      double emaAcc = Double.NaN;
      long t0 = System.nanoTime();
      for (int step = 1; step <= settings.steps(); step++) {
        SplittableRandom rng = new SplittableRandom(settings.seed() * 0x9E3779B97F4A7C15L + step);
        int b = settings.batch();
        float[] px = new float[b * 3 * s * s];
        float[] what = new float[b * g * g * CLASSES];
        int[] labels = new int[b * g * g];
        float[] cellHot = new float[b * cells * cells * classes];
        float[] cellOffset = new float[b * cells * cells * 2];
        float[] cellMask = new float[b * cells * cells];
        int covered = 0;
        for (int i = 0; i < b; i++) {
          Scene scene = SceneGenerator.generate(rng.nextLong(), 16);
          double t = rng.nextInt(16);
          byte[] rgb =
              ShapesRenderer.renderRgb(
                  scene, t, ShapesWorld.REFERENCE_SIZE, ShapesWorld.REFERENCE_SIZE);
          float[] one =
              pack.processor()
                  .preprocess(
                      new RgbImage(ShapesWorld.REFERENCE_SIZE, ShapesWorld.REFERENCE_SIZE, rgb));
          System.arraycopy(one, 0, px, i * one.length, one.length);
          int[] cls = patchClasses(scene, t, g);
          for (int p = 0; p < g * g; p++) {
            labels[i * g * g + p] = cls[p];
            what[(i * g * g + p) * CLASSES + cls[p]] = 1;
            covered += cls[p] == 0 ? 0 : 1;
          }
          if (settings.cellTargets()) {
            CellTargets ct = cellTargets(scene, t, cells);
            System.arraycopy(ct.hot(), 0, cellHot, i * ct.hot().length, ct.hot().length);
            System.arraycopy(
                ct.offset(), 0, cellOffset, i * ct.offset().length, ct.offset().length);
            System.arraycopy(ct.mask(), 0, cellMask, i * ct.mask().length, ct.mask().length);
          }
        }
        float loss;
        double acc;
        double cellRecall = Double.NaN;
        double offsetRmse = Double.NaN;
        try (NDManager m = pack.manager().newSubManager();
            GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          // [B, 3, S, S] -> [B, N, Dv]: the features the connector will see
          NDArray feats =
              pack.tower()
                  .forward(
                      m.create(px, new Shape(b, 3, s, s)),
                      pack.config().visionHiddenStateIndex(),
                      true);
          NDArray logits = Linear.linear(feats, wWhat, bWhat).singletonOrThrow(); // [B, N, C]
          NDArray rowLogits = Linear.linear(feats, wRow, bPos).singletonOrThrow(); // [B, N, g]
          NDArray colLogits = Linear.linear(feats, wCol, bPos).singletonOrThrow(); // [B, N, g]
          // covered patches are rare: weight them so "none everywhere" is not a cheap minimum
          float[] weights = new float[b * g * g];
          double coverWeight =
              covered == 0 ? 1 : Math.min(8.0, (double) (b * g * g - covered) / covered);
          for (int i = 0; i < labels.length; i++) {
            weights[i] = labels[i] == 0 ? 1f : (float) coverWeight;
          }
          NDArray w = m.create(weights, new Shape(b, g * g));
          NDArray ceWhat =
              weightedCrossEntropy(logits, m.create(what, new Shape(b, g * g, CLASSES)), w);
          NDArray rowT = m.create(rowHot, new Shape(1, g * g, g));
          NDArray colT = m.create(colHot, new Shape(1, g * g, g));
          NDArray cePos =
              Scalars.div(
                  rowLogits
                      .logSoftmax(-1)
                      .mul(rowT)
                      .sum()
                      .add(colLogits.logSoftmax(-1).mul(colT).sum())
                      .neg(),
                  (float) (2.0 * b * g * g));
          NDArray total = ceWhat.add(Scalars.mul(cePos, 0.5f));
          // the connector's view: AdaptiveAvgPool to P x P cells (DeCo's compressor), [B, P*P, Dv]
          NDArray pooled =
              settings.cellTargets()
                  ? AdaptivePool2d.pool(feats, g, g, cells, cells, PoolingMode.AVG)
                  : null;
          if (settings.cellTargets()) {
            NDArray cellLogits =
                Linear.linear(
                        pooled, allHeads.get("head.cell.weight"), allHeads.get("head.cell.bias"))
                    .singletonOrThrow(); // [B, P*P, 18]
            NDArray y = m.create(cellHot, new Shape(b, cells * cells, classes));
            // binary cross-entropy with logits, positives (a few of 162 per frame) weighted up
            NDArray logp = cellLogits.neg().exp().add(1f).log().neg(); // log sigmoid(z)
            NDArray log1mp = logp.sub(cellLogits); // log(1 - sigmoid(z)) = log sigmoid(z) - z
            NDArray bce =
                Scalars.mul(y.mul(logp), 8f).add(y.neg().add(1f).mul(log1mp)).neg().mean();
            NDArray off =
                Linear.linear(
                        pooled,
                        allHeads.get("head.offset.weight"),
                        allHeads.get("head.offset.bias"))
                    .singletonOrThrow(); // [B, P*P, 2]
            NDArray mk = m.create(cellMask, new Shape(b, cells * cells, 1));
            NDArray mse =
                off.sub(m.create(cellOffset, new Shape(b, cells * cells, 2)))
                    .square()
                    .mul(mk)
                    .sum()
                    .div(mk.sum().mul(2f).add(1e-6f));
            total = total.add(bce).add(mse);
            // share of centred shapes whose cell says so (logit > 0), and the offsets' RMS error in
            // cell half-widths
            float[] z = cellLogits.toFloatArray();
            int pos = 0;
            int hit = 0;
            for (int k = 0; k < z.length; k++) {
              if (cellHot[k] == 1) {
                pos++;
                hit += z[k] > 0 ? 1 : 0;
              }
            }
            cellRecall = pos == 0 ? Double.NaN : (double) hit / pos;
            offsetRmse = Math.sqrt(mse.getFloat());
          }
          loss = total.getFloat();
          acc = labelledAccuracy(logits, labels);
          gc.backward(total);
        }
        List<String> bad = new ArrayList<>();
        double norm = opt.clipOrSkip(loss, 1.0, bad);
        if (!Double.isFinite(norm)) {
          progress.printf(
              "step %d: non-finite loss or gradient, batch skipped (first %s)%n",
              step, bad.stream().limit(3).toList());
          continue;
        }
        opt.update(lr.at(step));
        emaLoss = Double.isNaN(emaLoss) ? loss : 0.95 * emaLoss + 0.05 * loss;
        if (Double.isFinite(acc)) {
          emaAcc = Double.isNaN(emaAcc) ? acc : 0.95 * emaAcc + 0.05 * acc;
        }
        if (step % settings.logEvery() == 0 || step == settings.steps()) {
          double sec = (System.nanoTime() - t0) / 1e9 / step;
          String cellPart =
              settings.cellTargets()
                  ? String.format("  cell recall %.3f  offset rmse %.3f", cellRecall, offsetRmse)
                  : "";
          progress.printf(
              "%s vision step %d/%d  loss %.4f  covered-patch accuracy %.3f%s  lr %.2e  %.2f s/step  ETA %s%n",
              Trainer.bar(step, settings.steps()),
              step,
              settings.steps(),
              emaLoss,
              emaAcc,
              cellPart,
              lr.at(step),
              sec,
              Trainer.eta((settings.steps() - step) * sec));
          appendLog(step, loss, emaLoss, acc);
        }
      }
      Path fin = settings.out().resolve("final");
      pack.save(
          fin,
          Map.of(
              "stage",
              "vision",
              "steps",
              Integer.toString(settings.steps()),
              "seed",
              Long.toString(settings.seed())));
      progress.printf("wrote %s%n", fin);
      return fin;
    }
  }

  /**
   * Cross-entropy of {@code logits} [..., C] against one-hot targets, averaged with per-position
   * weights [...].
   */
  private static NDArray weightedCrossEntropy(NDArray logits, NDArray oneHot, NDArray weights) {
    int last = logits.getShape().dimension() - 1;
    return logits
        .logSoftmax(-1)
        .mul(oneHot)
        .sum(new int[] {last})
        .neg()
        .mul(weights)
        .sum()
        .div(weights.sum());
  }

  /**
   * Share of the positions with a label other than 0 (none) whose argmax is that label; NaN when
   * there are none.
   */
  private static double labelledAccuracy(NDArray logits, int[] labels) {
    float[] am = logits.argMax(-1).toType(DataType.FLOAT32, false).toFloatArray();
    int right = 0;
    int n = 0;
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] != 0) {
        n++;
        right += (int) am[i] == labels[i] ? 1 : 0;
      }
    }
    return n == 0 ? Double.NaN : (double) right / n;
  }

  private void appendLog(int step, float loss, double ema, double acc) {
    Trainer.appendLog(
        settings.out(),
        JSON.createObjectNode()
            .put("stage", "vision")
            .put("step", step)
            .put("loss", loss)
            .put("ema_loss", ema)
            .put("covered_patch_accuracy", acc));
  }
}
