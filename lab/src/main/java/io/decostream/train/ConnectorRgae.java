package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.rgae.AttentionRecorder;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.rgae.RGae;
import io.decostream.shapes.Box;
import io.decostream.shapes.GroundingCheck;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.Scene;
import io.decostream.shapes.ShapesDataset;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The R-GAE analysis of the projector comparison (DeCo Figs. 1 and 3 in miniature, issue 23 point
 * 2), made from the weights saved runs left ({@link RunWeights}). For every held-out question that
 * names one object (the set of {@link ProjectorComparison}'s evaluation), each answer token is
 * explained (spec §7.5, §7.8): one backward pass from its logit, under teacher forcing, through the
 * LLM and, for a Q-Former, through the Q-Former's taps. Text-to-Patch of the window's last frame is
 * {@code TtQ · M} (§7.6) with M the connector's Query-to-Patch map: the §7.4 rule for the Q-Former,
 * identity for the linear connector, the pooling windows for avg pooling and for the C-Abstractor
 * (its §7.6 PROPOSAL), the channel-argmax map for max pooling. Summed over the answer's tokens, the
 * map's share inside the named object's box ({@link GroundingCheck#shareInside}: the box at the
 * last frame's time, grown by one patch, as the eval's grounding check) is the run's locality;
 * chance is a uniform map's share (the box's patch share).
 */
public final class ConnectorRgae {

  /**
   * One explained answer: its held-out scene, the last frame, its Text-to-Patch [g*g], the box, the
   * locality.
   */
  public record Answer(
      int scene,
      String question,
      String answer,
      RgbImage frame,
      float[] textToPatch,
      Box box,
      double share) {}

  /**
   * One run's figures; {@code note} says why a run has none (not run, or no saved weights).
   *
   * @param queryToPatch the connector's [M, g*g] map of the first explained frame
   */
  public record Run(
      String variant,
      long seed,
      int grid,
      int questions,
      double locality,
      double chance,
      QueryToPatch queryToPatch,
      List<Answer> examples,
      String note) {}

  private ConnectorRgae() {}

  /**
   * Analyses {@code <out>/<variant>-s<seed>} for each pair; keeps the first {@code keepExamples}
   * answers' maps for the pictures. A run analysed before with the same settings is read from its
   * {@link RgaeCache} file (no weights needed); a fresh analysis is written there.
   */
  public static List<Run> analyse(
      Path base,
      Path out,
      List<String> variants,
      List<Long> seeds,
      int frames,
      int scenes,
      long evalSeed,
      int keepExamples,
      PrintStream progress) {
    List<Run> runs = new ArrayList<>();
    for (String v : variants) {
      for (long seed : seeds) {
        Path dir = out.resolve(v + "-s" + seed);
        RgaeCache.Settings settings =
            new RgaeCache.Settings(frames, scenes, evalSeed, keepExamples);
        Optional<Run> kept =
            Files.isRegularFile(dir.resolve("result.json"))
                ? RgaeCache.load(dir, v, seed, settings)
                : Optional.empty();
        String missing =
            !Files.isRegularFile(dir.resolve("result.json"))
                ? "not run"
                : kept.isEmpty() && !RunWeights.saved(dir)
                    ? "finished before runs saved their weights"
                    : null;
        if (kept.isPresent()) {
          Run r = kept.get();
          runs.add(r);
          progress.printf(
              "%s seed %d: locality %.4f (chance %.4f) over %d questions (kept in %s)%n",
              v, seed, r.locality(), r.chance(), r.questions(), RgaeCache.FILE);
        } else if (missing != null) {
          progress.printf("%s seed %d: %s, skipped%n", v, seed, missing);
          runs.add(new Run(v, seed, 0, 0, Double.NaN, Double.NaN, null, List.of(), missing));
        } else {
          Run r = analyseRun(base, dir, v, seed, frames, scenes, evalSeed, keepExamples);
          RgaeCache.save(dir, r, settings);
          runs.add(r);
          progress.printf(
              "%s seed %d: locality %.4f (chance %.4f) over %d questions%n",
              v, seed, r.locality(), r.chance(), r.questions());
        }
      }
    }
    return runs;
  }

  private static Run analyseRun(
      Path base, Path dir, String v, long seed, int frames, int scenes, long evalSeed, int keep) {
    try (TrainablePack pack = TrainablePack.open(base);
        NDManager cm = pack.manager().newSubManager()) {
      pack.parameters().values().forEach(p -> p.setRequiresGradient(false));
      Connector connector = ComparisonVariants.get(v).build(cm, pack.config(), seed);
      RunWeights.load(dir, connector.parameters(), pack.languageModelParameters());
      VideoQaForward fwd = new VideoQaForward(pack, connector);
      int grid = pack.config().visionConfig().gridSize();
      List<Answer> answers = new ArrayList<>();
      QueryToPatch[] firstMap = new QueryToPatch[1];
      double sum = 0;
      double chance = 0;
      int n = 0;
      for (int i = 0; i < scenes; i++) {
        ProjectorComparison.HeldOut h = ProjectorComparison.heldOut(evalSeed, i, frames);
        Scene scene = h.scene();
        ShapesDataset.SampleSpec spec = h.spec();
        ShapesDataset.Sample s = h.sample();
        List<RgbImage> images = h.images();
        for (QaPair q : s.questions()) {
          Optional<GroundingCheck> check =
              GroundingCheck.of(scene, q, spec.lastSecond(), grid, grid);
          if (check.isEmpty()) {
            continue;
          }
          ExampleEncoder.Encoded e = fwd.encoder().encode(images, q.question(), q.answer());
          float[] ttp = textToPatch(pack, connector, v, e, grid, firstMap);
          double share = check.get().shareInside(ttp);
          if (Double.isNaN(share)) {
            continue; // no positive relevance on the last frame: nothing to place
          }
          sum += share;
          float[] uniform = new float[grid * grid];
          Arrays.fill(uniform, 1f);
          chance += check.get().shareInside(uniform);
          if (answers.size() < keep) {
            answers.add(
                new Answer(
                    i,
                    q.question(),
                    q.answer(),
                    images.get(images.size() - 1),
                    ttp,
                    check.get().grownBox(),
                    share));
          }
          n++;
        }
      }
      return new Run(
          v,
          seed,
          grid,
          n,
          sum / Math.max(1, n),
          chance / Math.max(1, n),
          firstMap[0],
          answers,
          "");
    }
  }

  /**
   * Text-to-Patch of the last frame, summed over the answer's tokens (EOS excluded): per token one
   * explained step through the connector and the LLM; {@code firstMap[0]} gets the connector's
   * Query-to-Patch map of the first frame explained.
   */
  private static float[] textToPatch(
      TrainablePack pack,
      Connector connector,
      String variant,
      ExampleEncoder.Encoded e,
      int grid,
      QueryToPatch[] firstMap) {
    int f = e.frames();
    int s = pack.config().visionConfig().imageSize();
    int[] target = answerTokens(pack, e.targetIds());
    float[] sum = new float[grid * grid];
    try (NDManager m = pack.manager().newSubManager()) {
      NDArray feats =
          pack.tower()
              .forward(
                  m.create(e.pixels(), new Shape(f, 3, s, s)),
                  pack.config().visionHiddenStateIndex(),
                  true); // [F, P, Dv]
      for (int k = 0; k < target.length; k++) {
        try (NDManager sm = m.newSubManager()) {
          QueryToPatch[] map = new QueryToPatch[1];
          float[] ttq = explain(pack, connector, variant, feats, e, target, k, sm, map);
          int mTok = connector.tokensPerFrame();
          float[] last = Arrays.copyOfRange(ttq, (f - 1) * mTok, f * mTok);
          float[] ttp = map[0].apply(last);
          for (int p = 0; p < sum.length; p++) {
            sum[p] += ttp[p];
          }
          if (firstMap[0] == null) {
            firstMap[0] = map[0];
          }
        }
      }
    }
    return sum;
  }

  /** The answer's tokens: the target without its closing EOS. */
  private static int[] answerTokens(TrainablePack pack, int[] targetIds) {
    List<Integer> eos = pack.config().textConfig().eosTokenIds();
    int n = targetIds.length;
    while (n > 1 && eos.contains(targetIds[n - 1])) {
      n--;
    }
    return Arrays.copyOf(targetIds, n);
  }

  /**
   * One explained step (spec §7.8): {@code [prefix | visual rows | question + answer[0..k)]}, the
   * logit of {@code answer[k]} at the last row, one backward; returns Text-to-Query over the F·M
   * visual rows and puts the last frame's Query-to-Patch map in {@code map[0]}.
   */
  private static float[] explain(
      TrainablePack pack,
      Connector connector,
      String variant,
      NDArray feats,
      ExampleEncoder.Encoded e,
      int[] target,
      int k,
      NDManager m,
      QueryToPatch[] map) {
    LlamaModel llm = pack.llm();
    int f = e.frames();
    int mTok = connector.tokensPerFrame();
    int grid = pack.config().visionConfig().gridSize();
    int[] suffix = new int[e.questionIds().length + k];
    System.arraycopy(e.questionIds(), 0, suffix, 0, e.questionIds().length);
    System.arraycopy(target, 0, suffix, e.questionIds().length, k);
    int visualStart = e.prefix().length;
    try (AttentionRecorder rec = new AttentionRecorder(m);
        AttentionRecorder self = new AttentionRecorder(m);
        AttentionRecorder cross = new AttentionRecorder(m)) {
      int len = visualStart + f * mTok + suffix.length;
      try (GradientCollector gc = m.getEngine().newGradientCollector()) {
        NDArray rows =
            connector instanceof BaselineConnectors.QFormerConnector qc
                ? qc.forwardTapped(feats, self, cross)
                : connector.forward(feats);
        rows = rows.reshape((long) f * mTok, llm.hiddenSize());
        NDArray seq =
            NDArrays.concat(
                new NDList(llm.embed(m, e.prefix()), rows, llm.embed(m, suffix)), 0); // [L, D]
        NDArray logits = llm.forwardTapped(seq, rec);
        logits.attach(m);
        gc.backward(logits.get(new NDIndex("{}, {}", len - 1, target[k]))); // pre-softmax (§7.1)
      }
      float[] row = RGae.lastRow(rec.headAveraged(m)).toFloatArray();
      map[0] =
          connector instanceof BaselineConnectors.QFormerConnector qc
              ? QueryToPatch.of(
                  mTok,
                  grid * grid,
                  QFormerRelevance.fold(qc.qformer().config(), self, cross, m, f - 1, grid * grid))
              : staticMap(variant, feats, f - 1, grid, mTok);
      return Arrays.copyOfRange(row, visualStart, visualStart + f * mTok);
    }
  }

  /**
   * §7.6 for the connectors without attention: identity (linear), the windows (avg pooling and,
   * PROPOSAL, the C-Abstractor), the channel-argmax map of the frame's features (max pooling).
   */
  static QueryToPatch staticMap(String variant, NDArray feats, int frame, int grid, int tokens) {
    int side = (int) Math.round(Math.sqrt(tokens));
    if (tokens == grid * grid) {
      return QueryToPatch.identity(tokens);
    }
    if (variant.startsWith("maxpool")) {
      float[] x = feats.get(frame).toFloatArray(); // [P, Dv]
      int dim = (int) feats.getShape().get(2);
      return QueryToPatch.adaptiveMax(x, grid, grid, dim, side, side);
    }
    return QueryToPatch.adaptiveAvg(grid, grid, side, side);
  }
}
