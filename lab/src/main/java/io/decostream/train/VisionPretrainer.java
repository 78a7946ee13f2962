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
import io.decostream.shapes.WideClips;
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
   * @param wideFraction share of frames from the wider world of issue 23 point 4 (its frame sizes,
   *     squeezed to the tower's square input as the processor does, its speeds and backgrounds)
   */
  public record Settings(
      Path out,
      int steps,
      int batch,
      double peakLr,
      int warmup,
      long seed,
      int logEvery,
      boolean cellTargets,
      double wideFraction) {

    /** Patch targets only (the recipe's first two vision legs). */
    public Settings(
        Path out, int steps, int batch, double peakLr, int warmup, long seed, int logEvery) {
      this(out, steps, batch, peakLr, warmup, seed, logEvery, false, 0);
    }

    public Settings {
      if (steps < 1 || batch < 1 || !(peakLr > 0) || warmup < 0 || logEvery < 1) {
        throw new IllegalArgumentException("invalid vision pre-training settings: " + this);
      }
      if (!(wideFraction >= 0 && wideFraction <= 1)) {
        throw new IllegalArgumentException("wideFraction must be in [0, 1], got " + wideFraction);
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
    int ref = ShapesWorld.REFERENCE_SIZE;
    return patchClasses(scene, t, grid, ref, ref);
  }

  /**
   * As above for a frame rendered at {@code width} x {@code height} and squeezed to the tower's
   * square: a shape keeps its aspect in the frame, so its box is narrower on the squeezed axis.
   */
  static int[] patchClasses(Scene scene, double t, int grid, int width, int height) {
    double cell = (double) ShapesWorld.REFERENCE_SIZE / grid;
    int[] out = new int[grid * grid];
    for (int r = 0; r < grid; r++) {
      for (int c = 0; c < grid; c++) {
        Box patch = new Box(c * cell, r * cell, (c + 1) * cell, (r + 1) * cell);
        double best = COVER * patch.area();
        for (io.decostream.shapes.Shape s : scene.shapes()) {
          double a = squeezedBox(s, t, width, height).intersectionArea(patch);
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
   * The shape's box in reference coordinates once a {@code width} x {@code height} frame is
   * squeezed to a square ({@link io.decostream.shapes.Scene#stateOf}: the centre scales with the
   * frame, the size with its shorter side).
   */
  static Box squeezedBox(io.decostream.shapes.Shape s, double t, int width, int height) {
    if (width == height) {
      return s.referenceBox(t);
    }
    double sx = width / (double) ShapesWorld.REFERENCE_SIZE;
    double sy = height / (double) ShapesWorld.REFERENCE_SIZE;
    double side = s.size() * Math.min(sx, sy) / 2;
    double hx = side / sx;
    double hy = side / sy;
    double cx = s.centerX(t);
    double cy = s.centerY(t);
    return new Box(cx - hx, cy - hy, cx + hx, cy + hy);
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
      Map<String, NDArray> params = towerParameters(pack);
      Heads heads = Heads.create(hm, pack, settings);
      params.putAll(heads.all());
      long visionCount = params.values().stream().mapToLong(p -> p.getShape().size()).sum();
      progress.printf(
          "vision pre-training: %,d parameters (tower + heads), %d steps, batch %d frames%n",
          visionCount, settings.steps(), settings.batch());
      AdamW opt =
          new AdamW(params, 0.9, 0.98, 1e-8, 0.01, n -> AdamW.decaysByDefault(n, params.get(n)));
      LrSchedule lr = new LrSchedule(settings.peakLr(), settings.warmup(), settings.steps(), 0.1);
      PositionTargets positions = PositionTargets.of(pack.config().visionConfig().gridSize());
      Progress shown = new Progress();
      for (int step = 1; step <= settings.steps(); step++) {
        Batch batch = batch(pack, step);
        StepResult r = forwardBackward(pack, heads, positions, batch);
        List<String> bad = new ArrayList<>();
        double norm = opt.clipOrSkip(r.loss(), 1.0, bad);
        if (!Double.isFinite(norm)) {
          progress.printf(
              "step %d: non-finite loss or gradient, batch skipped (first %s)%n",
              step, bad.stream().limit(3).toList());
          continue;
        }
        opt.update(lr.at(step));
        shown.add(r);
        if (step % settings.logEvery() == 0 || step == settings.steps()) {
          report(step, r, shown, lr.at(step));
        }
      }
      return save(pack);
    }
  }

  /** The tower's tensors, which train; the projector's and the LLM's stop recording gradients. */
  private static Map<String, NDArray> towerParameters(TrainablePack pack) {
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
    return params;
  }

  /**
   * The training-only heads on the tower's features: what covers each patch, its row and its
   * column; with {@link Settings#cellTargets} also the pooled cells' shape classes and centre
   * offsets (null otherwise). Dropped when the stage ends.
   */
  private record Heads(
      NDArray wWhat,
      NDArray bWhat,
      NDArray wRow,
      NDArray wCol,
      NDArray bPos,
      Map<String, NDArray> all) {

    static Heads create(NDManager hm, TrainablePack pack, Settings settings) {
      int dv = pack.config().visionConfig().hiddenSize();
      int g = pack.config().visionConfig().gridSize();
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
      return new Heads(wWhat, bWhat, wRow, wCol, bPos, allHeads);
    }
  }

  /**
   * Row and column targets, the same for every frame: patch p sits at (p / g, p % g); one-hot [g *
   * g, g] each.
   */
  private record PositionTargets(int grid, float[] rowHot, float[] colHot) {
    static PositionTargets of(int g) {
      float[] rowHot = new float[g * g * g];
      float[] colHot = new float[g * g * g];
      for (int p = 0; p < g * g; p++) {
        rowHot[p * g + p / g] = 1;
        colHot[p * g + p % g] = 1;
      }
      return new PositionTargets(g, rowHot, colHot);
    }
  }

  /**
   * One step's frames and targets: pixels [B, 3, S, S], the patch classes one-hot [B, N, C] and as
   * labels [B, N], how many patches are covered, and with cell targets the cells' one-hot classes,
   * centre offsets and mask.
   */
  private record Batch(
      int size,
      float[] pixels,
      float[] what,
      int[] labels,
      int covered,
      float[] cellHot,
      float[] cellOffset,
      float[] cellMask) {}

  /** The frames of step {@code step}, from a random state derived from (seed, step) alone. */
  private Batch batch(TrainablePack pack, int step) {
    int g = pack.config().visionConfig().gridSize();
    int s = pack.config().visionConfig().imageSize();
    int cells = g / pack.config().spatialPoolStride();
    int classes = CLASSES - 1;
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
      int w = ShapesWorld.REFERENCE_SIZE;
      int h = ShapesWorld.REFERENCE_SIZE;
      Scene scene;
      if (settings.wideFraction() > 0 && rng.nextDouble() < settings.wideFraction()) {
        int[] wh = WideClips.SIZES.get(rng.nextInt(WideClips.SIZES.size()));
        w = wh[0];
        h = wh[1];
        scene = SceneGenerator.generate(rng.nextLong(), 16, SceneGenerator.Ranges.WIDE);
      } else {
        scene = SceneGenerator.generate(rng.nextLong(), 16);
      }
      double t = rng.nextInt(16);
      byte[] rgb = ShapesRenderer.renderRgb(scene, t, w, h);
      float[] one = pack.processor().preprocess(new RgbImage(w, h, rgb));
      System.arraycopy(one, 0, px, i * one.length, one.length);
      int[] cls = patchClasses(scene, t, g, w, h);
      for (int p = 0; p < g * g; p++) {
        labels[i * g * g + p] = cls[p];
        what[(i * g * g + p) * CLASSES + cls[p]] = 1;
        covered += cls[p] == 0 ? 0 : 1;
      }
      if (settings.cellTargets()) {
        CellTargets ct = cellTargets(scene, t, cells);
        System.arraycopy(ct.hot(), 0, cellHot, i * ct.hot().length, ct.hot().length);
        System.arraycopy(ct.offset(), 0, cellOffset, i * ct.offset().length, ct.offset().length);
        System.arraycopy(ct.mask(), 0, cellMask, i * ct.mask().length, ct.mask().length);
      }
    }
    return new Batch(b, px, what, labels, covered, cellHot, cellOffset, cellMask);
  }

  /**
   * What one step measured: the loss, the covered patches' accuracy, and with cell targets the
   * cells' recall and the offsets' RMS error (NaN otherwise).
   */
  private record StepResult(float loss, double acc, double cellRecall, double offsetRmse) {}

  /** The heads' losses on the batch's tower features, and their gradients. */
  private StepResult forwardBackward(
      TrainablePack pack, Heads heads, PositionTargets positions, Batch batch) {
    int b = batch.size();
    int g = positions.grid();
    int s = pack.config().visionConfig().imageSize();
    try (NDManager m = pack.manager().newSubManager();
        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      // [B, 3, S, S] -> [B, N, Dv]: the features the connector will see
      NDArray feats =
          pack.tower()
              .forward(
                  m.create(batch.pixels(), new Shape(b, 3, s, s)),
                  pack.config().visionHiddenStateIndex(),
                  true);
      NDArray logits =
          Linear.linear(feats, heads.wWhat(), heads.bWhat()).singletonOrThrow(); // [B, N, C]
      NDArray total = patchLoss(m, heads, positions, batch, feats, logits);
      double cellRecall = Double.NaN;
      double offsetRmse = Double.NaN;
      if (settings.cellTargets()) {
        int cells = g / pack.config().spatialPoolStride();
        // the connector's view: AdaptiveAvgPool to P x P cells (DeCo's compressor), [B, P*P, Dv]
        NDArray pooled = AdaptivePool2d.pool(feats, g, g, cells, cells, PoolingMode.AVG);
        CellLoss cell = cellLoss(m, heads, batch, pooled, cells);
        total = total.add(cell.bce()).add(cell.mse());
        cellRecall = cell.recall();
        offsetRmse = Math.sqrt(cell.mse().getFloat());
      }
      float loss = total.getFloat();
      double acc = labelledAccuracy(logits, batch.labels());
      gc.backward(total);
      return new StepResult(loss, acc, cellRecall, offsetRmse);
    }
  }

  /**
   * The patch heads' loss: the weighted cross-entropy of what covers each patch plus half the row
   * and column cross-entropy.
   */
  private static NDArray patchLoss(
      NDManager m,
      Heads heads,
      PositionTargets positions,
      Batch batch,
      NDArray feats,
      NDArray logits) {
    int b = batch.size();
    int g = positions.grid();
    NDArray rowLogits =
        Linear.linear(feats, heads.wRow(), heads.bPos()).singletonOrThrow(); // [B, N, g]
    NDArray colLogits =
        Linear.linear(feats, heads.wCol(), heads.bPos()).singletonOrThrow(); // [B, N, g]
    // covered patches are rare: weight them so "none everywhere" is not a cheap minimum
    int[] labels = batch.labels();
    int covered = batch.covered();
    float[] weights = new float[b * g * g];
    double coverWeight = covered == 0 ? 1 : Math.min(8.0, (double) (b * g * g - covered) / covered);
    for (int i = 0; i < labels.length; i++) {
      weights[i] = labels[i] == 0 ? 1f : (float) coverWeight;
    }
    NDArray w = m.create(weights, new Shape(b, g * g));
    NDArray ceWhat =
        weightedCrossEntropy(logits, m.create(batch.what(), new Shape(b, g * g, CLASSES)), w);
    NDArray rowT = m.create(positions.rowHot(), new Shape(1, g * g, g));
    NDArray colT = m.create(positions.colHot(), new Shape(1, g * g, g));
    NDArray cePos =
        Scalars.div(
            rowLogits
                .logSoftmax(-1)
                .mul(rowT)
                .sum()
                .add(colLogits.logSoftmax(-1).mul(colT).sum())
                .neg(),
            (float) (2.0 * b * g * g));
    return ceWhat.add(Scalars.mul(cePos, 0.5f));
  }

  /**
   * The cell heads' terms: binary cross-entropy of the centred classes, the offsets' masked squared
   * error, and the share of centred shapes whose cell says so (logit > 0; NaN without any).
   */
  private record CellLoss(NDArray bce, NDArray mse, double recall) {}

  private static CellLoss cellLoss(
      NDManager m, Heads heads, Batch batch, NDArray pooled, int cells) {
    int b = batch.size();
    int classes = CLASSES - 1;
    Map<String, NDArray> all = heads.all();
    NDArray cellLogits =
        Linear.linear(pooled, all.get("head.cell.weight"), all.get("head.cell.bias"))
            .singletonOrThrow(); // [B, P*P, 18]
    NDArray y = m.create(batch.cellHot(), new Shape(b, cells * cells, classes));
    // binary cross-entropy with logits, positives (a few of 162 per frame) weighted up
    NDArray logp = cellLogits.neg().exp().add(1f).log().neg(); // log sigmoid(z)
    NDArray log1mp = logp.sub(cellLogits); // log(1 - sigmoid(z)) = log sigmoid(z) - z
    NDArray bce = Scalars.mul(y.mul(logp), 8f).add(y.neg().add(1f).mul(log1mp)).neg().mean();
    NDArray off =
        Linear.linear(pooled, all.get("head.offset.weight"), all.get("head.offset.bias"))
            .singletonOrThrow(); // [B, P*P, 2]
    NDArray mk = m.create(batch.cellMask(), new Shape(b, cells * cells, 1));
    NDArray mse =
        off.sub(m.create(batch.cellOffset(), new Shape(b, cells * cells, 2)))
            .square()
            .mul(mk)
            .sum()
            .div(mk.sum().mul(2f).add(1e-6f));
    // share of centred shapes whose cell says so (logit > 0)
    float[] z = cellLogits.toFloatArray();
    int pos = 0;
    int hit = 0;
    for (int k = 0; k < z.length; k++) {
      if (batch.cellHot()[k] == 1) {
        pos++;
        hit += z[k] > 0 ? 1 : 0;
      }
    }
    return new CellLoss(bce, mse, pos == 0 ? Double.NaN : (double) hit / pos);
  }

  /** The progress line's running averages (factor 0.95) and the stage's start time. */
  private static final class Progress {
    private final long t0 = System.nanoTime();
    private double emaLoss = Double.NaN;
    private double emaAcc = Double.NaN;

    void add(StepResult r) {
      emaLoss = Double.isNaN(emaLoss) ? r.loss() : 0.95 * emaLoss + 0.05 * r.loss();
      if (Double.isFinite(r.acc())) {
        emaAcc = Double.isNaN(emaAcc) ? r.acc() : 0.95 * emaAcc + 0.05 * r.acc();
      }
    }
  }

  /** The progress line and the log line of step {@code step}. */
  private void report(int step, StepResult r, Progress shown, double rate) {
    double sec = (System.nanoTime() - shown.t0) / 1e9 / step;
    String cellPart =
        settings.cellTargets()
            ? String.format("  cell recall %.3f  offset rmse %.3f", r.cellRecall(), r.offsetRmse())
            : "";
    progress.printf(
        "%s vision step %d/%d  loss %.4f  covered-patch accuracy %.3f%s  lr %.2e  %.2f s/step  ETA %s%n",
        Trainer.bar(step, settings.steps()),
        step,
        settings.steps(),
        shown.emaLoss,
        shown.emaAcc,
        cellPart,
        rate,
        sec,
        Trainer.eta((settings.steps() - step) * sec));
    appendLog(step, r.loss(), shown.emaLoss, r.acc());
  }

  /** Writes the pack, the tower trained and the heads left out, to {@code out/final}. */
  private Path save(TrainablePack pack) {
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
