package io.decostream.nn.rgae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.decostream.nn.clip.ClipVisionTower;
import io.decostream.nn.llama.LlamaModel;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * R-GAE Text-to-Query maps of a Llama language model (DeCo App. A on top of GAE, spec §7.1, §7.2,
 * §7.5, §7.8).
 *
 * <p>One explained step: a tapped full forward (no KV cache) of the sequence under a {@code
 * GradientCollector} ({@link LlamaModel#forwardTapped} with an {@link AttentionRecorder}), {@code
 * backward} from the target's pre-softmax logit at the last position, {@code Ā_l =
 * mean_heads(relu(∂y/∂A_l ⊙ A_l))} per layer, {@code R = I_L}, {@code R ← R + Ā_l R} for l = 1..n,
 * Text-to-Query = {@code R[L-1, visual positions]} (raw row, identity start, no normalisation).
 *
 * <p>Only the last row of {@code R} is ever needed, and {@code e_{L-1}ᵀ (I+Ā_n)…(I+Ā_1)} is
 * computed as a row vector times each factor from the left ({@code r ← r + r Ā_l}, l = n..1):
 * O(n·L²) instead of the O(n·L³) of the full matrix product, and algebraically identical ({@link
 * #relevanceMatrix} gives the full R for checks and the ViT).
 *
 * <p>Concurrency: DJL's PyTorch engine allows a single {@code GradientCollector} per process, so
 * explanation passes are serialised on a global lock. Gradients flow only to the zero leaves;
 * weights and inputs are constants.
 */
public final class RGae {

  /** DJL PyTorch: "Only one [GradientCollector] can be collecting at a time" (process-wide). */
  private static final Object GRADIENT_LOCK = new Object();

  private RGae() {}

  /**
   * Explains {@code generatedIds.length} generation steps (spec §7.5): step t explains the sequence
   * {@code S_t = promptEmbeddings + embed(generatedIds[0..t-1])} with target {@code logits[L_t-1,
   * generatedIds[t]]}. Generated ids are embedded as plain tokens (never spliced), as in
   * generation.
   *
   * @param promptEmbeddings [P, D] F32: the prompt with the visual rows already spliced in (§4.4)
   * @param visualPositions the prompt rows holding visual tokens, in feature order (frame-major);
   *     their count is the length of every Text-to-Query row
   * @param generatedIds the tokens the model generated (greedy or sampled), in order; a final EOS
   *     may be included
   */
  public static Explanation explainGreedy(
      LlamaModel llm, NDArray promptEmbeddings, int[] visualPositions, int[] generatedIds) {
    Objects.requireNonNull(llm, "llm");
    Objects.requireNonNull(promptEmbeddings, "promptEmbeddings");
    Objects.requireNonNull(generatedIds, "generatedIds");
    int promptLen = checkSequence(llm, promptEmbeddings);
    checkPositions(visualPositions, promptLen);
    if (generatedIds.length == 0) {
      throw new IllegalArgumentException("no generated tokens to explain");
    }
    for (int i = 0; i < generatedIds.length; i++) {
      if (generatedIds[i] < 0 || generatedIds[i] >= llm.vocabSize()) {
        throw new IllegalArgumentException(
            "generated id "
                + generatedIds[i]
                + " at step "
                + i
                + " is outside the vocabulary [0, "
                + llm.vocabSize()
                + ")");
      }
    }
    long longest = (long) promptLen + generatedIds.length - 1;
    if (longest > llm.contextLength()) {
      throw new IllegalArgumentException(
          "explaining "
              + generatedIds.length
              + " steps needs "
              + longest
              + " positions, more than the context length "
              + llm.contextLength());
    }
    Explanation.Step[] steps = new Explanation.Step[generatedIds.length];
    try (NDManager m = promptEmbeddings.getManager().newSubManager()) {
      NDArray generated =
          generatedIds.length > 1
              ? llm.embed(m, java.util.Arrays.copyOf(generatedIds, generatedIds.length - 1))
              : null;
      for (int t = 0; t < generatedIds.length; t++) {
        try (NDManager sm = m.newSubManager()) {
          NDArray seq = promptEmbeddings;
          if (t > 0) {
            seq =
                NDArrays.concat(
                    new NDList(promptEmbeddings, generated.get(sm, new NDIndex("0:{}", t))), 0);
            seq.attach(sm); // concat lands on the prompt's (caller's) manager
          }
          steps[t] = explainStep(llm, seq, visualPositions, generatedIds[t]);
        }
      }
    }
    return new Explanation(List.of(steps));
  }

  /**
   * One explained step (spec §7.5 steps 1–3, §7.8): Text-to-Query {@code R[L-1, visualPositions]}
   * for the target token's logit at the last row of {@code sequence} [L, D].
   */
  public static Explanation.Step explainStep(
      LlamaModel llm, NDArray sequence, int[] visualPositions, int targetId) {
    Objects.requireNonNull(llm, "llm");
    int len = checkSequence(llm, sequence);
    checkPositions(visualPositions, len);
    if (targetId < 0 || targetId >= llm.vocabSize()) {
      throw new IllegalArgumentException(
          "target id " + targetId + " is outside the vocabulary [0, " + llm.vocabSize() + ")");
    }
    try (NDManager m = sequence.getManager().newSubManager();
        AttentionRecorder rec = new AttentionRecorder(m)) {
      float logit;
      int argmax;
      synchronized (GRADIENT_LOCK) {
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
          NDArray logits = llm.forwardTapped(sequence, rec);
          logits.attach(m);
          NDArray y =
              logits.get(new NDIndex("{}, {}", len - 1, targetId)); // pre-softmax logit (§7.1)
          gc.backward(y);
          logit = y.getFloat();
          argmax = (int) logits.get(new NDIndex("{}", len - 1)).argMax().getLong();
        }
      }
      if (rec.layers() != llm.config().numHiddenLayers()) {
        throw new IllegalStateException(
            "tapped " + rec.layers() + " layers, expected " + llm.config().numHiddenLayers());
      }
      List<NDArray> abars = rec.headAveraged(m);
      NDArray row = lastRow(abars);
      return new Explanation.Step(targetId, logit, argmax, gather(row, visualPositions));
    }
  }

  /**
   * One explained step with the ViT part (spec §7.7, §7.8): the CLIP tower, the caller's pooling +
   * projector and the LLM run as one graph; one backward from the target logit gives the LLM's
   * Text-to-Query (as {@link #explainStep}) and, per frame, the ViT relevance {@code R_v ← R_v +
   * Ā_v R_v} from {@code R_v = I} over the layers 1..hiddenStateIndex that feed the feature, {@code
   * V = R_v[1:, 1:]} (rows: output patch tokens, columns: input patches; CLS dropped). The full
   * chain per frame is {@code TtQ_f · M_f · V_f} ({@link VisionStep#chain}). PROPOSAL of the spec
   * (which variant DeCo's figures use is UNVERIFIED).
   *
   * @param pixels [F, 3, S, S] preprocessed frames
   * @param hiddenStateIndex the tower's feature layer (e.g. 23 for vision_feature_layer -2), CLS
   *     dropped
   * @param toVisualRows CLIP features [F, N, Dv] → the spliced visual rows [visualPositions.length,
   *     D] (pooling and projector, with differentiable DJL ops, e.g. {@code
   *     AdaptivePool2d.pool(NDArray, ...)} + {@code MlpProjector})
   * @param sequence [L, D] the sequence to explain; its rows at {@code visualPositions} are
   *     replaced by the visual rows
   */
  public static VisionStep explainStepWithVision(
      LlamaModel llm,
      ClipVisionTower tower,
      NDArray pixels,
      int hiddenStateIndex,
      UnaryOperator<NDArray> toVisualRows,
      NDArray sequence,
      int[] visualPositions,
      int targetId) {
    Objects.requireNonNull(llm, "llm");
    Objects.requireNonNull(tower, "tower");
    Objects.requireNonNull(pixels, "pixels");
    Objects.requireNonNull(toVisualRows, "toVisualRows");
    int len = checkSequence(llm, sequence);
    checkPositions(visualPositions, len);
    if (targetId < 0 || targetId >= llm.vocabSize()) {
      throw new IllegalArgumentException(
          "target id " + targetId + " is outside the vocabulary [0, " + llm.vocabSize() + ")");
    }
    try (NDManager m = sequence.getManager().newSubManager();
        AttentionRecorder vit = new AttentionRecorder(m);
        AttentionRecorder rec = new AttentionRecorder(m)) {
      float logit;
      int argmax;
      synchronized (GRADIENT_LOCK) {
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
          NDArray feats = tower.forwardTapped(pixels, hiddenStateIndex, true, vit);
          feats.attach(m);
          NDArray rows = toVisualRows.apply(feats);
          rows.attach(m);
          Shape want = new Shape(visualPositions.length, llm.hiddenSize());
          if (!rows.getShape().equals(want)) {
            throw new IllegalArgumentException(
                "toVisualRows returned " + rows.getShape() + ", expected " + want);
          }
          NDArray seq = splice(m, sequence, rows, visualPositions);
          NDArray logits = llm.forwardTapped(seq, rec);
          logits.attach(m);
          NDArray y = logits.get(new NDIndex("{}, {}", len - 1, targetId));
          gc.backward(y);
          logit = y.getFloat();
          argmax = (int) logits.get(new NDIndex("{}", len - 1)).argMax().getLong();
        }
      }
      float[] ttq = gather(lastRow(rec.headAveraged(m)), visualPositions);
      // ViT part: per frame R_v = Π (I + Ā_v) over the tapped layers, V = R_v[1:, 1:]
      long frames = pixels.getShape().get(0);
      NDArray rv = null;
      for (int l = 0; l < vit.layers(); l++) {
        NDArray a = vit.headAveragedPerItem(l, m); // [F, T, T]
        if (rv == null) {
          long t = a.getShape().get(1);
          rv = m.eye((int) t).expandDims(0).repeat(0, frames);
        }
        rv = rv.add(a.matMul(rv));
      }
      float[][] v = new float[(int) frames][];
      int n = tower.config().gridSize() * tower.config().gridSize();
      for (int f = 0; f < frames; f++) {
        v[f] =
            rv == null
                ? QueryToPatch.identity(n).matrix()
                : rv.get(new NDIndex("{}, 1:, 1:", f)).toFloatArray();
      }
      return new VisionStep(new Explanation.Step(targetId, logit, argmax, ttq), n, v);
    }
  }

  /**
   * Result of {@link #explainStepWithVision}.
   *
   * @param step the LLM part (Text-to-Query over all visual tokens)
   * @param patches N, patches per frame
   * @param vit per frame {@code V = R_v[1:, 1:]}, row-major [N, N]
   */
  public record VisionStep(Explanation.Step step, int patches, float[][] vit) {

    /** {@code V_f} as a chainable matrix. */
    public QueryToPatch vit(int frame) {
      return QueryToPatch.of(patches, patches, vit[frame]);
    }

    /** Full chain per frame {@code TtQ_f · M_f · V_f} (spec §7.7), [frames][N]. */
    public float[][] chain(List<QueryToPatch> queryToPatch) {
      if (queryToPatch.size() != vit.length) {
        throw new IllegalArgumentException(
            queryToPatch.size() + " Query-to-Patch matrices for " + vit.length + " frames");
      }
      List<QueryToPatch> chained = new java.util.ArrayList<>();
      for (int f = 0; f < vit.length; f++) {
        chained.add(queryToPatch.get(f).andThen(vit(f)));
      }
      return TextToPatch.perFrame(step.textToQuery(), chained);
    }
  }

  /**
   * {@code sequence} with rows {@code visualPositions} replaced by {@code rows}, differentiably in
   * {@code rows}.
   */
  private static NDArray splice(NDManager m, NDArray sequence, NDArray rows, int[] positions) {
    int len = Math.toIntExact(sequence.getShape().get(0));
    float[] keep = new float[len];
    java.util.Arrays.fill(keep, 1f);
    float[] select = new float[len * positions.length];
    for (int i = 0; i < positions.length; i++) {
      keep[positions[i]] = 0f;
      select[positions[i] * positions.length + i] = 1f;
    }
    NDArray k = m.create(keep, new Shape(len, 1));
    NDArray s = m.create(select, new Shape(len, positions.length));
    NDArray out = sequence.mul(k).add(s.matMul(rows));
    out.attach(m);
    return out;
  }

  /**
   * The last row of {@code R = (I+Ā_n)…(I+Ā_1)} (spec §7.2 rule {@code R ← R + Ā R} from {@code R =
   * I}), computed as {@code r = e_{L-1}}, {@code r ← r + r Ā_l} for l = n..1. Returns [L] on the
   * first map's manager.
   */
  public static NDArray lastRow(List<NDArray> abars) {
    NDArray first = checkSquare(abars);
    long n = first.getShape().get(0);
    NDManager m = first.getManager();
    NDArray r = m.zeros(new Shape(1, n), DataType.FLOAT32);
    r.set(new NDIndex("0, {}", n - 1), 1f);
    for (int l = abars.size() - 1; l >= 0; l--) {
      NDArray next = r.add(r.matMul(abars.get(l)));
      r.close();
      r = next;
    }
    return r.reshape(n);
  }

  /**
   * The full {@code R} after propagating {@code R ← R + Ā_l R} from {@code R = I} through all maps
   * (spec §7.2).
   */
  public static NDArray relevanceMatrix(List<NDArray> abars) {
    NDArray first = checkSquare(abars);
    long n = first.getShape().get(0);
    NDArray r = first.getManager().eye((int) n);
    for (NDArray a : abars) {
      NDArray next = r.add(a.matMul(r));
      r.close();
      r = next;
    }
    return r;
  }

  private static NDArray checkSquare(List<NDArray> abars) {
    Objects.requireNonNull(abars, "abars");
    if (abars.isEmpty()) {
      throw new IllegalArgumentException("no attention maps");
    }
    NDArray first = abars.get(0);
    Shape s = first.getShape();
    for (NDArray a : abars) {
      if (a.getShape().dimension() != 2 || !a.getShape().equals(s) || s.get(0) != s.get(1)) {
        throw new IllegalArgumentException(
            "head-averaged maps must all be [L, L], got " + a.getShape() + " and " + s);
      }
    }
    return first;
  }

  static float[] gather(NDArray row, int[] positions) {
    float[] all = row.toFloatArray();
    float[] out = new float[positions.length];
    for (int i = 0; i < positions.length; i++) {
      out[i] = all[positions[i]];
    }
    return out;
  }

  private static int checkSequence(LlamaModel llm, NDArray seq) {
    Objects.requireNonNull(seq, "sequence");
    Shape s = seq.getShape();
    if (s.dimension() != 2 || s.get(1) != llm.hiddenSize() || s.get(0) < 1) {
      throw new IllegalArgumentException(
          "sequence embeddings must be [L, " + llm.hiddenSize() + "], got " + s);
    }
    return Math.toIntExact(s.get(0));
  }

  private static void checkPositions(int[] positions, int len) {
    Objects.requireNonNull(positions, "visualPositions");
    if (positions.length == 0) {
      throw new IllegalArgumentException("no visual positions");
    }
    for (int p : positions) {
      if (p < 0 || p >= len) {
        throw new IllegalArgumentException(
            "visual position " + p + " is outside the sequence [0, " + len + ")");
      }
    }
  }
}
