package io.decostream.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import io.decostream.nn.rgae.AttentionRecorder;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.PoolingMode;
import io.decostream.shapes.GroundingCheck;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.QuestionType;
import io.decostream.shapes.Questions;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapesDataset;
import io.decostream.shapes.ShapesWorld;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Where the grounding check's stray mass comes from. For colour questions on 16-frame windows
 * (rendered frames, no codec), the R-GAE Text-to-Query row of the answer's colour word is split by
 * the layer that adds the relevance and by the rows it comes from, text or visual (r = e + sum_l
 * (r_{l+1} A_l) prod_{k<l} (I + A_k)); per part: its mass on the latest frame and the share of it
 * inside the shape's grown box; then the whole map's share as the eval computes it. Usage: Leak
 * PACK [scenes]. With {@code LEAK_ROWS} set, per layer the text rows that add mass outside the box;
 * with {@code LEAK_CASES} set, one line per case.
 */
public class LeakProbe {

  private static final ShapesDataset.SampleSpec SPEC =
      new ShapesDataset.SampleSpec(336, 336, 16, 16);

  public static void main(String[] a) throws Exception {
    int scenes = a.length > 1 ? Integer.parseInt(a[1]) : 40;
    try (TrainablePack pack = TrainablePack.open(Path.of(a[0]))) {
      // the weights as served: the probe reads the gradients of the attention taps only
      pack.parameters().values().forEach(p -> p.setRequiresGradient(false));
      LeakProbe probe = new LeakProbe(pack);
      for (int i = 0; i < scenes; i++) {
        probe.scene(i);
      }
      probe.print();
    }
  }

  private final TrainablePack pack;
  private final LlamaModel llm;
  private final PackTokenizer tok;
  private final int grid;
  private final int dv;
  private final int side;
  private final int mTok;
  private final int layers;

  /** Per layer and source (2 * layer + 0 text, + 1 visual): latest-frame mass and its inside. */
  private final double[] enterMass;

  private final double[] enterIn;
  private int cases;
  private int good;
  private double shareSum;

  private LeakProbe(TrainablePack pack) {
    this.pack = pack;
    this.llm = pack.llm();
    this.tok = pack.tokenizer();
    this.grid = pack.config().visionConfig().gridSize();
    this.dv = pack.config().visionConfig().hiddenSize();
    this.side = grid / 2;
    this.mTok = side * side;
    this.layers = llm.config().numHiddenLayers();
    this.enterMass = new double[2 * layers];
    this.enterIn = new double[2 * layers];
  }

  /** The colour questions of held-out scene {@code i}, on its latest 16-frame window. */
  private void scene(int i) {
    long seed = ShapesWorld.videoSeed(3000003L, i);
    Scene scene = SceneGenerator.generate(seed, 16);
    ShapesDataset.Sample s =
        ShapesDataset.sample(scene, SPEC.lastSecond(), SPEC, new SplittableRandom(seed));
    List<RgbImage> imgs =
        s.frames().stream().map(f -> new RgbImage(f.width(), f.height(), f.rgb())).toList();
    List<QaPair> colour =
        Questions.askable(scene, s.window()).stream()
            .filter(q -> q.type() == QuestionType.COLOR)
            .toList();
    if (colour.isEmpty()) {
      return;
    }
    List<float[]> feats = visionFeatures(imgs);
    int f = feats.size();
    float[] flat = new float[f * mTok * dv];
    for (int k = 0; k < f; k++) {
      float[] p = AdaptivePool2d.pool(feats.get(k), grid, grid, dv, side, side, PoolingMode.AVG);
      System.arraycopy(p, 0, flat, k * mTok * dv, p.length);
    }
    for (QaPair q : colour) {
      question(scene, q, flat, f);
    }
  }

  /** The tower's features of each frame (preprocessed, CLS dropped), as serving computes them. */
  private List<float[]> visionFeatures(List<RgbImage> frames) {
    List<float[]> pixels = new ArrayList<>(frames.size());
    for (RgbImage frame : frames) {
      pixels.add(pack.processor().preprocess(frame));
    }
    return pack.tower().features(pixels);
  }

  /** One colour question: its relevance decomposed by layer and source, and its share inside. */
  private void question(Scene scene, QaPair q, float[] flat, int f) {
    // the asked shape from the scene's ground truth, and the grounding check on the tower's
    // patch grid
    io.decostream.shapes.Shape shape = q.subject(scene).orElseThrow();
    GroundingCheck check = GroundingCheck.of(scene, q, SPEC.lastSecond(), grid, grid).orElseThrow();
    int[] ids = tok.encode(LlavaNextVideo.promptText(q.question()), true);
    int at = -1;
    for (int k = 0; k < ids.length; k++) {
      if (ids[k] == pack.config().videoTokenIndex()) {
        at = k;
      }
    }
    int target = tok.encode(q.answer(), false)[0];
    try (NDManager m = pack.manager().newSubManager();
        AttentionRecorder rec = new AttentionRecorder(m)) {
      List<float[]> abar = attention(m, rec, flat, f, ids, at, target);
      int len = ids.length - 1 + f * mTok; // <video> replaced by the frames' rows
      // per token the share of its patches inside the grown box (the grounding check's own
      // measure)
      float[] shares = check.tokenInsideShares(side);
      double[] tokIn = new double[mTok];
      for (int t = 0; t < mTok; t++) {
        tokIn[t] = shares[t];
      }
      Case c = new Case(ids, at, f, len, at + (f - 1) * mTok, tokIn);
      double[] r = relevance(c, abar);
      double total = 0;
      double inside = 0;
      for (int t = 0; t < mTok; t++) {
        double v = Math.max(0, r[c.latest() + t]);
        total += v;
        inside += v * tokIn[t];
      }
      double share = total > 0 ? inside / total : Double.NaN;
      if (System.getenv("LEAK_CASES") != null) {
        printCase(scene, shape, check, c, r, share, total);
      }
      cases++;
      shareSum += share;
      if (share >= 0.8) {
        good++;
      }
    }
  }

  /**
   * The sequence of one question: the prompt's ids around {@code <video>} at {@code at}, {@code f}
   * frames of visual rows, {@code len} rows in all, the latest frame's first row, and per token its
   * share inside the grown box.
   */
  private record Case(int[] ids, int at, int f, int len, int latest, double[] tokIn) {}

  /**
   * The decoder on {@code [prompt | visual rows | rest]} with its attention tapped, the backward
   * from the answer's first token at the last row; per layer the head-averaged relevance-weighted
   * attention [len, len].
   */
  private List<float[]> attention(
      NDManager m, AttentionRecorder rec, float[] flat, int f, int[] ids, int at, int target) {
    NDArray rows = pack.projector().forward(m.create(flat, new Shape((long) f * mTok, dv)));
    NDArray seq =
        NDArrays.concat(
            new NDList(
                llm.embed(m, Arrays.copyOfRange(ids, 0, at)),
                rows,
                llm.embed(m, Arrays.copyOfRange(ids, at + 1, ids.length))),
            0);
    int len = Math.toIntExact(seq.getShape().get(0));
    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      NDArray logits = llm.forwardTapped(seq, rec);
      gc.backward(logits.get(new NDIndex("{}, {}", len - 1, target)));
    }
    List<float[]> abar = new ArrayList<>();
    for (NDArray x : rec.headAveraged(m)) {
      abar.add(x.toFloatArray());
    }
    return abar;
  }

  /**
   * The last row's relevance r over the sequence, built from the top layer down; on the way, what
   * each layer adds to the latest frame from text and from visual rows (through the lower layers)
   * is tallied.
   */
  private double[] relevance(Case c, List<float[]> abar) {
    int len = c.len();
    double[] r = new double[len];
    r[len - 1] = 1;
    for (int l = layers - 1; l >= 0; l--) {
      double[] enter = rowTimes(r, abar.get(l), len);
      for (int src = 0; src < 2; src++) {
        tallyAdded(c, abar, r, l, src);
      }
      if (System.getenv("LEAK_ROWS") != null) {
        printRows(c, abar.get(l), r, l);
      }
      for (int j = 0; j < len; j++) {
        r[j] += enter[j];
      }
    }
    return r;
  }

  /**
   * What layer {@code l} adds from text rows (src 0) or from visual rows (src 1), through the lower
   * layers: its mass on the latest frame and the part inside the box.
   */
  private void tallyAdded(Case c, List<float[]> abar, double[] r, int l, int src) {
    int len = c.len();
    double[] from = new double[len];
    for (int j = 0; j < len; j++) {
      boolean visual = j >= c.at() && j < c.at() + c.f() * mTok;
      from[j] = visual == (src == 1) ? r[j] : 0;
    }
    double[] added = rowTimes(from, abar.get(l), len);
    for (int k = l - 1; k >= 0; k--) {
      double[] more = rowTimes(added, abar.get(k), len);
      for (int j = 0; j < len; j++) {
        added[j] += more[j];
      }
    }
    double mass = 0;
    double in = 0;
    for (int t = 0; t < mTok; t++) {
      double v = Math.max(0, added[c.latest() + t]);
      mass += v;
      in += v * c.tokIn()[t];
    }
    enterMass[2 * l + src] += mass;
    enterIn[2 * l + src] += in;
  }

  /**
   * Per text source row: the relevance it adds at layer {@code l} to the latest frame outside the
   * box (no lower mixing).
   */
  private void printRows(Case c, float[] a, double[] r, int l) {
    int len = c.len();
    StringBuilder sb = new StringBuilder("    layer " + l + " rows (from end: outside mass):");
    for (int j = c.at() + c.f() * mTok; j < len; j++) {
      double out = 0;
      for (int t = 0; t < mTok; t++) {
        out += r[j] * a[j * len + c.latest() + t] * (1 - c.tokIn()[t]);
      }
      if (out > 0.002) {
        sb.append(
            String.format(
                " %d:%s=%.3f", len - 1 - j, tok.piece(c.ids()[j - c.f() * mTok + 1]), out));
      }
    }
    System.out.println(sb);
  }

  /**
   * One case: the share, the shape, how many shapes, whether another shares its colour, and where
   * the outside mass lies (tokens by their outside mass, row-major).
   */
  private void printCase(
      Scene scene,
      io.decostream.shapes.Shape shape,
      GroundingCheck check,
      Case c,
      double[] r,
      double share,
      double total) {
    long sameColour =
        scene.shapes().stream().filter(x -> x != shape && x.color() == shape.color()).count();
    StringBuilder where = new StringBuilder();
    for (int t = 0; t < mTok; t++) {
      double v = Math.max(0, r[c.latest() + t]) * (1 - c.tokIn()[t]) / total;
      if (v > 0.02) {
        where.append(
            String.format(" t%d(%d,%d,in %.2f)=%.2f", t, t / side, t % side, c.tokIn()[t], v));
      }
    }
    System.out.printf(
        "  case %s %s %s size %.0f box %s shapes %d same-colour %d share %.3f total %.3f:%s%n",
        scene.seed(),
        shape.color().word(),
        shape.kind().word(),
        shape.size(),
        check.grownBox(),
        scene.shapes().size(),
        sameColour,
        share,
        total,
        where);
  }

  /** The tally over every case: the mean share, the passing share, and the parts by layer. */
  private void print() {
    System.out.printf(
        "%d colour questions on 16-frame windows: mean share %.1f%%, %.1f%% of cases >= 80%%%n",
        cases, 100 * shareSum / cases, 100.0 * good / cases);
    for (int l = layers - 1; l >= 0; l--) {
      for (int src = 0; src < 2; src++) {
        int k = 2 * l + src;
        System.out.printf(
            "  added at layer %d from %s rows: latest-frame mass %.4f per case, %.1f%% of it inside%n",
            l,
            src == 0 ? "text" : "visual",
            enterMass[k] / cases,
            100 * enterIn[k] / Math.max(1e-12, enterMass[k]));
      }
    }
  }

  /** r [len] times A [len, len] row-major. */
  static double[] rowTimes(double[] r, float[] a, int len) {
    double[] out = new double[len];
    for (int i = 0; i < len; i++) {
      if (r[i] == 0) {
        continue;
      }
      for (int j = 0; j < len; j++) {
        out[j] += r[i] * a[i * len + j];
      }
    }
    return out;
  }
}
