package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llama.DecoderTrace;
import io.decostream.nn.llava.PromptTemplate;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.projector.Scalars;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The training forward of a {@code llava_next_video} pack, batched and differentiable, with exactly
 * the inference path's steps (spec §1.3, §3.3, §3.1, §4.4, §4.2): CLIP tower to {@code
 * vision_feature_layer}, CLS dropped, the config's average pooling BEFORE the projector, the
 * projector MLP, splicing the F·M rows in place of the vicuna_v1 prompt's {@code <video>} token,
 * the decoder, and a token-level cross-entropy on the target text (answer or caption, then EOS)
 * only.
 */
final class VideoQaForward {

  /**
   * One tokenized example: preprocessed frames, the prompt ids around {@code <video>}, and the
   * target ids.
   */
  record Encoded(
      float[] pixels,
      int frames,
      int[] prefix,
      int[] questionIds,
      int[] targetIds,
      float[] attend,
      float[] outside,
      int namingWord,
      int contentId) {
    Encoded {
      Objects.requireNonNull(pixels);
      if (frames < 1) {
        throw new IllegalArgumentException("an example needs at least one frame");
      }
    }

    int suffixLength() {
      return questionIds.length + targetIds.length;
    }
  }

  /**
   * Loss of a batch plus the counts for token accuracy; {@code exact[i]} says whether every target
   * token of example i is the argmax under teacher forcing, which for greedy decoding is the same
   * as generating exactly the target.
   */
  record Result(
      NDArray loss,
      int targetTokens,
      int correctTokens,
      int exactAnswers,
      int examples,
      boolean[] exact,
      int[][] predicted,
      int attendExamples,
      double attendMass,
      double[] attended,
      double relayMass,
      double endsMass,
      double contentLoss,
      double strayMass,
      double mapShare) {}

  private final TrainablePack pack;
  private final Connector connector;
  private final int eos;
  private final int pad;

  /**
   * Token ids of the colour and kind words, the words that name an object (for the naming word's
   * index).
   */
  private final java.util.Set<Integer> namingIds;

  /** The pack's own path: its config's spatial pooling, then its projector. */
  VideoQaForward(TrainablePack pack) {
    this(pack, packConnector(pack));
  }

  /** The pack's vision tower and LLM around another connector (the projector comparison). */
  VideoQaForward(TrainablePack pack, Connector connector) {
    this.pack = pack;
    this.connector = connector;
    List<Integer> eosIds = pack.config().textConfig().eosTokenIds();
    if (eosIds.isEmpty()) {
      throw new IllegalArgumentException("the pack's text config has no eos_token_id");
    }
    this.eos = eosIds.get(0);
    Integer p = pack.config().textConfig().padTokenId();
    this.pad = p == null ? eos : p;
    java.util.Set<Integer> ids = new java.util.HashSet<>();
    for (String w : NAMING_WORDS) {
      int[] one = pack.tokenizer().encode(w, false);
      if (one.length == 1 && w.equals(pack.tokenizer().decode(one, true).trim())) {
        ids.add(one[0]);
      }
    }
    this.namingIds = java.util.Set.copyOf(ids);
  }

  /** The text of token ids (teacher-forced predictions), for showing wrong answers. */
  String decode(int[] ids) {
    return pack.tokenizer().decode(ids, false);
  }

  NDManager manager() {
    return pack.manager();
  }

  /**
   * The connector between the tower and the LLM (pooling and projector), for probes of what the LLM
   * reads.
   */
  Connector connector() {
    return connector;
  }

  private static Connector packConnector(TrainablePack pack) {
    PooledConnector.Pool pool =
        switch (pack.config().spatialPoolMode()) {
          case "average" -> PooledConnector.Pool.AVG;
          case "max" -> PooledConnector.Pool.MAX;
          default ->
              throw new IllegalArgumentException(
                  "training supports spatial_pool_mode average or max, got "
                      + pack.config().spatialPoolMode());
        };
    int stride = pack.config().spatialPoolStride();
    return new PooledConnector(
        stride == 1 ? PooledConnector.Pool.NONE : pool,
        pack.config().visionConfig().gridSize(),
        stride,
        pack.projector(),
        java.util.Map.of());
  }

  /** Preprocesses and tokenizes one example: frames, question, target text (answer or caption). */
  Encoded encode(List<RgbImage> frames, String question, String target) {
    return encode(frames, question, target, List.of());
  }

  /**
   * As {@link #encode(List, String, String)}, plus the attention target: for each frame the box (in
   * the frames' pixels) of the object the question names, turned into a 0/1 mask over the frame's
   * pooled tokens (a token counts when the box covers at least {@value #ATTEND_COVER} of its
   * window); none when {@code boxes} is empty or the connector's tokens are not a square grid over
   * the frame.
   */
  Encoded encode(
      List<RgbImage> frames, String question, String target, List<io.decostream.shapes.Box> boxes) {
    return encode(frames, question, target, boxes, "");
  }

  /**
   * As above, plus the content loss's target word at the naming word (the named object's colour, or
   * see Example).
   */
  Encoded encode(
      List<RgbImage> frames,
      String question,
      String target,
      List<io.decostream.shapes.Box> boxes,
      String contentWord) {
    PackTokenizer tok = pack.tokenizer();
    int video = pack.config().videoTokenIndex();
    int[] ids = tok.encode(PromptTemplate.VICUNA_V1.render("<video>", question), true);
    int at = -1;
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == video) {
        at = i;
      }
    }
    if (at < 0) {
      throw new IllegalStateException("the tokenizer did not keep <video> as one token");
    }
    int[] answer = tok.encode(target, false);
    int[] targetIds = Arrays.copyOf(answer, answer.length + 1);
    targetIds[answer.length] = eos;
    int s = pack.config().visionConfig().imageSize();
    float[] pixels = new float[frames.size() * 3 * s * s];
    for (int f = 0; f < frames.size(); f++) {
      float[] one = pack.processor().preprocess(frames.get(f));
      System.arraycopy(one, 0, pixels, f * one.length, one.length);
    }
    float[] attend = boxes.isEmpty() ? null : attendMask(frames, boxes);
    float[] outside = boxes.isEmpty() ? null : outsideGrownBox(frames, boxes);
    int[] questionIds = Arrays.copyOfRange(ids, at + 1, ids.length);
    int contentId = -1;
    if (!contentWord.isEmpty()) {
      int[] c = tok.encode(contentWord, false);
      contentId = c.length == 1 ? c[0] : -1;
    }
    return new Encoded(
        pixels,
        frames.size(),
        Arrays.copyOfRange(ids, 0, at),
        questionIds,
        targetIds,
        attend,
        outside,
        lastNamingWord(questionIds),
        contentId);
  }

  /**
   * Index in the question's ids of its last colour or kind word (the word that names the object),
   * or -1.
   */
  private int lastNamingWord(int[] questionIds) {
    int found = -1;
    for (int j = 0; j < questionIds.length; j++) {
      if (namingIds.contains(questionIds[j])) {
        found = j;
      }
    }
    return found;
  }

  private static final java.util.Set<String> NAMING_WORDS =
      java.util.stream.Stream.concat(
              Arrays.stream(io.decostream.shapes.ShapeColor.values())
                  .map(io.decostream.shapes.ShapeColor::word),
              Arrays.stream(io.decostream.shapes.ShapeKind.values())
                  .map(io.decostream.shapes.ShapeKind::word))
          .collect(java.util.stream.Collectors.toUnmodifiableSet());

  /**
   * The head the attention loss trains at {@code at}, as layer * heads + head (the first head of
   * its layer).
   */
  static int lookupHead(AttendAt at, int layers, int heads) {
    return at == AttendAt.ANSWER ? lookupHead(layers, heads) : Math.min(1, layers - 1) * heads;
  }

  static final double ATTEND_COVER = 0.1;

  /**
   * The head the attention loss trains, as layer * heads + head: the first head of the
   * second-to-last layer (the first layer of a one-layer model). By then the answer position has
   * gathered the question's words, and one more layer remains to turn what the head reads into the
   * answer.
   */
  static int lookupHead(int layers, int heads) {
    return Math.max(0, layers - 2) * heads;
  }

  private float[] attendMask(List<RgbImage> frames, List<io.decostream.shapes.Box> boxes) {
    int mTok = connector.tokensPerFrame();
    int side = (int) Math.round(Math.sqrt(mTok));
    if (side * side != mTok || !connector.spatial()) {
      return null;
    }
    float[] mask = new float[frames.size() * mTok];
    for (int f = 0; f < frames.size(); f++) {
      double cw = (double) frames.get(f).width() / side;
      double ch = (double) frames.get(f).height() / side;
      for (int r = 0; r < side; r++) {
        for (int c = 0; c < side; c++) {
          io.decostream.shapes.Box cell =
              new io.decostream.shapes.Box(c * cw, r * ch, (c + 1) * cw, (r + 1) * ch);
          if (boxes.get(f).intersectionArea(cell) >= ATTEND_COVER * cell.area()) {
            mask[f * mTok + r * side + c] = 1f;
          }
        }
      }
    }
    return mask;
  }

  /**
   * Per pooled token, the share of its window's patches whose centre lies outside the object's box
   * grown by one patch: what the grounding check ({@code deco eval --grounding-check}) counts as
   * outside, since Text-to-Patch of average pooling spreads a token's relevance evenly over its
   * window (spec §7.6). Null where the tokens are not a square grid of whole patch windows.
   */
  private float[] outsideGrownBox(List<RgbImage> frames, List<io.decostream.shapes.Box> boxes) {
    int mTok = connector.tokensPerFrame();
    int side = (int) Math.round(Math.sqrt(mTok));
    int grid = pack.config().visionConfig().gridSize();
    if (side * side != mTok || !connector.spatial() || grid % side != 0) {
      return null;
    }
    int per = grid / side; // patches per token window, each way
    float[] out = new float[frames.size() * mTok];
    for (int f = 0; f < frames.size(); f++) {
      double pw = (double) frames.get(f).width() / grid;
      double ph = (double) frames.get(f).height() / grid;
      io.decostream.shapes.Box grown = boxes.get(f).grow(Math.max(pw, ph));
      for (int y = 0; y < grid; y++) {
        for (int x = 0; x < grid; x++) {
          if (!grown.contains((x + 0.5) * pw, (y + 0.5) * ph)) {
            out[f * mTok + (y / per) * side + x / per] += 1f / (per * per);
          }
        }
      }
    }
    return out;
  }

  /**
   * Forward and loss over a batch of examples with the same frame count and prompt prefix
   * (right-padded suffixes). Must run inside a GradientCollector for training; all arrays live on
   * {@code m}.
   */
  Result forward(NDManager m, List<Encoded> batch) {
    return forward(m, batch, 0);
  }

  /**
   * As {@link #forward(NDManager, List)}, plus, when {@code attendWeight > 0}, an attention loss
   * for the examples that carry an attention target: at the position that predicts the first answer
   * token, one designated head, the lookup head ({@link #lookupHead}), should put all its attention
   * on the named object's tokens; the loss is {@code -log} of that head's mass there, averaged over
   * those examples, times the weight. It teaches the decoder to look an object up by what the
   * question says about it (kind as well as colour), which the answer loss alone did not
   * (docs/shapes-model.md). One fixed head, not the best of all heads: with 24 heads, some head
   * keyed on each colour already sits on the named object whenever its colour is unique, so "any
   * head" rewards the colour lookup the loss is meant to replace (measured: mass 0.99 on colour
   * questions answered at chance).
   */
  Result forward(NDManager m, List<Encoded> batch, double attendWeight) {
    return forward(m, batch, attendWeight, AttendAt.ANSWER);
  }

  /** As {@link #forward(NDManager, List, double)}, with the lookup made at {@code at}. */
  Result forward(NDManager m, List<Encoded> batch, double attendWeight, AttendAt at) {
    return forward(m, batch, attendWeight, at, 0);
  }

  /**
   * As {@link #forward(NDManager, List, double, AttendAt)}, plus, when {@code contentWeight > 0}, a
   * content loss: at the question's naming word the model must predict the named object's colour
   * word (cross-entropy through the LM head, times the weight). The position after a question word
   * is otherwise never trained, so this costs the answers nothing, and it makes what the lookup
   * reads into the word's state the thing a relay can carry on.
   */
  Result forward(
      NDManager m, List<Encoded> batch, double attendWeight, AttendAt at, double contentWeight) {
    return forward(m, batch, new AuxLosses(attendWeight, at, contentWeight, -1, 0));
  }

  /**
   * As {@link #forward(NDManager, List, double, AttendAt, double)}, plus the other options of
   * {@link AuxLosses}.
   *
   * <p>{@code contentLayer >= 1}: the content loss is read off the naming word's residual stream as
   * it enters that layer (through the final norm and the LM head, a logit lens) instead of off its
   * last layer. The relay head reads the word at its own layer's input, so what the word's later
   * layers compute from the lookup never reaches the answer; a content target at that input asks
   * the layers up to the lookup's own to compute it (for motion: a direction from the two ends).
   * Needs {@code at} WORD or ENDS, whose rows include the naming word's.
   *
   * <p>{@code strayWeight > 0}: for the examples with an attention target, the answer row's
   * attention on visual tokens outside the named object, averaged over every head of every layer,
   * times the weight. R-GAE's grounding map is made of the attention that the answer's logit flows
   * through (spec §7.2); {@code scripts/diagnostics/run Leak} showed that the latest frame's stray
   * relevance comes from the answer row's own heads (diffusely in layer 0, partly in layers 1 and
   * 3), not from the lookup at the naming word. With {@link AuxLosses#strayGrown()} "outside" is
   * the grounding check's own: per token the share of its patches outside the box grown by one
   * patch, so mass on a token the object only grazes counts too (spread evenly over the attention
   * loss's tokens, the answer row would pass the check's 80% in only about 85% of ShapesWorld's
   * boxes). With {@link AuxLosses#strayMax()} each layer's worst head counts instead of the heads'
   * mean.
   *
   * <p>{@code mapWeight > 0}: the map loss, {@code -log} of the share of the answer's rolled-out
   * relevance in the latest frame that lies inside the grown box ({@link #rolledOutShareInside}),
   * over the examples with an attention target, times the weight: the grounding check's own
   * measure, where the stray loss bounds only each row's own attention. It reads every question
   * row's attention (rows {@code selRows..} of the selection).
   */
  Result forward(NDManager m, List<Encoded> batch, AuxLosses aux) {
    double attendWeight = aux.attendWeight();
    AttendAt at = aux.at();
    double contentWeight = aux.contentWeight();
    int contentLayer = aux.contentLayer();
    double strayWeight = aux.strayWeight();
    int layerCount = pack.llm().layerCount();
    boolean lens = contentWeight > 0 && contentLayer >= 0;
    if (contentLayer > layerCount) {
      throw new IllegalArgumentException(
          "the content layer must be 1.."
              + layerCount
              + " (the residual stream "
              + "entering that layer, "
              + layerCount
              + ": the last layer's output) or -1, got "
              + contentLayer);
    }
    int b = batch.size();
    Encoded first = batch.get(0);
    int f = first.frames();
    for (Encoded e : batch) {
      if (e.frames() != f || !Arrays.equals(e.prefix(), first.prefix())) {
        throw new IllegalArgumentException("a batch needs one frame count and one prompt prefix");
      }
    }
    int s = pack.config().visionConfig().imageSize();
    int dt = pack.llm().hiddenSize();
    int mTok = connector.tokensPerFrame();
    // vision: [B*F, 3, S, S] -> [B*F, N, Dv] (layer vision_feature_layer, CLS dropped)
    float[] px = new float[b * first.pixels().length];
    for (int i = 0; i < b; i++) {
      System.arraycopy(
          batch.get(i).pixels(), 0, px, i * first.pixels().length, first.pixels().length);
    }
    NDArray feats =
        pack.tower()
            .forward(
                m.create(px, new Shape((long) b * f, 3, s, s)),
                pack.config().visionHiddenStateIndex(),
                true);
    // the connector: for the pack, pooling BEFORE the projector (spec §3.3): [BF, N, Dv] -> [BF, M,
    // Dt]
    NDArray rows = connector.forward(feats).reshape(b, (long) f * mTok, dt);
    // splice: [prefix | F*M visual rows | question suffix + target], right-padded
    int maxSuffix = batch.stream().mapToInt(Encoded::suffixLength).max().orElse(0);
    int[] suffix = new int[b * maxSuffix];
    Arrays.fill(suffix, pad);
    for (int i = 0; i < b; i++) {
      Encoded e = batch.get(i);
      System.arraycopy(e.questionIds(), 0, suffix, i * maxSuffix, e.questionIds().length);
      System.arraycopy(
          e.targetIds(), 0, suffix, i * maxSuffix + e.questionIds().length, e.targetIds().length);
    }
    NDArray prefix = pack.llm().embed(m, first.prefix()).expandDims(0).repeat(0, b);
    NDArray suffixEmb = pack.llm().embed(m, suffix).reshape(b, maxSuffix, dt);
    NDArray x = NDArrays.concat(new NDList(prefix, rows, suffixEmb), 1);
    int p = first.prefix().length + f * mTok; // sequence index of suffix position 0
    // the logits that predict the targets: positions p + q - 1 + k for target k
    int total = p + maxSuffix;
    // rows whose attention the loss reads: [B, R, T] one-hot over query positions. ANSWER: R = 1,
    // the row that
    // predicts the first target token. WORD and ENDS: R = 2, the naming word's row (the lookup, and
    // the ends' heads)
    // and the answer row (the relay)
    boolean atWord = at != AttendAt.ANSWER;
    int selRows = atWord ? 2 : 1;
    // the map loss reads every question row too: rows selRows .. selRows + maxQuestion - 1,
    // question position j
    int maxQuestion = batch.stream().mapToInt(e -> e.questionIds().length).max().orElse(0);
    boolean map = aux.mapWeight() > 0;
    int allRows = selRows + (map ? maxQuestion : 0);
    float[] select = null;
    float[] targetMask = null; // [B, T]: 1 on the visual positions of the named object
    float[] wordMask = null; // [B, T]: 1 on the naming word's position (WORD)
    float[] latestMask = null; // [B, T]: the object's tokens in the latest frame (ENDS)
    float[] firstMask = null; // [B, T]: the object's tokens in the first frame (ENDS)
    float[] has = new float[b];
    int attendExamples = 0;
    float[] strayMask = null; // [B, T]: the visual positions outside the named object
    if (attendWeight > 0 || lens || strayWeight > 0 || map) {
      strayMask = new float[b * total];
      select = new float[b * allRows * total];
      targetMask = new float[b * total];
      wordMask = new float[b * total];
      latestMask = new float[b * total];
      firstMask = new float[b * total];
      for (int i = 0; i < b; i++) {
        Encoded e = batch.get(i);
        int answerRow = p - 1 + e.questionIds().length;
        if (e.attend() != null
            && e.attend().length == f * mTok
            && (!atWord || e.namingWord() >= 0)) {
          if (atWord) {
            select[(i * allRows) * total + p + e.namingWord()] = 1f;
            select[(i * allRows + 1) * total + answerRow] = 1f;
            wordMask[i * total + p + e.namingWord()] = 1f;
          } else {
            select[i * allRows * total + answerRow] = 1f;
          }
          for (int j = 0; map && j < e.questionIds().length; j++) {
            select[(i * allRows + selRows + j) * total + p + j] = 1f;
          }
          // with attendGrown the heads aim at the tokens by their share of patches inside the grown
          // box, so their
          // mass gathers on the tokens wholly inside it (there always is one, EvalCommand's best
          // pooled share)
          float[] aim = e.attend();
          if (aux.attendGrown() && e.outside() != null) {
            aim = new float[e.outside().length];
            for (int j = 0; j < aim.length; j++) {
              aim[j] = 1f - e.outside()[j];
            }
          }
          for (int j = 0; j < e.attend().length; j++) {
            targetMask[i * total + first.prefix().length + j] = aim[j];
            strayMask[i * total + first.prefix().length + j] =
                aux.strayGrown() && e.outside() != null ? e.outside()[j] : 1f - e.attend()[j];
          }
          for (int j = 0; j < mTok; j++) {
            firstMask[i * total + first.prefix().length + j] = aim[j];
            latestMask[i * total + first.prefix().length + (f - 1) * mTok + j] =
                aim[(f - 1) * mTok + j];
          }
          has[i] = 1f;
          attendExamples++;
        }
      }
    }
    DecoderTrace trace = null;
    if (attendExamples > 0) {
      NDArray sel = m.create(select, new Shape(b, 1, allRows, total));
      trace = lens ? DecoderTrace.attentionAndResiduals(sel) : DecoderTrace.attention(sel);
    }
    NDArray logits = pack.llm().logits(x, p - 1, p - 1 + maxSuffix, trace); // [B, S, V]
    List<NDArray> attention =
        trace == null ? List.of() : trace.attention(); // per layer [B, H, R, T]
    List<NDArray> residuals =
        trace == null ? null : trace.residuals(); // per layer input: [B, R, D]
    int vocab = Math.toIntExact(logits.getShape().get(2));
    float[] onehot = new float[b * maxSuffix * vocab];
    int count = 0;
    List<int[]> targets = new ArrayList<>();
    for (int i = 0; i < b; i++) {
      Encoded e = batch.get(i);
      int q = e.questionIds().length;
      int[] pos = new int[e.targetIds().length];
      for (int k = 0; k < e.targetIds().length; k++) {
        pos[k] = q + k;
        onehot[(i * maxSuffix + q + k) * vocab + e.targetIds()[k]] = 1f;
        count++;
      }
      targets.add(pos);
    }
    NDArray logp = logits.logSoftmax(-1);
    double contentValue = Double.NaN;
    NDArray loss =
        Scalars.div(logp.mul(m.create(onehot, new Shape(b, maxSuffix, vocab))).sum().neg(), count);
    if (lens) {
      // the naming word's row (select row 0) of the residual stream entering contentLayer: [B, D]
      // -> [B, V]
      int contentCount = 0;
      float[] content = new float[b * vocab];
      for (int i = 0; i < b; i++) {
        Encoded e = batch.get(i);
        if (has[i] > 0 && e.contentId() >= 0) {
          content[i * vocab + e.contentId()] = 1f;
          contentCount++;
        }
      }
      if (contentCount > 0) {
        NDArray lensLogp =
            pack.llm().lensLogits(residuals.get(contentLayer).get(":, 0, :")).logSoftmax(-1);
        NDArray contentLoss =
            Scalars.div(
                lensLogp.mul(m.create(content, new Shape(b, vocab))).sum().neg(), contentCount);
        contentValue = contentLoss.getFloat();
        loss = loss.add(Scalars.mul(contentLoss, (float) contentWeight));
      }
    } else if (contentWeight > 0) {
      // logits row r predicts sequence position p + r, so the naming word's own row is namingWord +
      // 1
      float[] content = new float[b * maxSuffix * vocab];
      int contentCount = 0;
      for (int i = 0; i < b; i++) {
        Encoded e = batch.get(i);
        if (e.namingWord() >= 0 && e.contentId() >= 0) {
          content[(i * maxSuffix + e.namingWord() + 1) * vocab + e.contentId()] = 1f;
          contentCount++;
        }
      }
      if (contentCount > 0) {
        NDArray contentLoss =
            Scalars.div(
                logp.mul(m.create(content, new Shape(b, maxSuffix, vocab))).sum().neg(),
                contentCount);
        contentValue = contentLoss.getFloat();
        loss = loss.add(Scalars.mul(contentLoss, (float) contentWeight));
      }
    }
    double attendMass = Double.NaN;
    double relayMass = Double.NaN;
    double endsMass = Double.NaN;
    double[] attended = new double[b];
    Arrays.fill(attended, Double.NaN);
    if (attendWeight > 0 && attendExamples > 0) {
      // the lookup: [B, H, R, T] rows of the lookup head's layer -> that head's lookup row [B, T]
      // -> its mass on the
      // object's tokens [B]
      int heads = pack.llm().headCount();
      int head = lookupHead(at, attention.size(), heads);
      NDArray lookup =
          attention
              .get(head / heads)
              .get(":, " + head % heads + ", 0, :")
              .mul(m.create(targetMask, new Shape(b, total)))
              .sum(new int[] {1});
      NDArray hasArr = m.create(has);
      float[] per = lookup.toFloatArray();
      for (int i = 0; i < b; i++) {
        attended[i] = has[i] > 0 ? per[i] : Double.NaN;
      }
      attendMass = lookup.mul(hasArr).sum().getFloat() / attendExamples;
      NDArray logMass = lookup.add(1e-6f).log();
      if (at == AttendAt.ENDS) {
        if (heads < 3) {
          throw new IllegalArgumentException(
              "--attend-at ends needs 3 heads per layer (lookup, latest, first), the "
                  + "pack's LLM has "
                  + heads);
        }
        // the ends: the next two heads of the lookup's layer, at the same row, on the latest and
        // the first frame
        NDArray rowsOfLayer = attention.get(head / heads);
        NDArray latest =
            rowsOfLayer
                .get(":, " + (head % heads + 1) + ", 0, :")
                .mul(m.create(latestMask, new Shape(b, total)))
                .sum(new int[] {1});
        NDArray earliest =
            rowsOfLayer
                .get(":, " + (head % heads + 2) + ", 0, :")
                .mul(m.create(firstMask, new Shape(b, total)))
                .sum(new int[] {1});
        endsMass = latest.add(earliest).mul(hasArr).sum().getFloat() / (2.0 * attendExamples);
        logMass = logMass.add(latest.add(1e-6f).log()).add(earliest.add(1e-6f).log());
      }
      if (atWord) {
        // the relay: the answer row's head in the answer-lookup layer reads the naming word's
        // position, where the
        // lookup left what it found
        int relay = lookupHead(attention.size(), heads);
        NDArray relayed =
            attention
                .get(relay / heads)
                .get(":, " + relay % heads + ", 1, :")
                .mul(m.create(wordMask, new Shape(b, total)))
                .sum(new int[] {1});
        relayMass = relayed.mul(hasArr).sum().getFloat() / attendExamples;
        logMass = logMass.add(relayed.add(1e-6f).log());
      }
      NDArray attendLoss = Scalars.div(logMass.mul(hasArr).sum().neg(), attendExamples);
      loss = loss.add(Scalars.mul(attendLoss, (float) attendWeight));
    }
    double strayMass = Double.NaN;
    if (strayWeight > 0 && attendExamples > 0) {
      // the stray loss: [B, H, R, T] per layer -> the answer row [B, H, T] -> mass outside the
      // object, mean (or max)
      // over heads [B] -> mean over layers, then over the examples with a target
      int answerSel = atWord ? 1 : 0;
      NDArray outside = m.create(strayMask, new Shape(b, 1, total));
      NDArray perExample = null;
      for (NDArray layer : attention) {
        NDArray mass = outsideOverHeads(layer, answerSel, outside, aux.strayMax());
        if (aux.strayWord()) {
          // the naming word's row too (row 0 at word and ends): Leak found its layer-0 heads
          // spilling on the latest
          // frame; the two rows' mean keeps the mass in 0..1
          mass = mass.add(outsideOverHeads(layer, 0, outside, aux.strayMax())).mul(0.5f);
        }
        perExample = perExample == null ? mass : perExample.add(mass);
      }
      NDArray stray =
          Scalars.div(
              perExample.mul(m.create(has)).sum(), (float) attention.size() * attendExamples);
      strayMass = stray.getFloat();
      loss = loss.add(Scalars.mul(stray, (float) strayWeight));
    }
    double mapShare = Double.NaN;
    if (map && attendExamples > 0) {
      NDArray share =
          rolledOutShareInside(
              m,
              batch,
              attention,
              has,
              selRows,
              maxQuestion,
              p,
              first.prefix().length + (f - 1) * mTok,
              mTok);
      NDArray hasArr = m.create(has);
      mapShare = share.mul(hasArr).sum().getFloat() / attendExamples;
      NDArray mapLoss = Scalars.div(share.add(1e-6f).log().mul(hasArr).sum().neg(), attendExamples);
      loss = loss.add(Scalars.mul(mapLoss, (float) aux.mapWeight()));
    }
    // token accuracy (teacher-forced argmax) and exact whole-target matches
    float[] am =
        logits.argMax(-1).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
    int correct = 0;
    int exact = 0;
    boolean[] exactPer = new boolean[b];
    int[][] predictedIds = new int[b][];
    for (int i = 0; i < b; i++) {
      Encoded e = batch.get(i);
      boolean all = true;
      predictedIds[i] = new int[e.targetIds().length];
      for (int k = 0; k < e.targetIds().length; k++) {
        int predicted = (int) am[i * maxSuffix + targets.get(i)[k]];
        predictedIds[i][k] = predicted;
        if (predicted == e.targetIds()[k]) {
          correct++;
        } else {
          all = false;
        }
      }
      if (all) {
        exact++;
      }
      exactPer[i] = all;
    }
    return new Result(
        loss,
        count,
        correct,
        exact,
        b,
        exactPer,
        predictedIds,
        attendExamples,
        attendMass,
        attended,
        relayMass,
        endsMass,
        contentValue,
        strayMass,
        mapShare);
  }

  /**
   * The stray loss's mass of one selected row of a layer: [B, H, R, T] -> that row [B, H, T] -> per
   * head the mass on {@code outside} ([B, 1, T]) [B, H] -> over the heads [B], their mean or, with
   * {@code worst}, the largest.
   */
  private static NDArray outsideOverHeads(NDArray layer, int row, NDArray outside, boolean worst) {
    NDArray perHead = layer.get(":, :, " + row + ", :").mul(outside).sum(new int[] {2});
    return worst ? perHead.max(new int[] {1}) : perHead.mean(new int[] {1});
  }

  /**
   * The map loss's measure, per example [B]: the share of the answer's relevance in the latest
   * frame that lies inside the named object's box grown by one patch (0 where an example has no
   * target). The relevance is R-GAE's (spec §7.2) with the heads' plain mean for their
   * gradient-weighted one: from the answer row, layer by layer down from the last, each question
   * row passes its relevance on through its attention, to the question rows before it (which carry
   * it on to lower layers) and to the visual tokens (where it stays: Leak found the visual rows add
   * no latest-frame relevance of their own). A token's relevance counts inside by its share of
   * patches inside the grown box, as Text-to-Patch spreads it evenly over its window (spec §7.6).
   *
   * @param attention per layer [B, H, R, T], rows selRows.. the question's positions
   *     p..p+maxQuestion-1
   * @param latest the sequence index of the latest frame's first token
   */
  private NDArray rolledOutShareInside(
      NDManager m,
      List<Encoded> batch,
      List<NDArray> attention,
      float[] has,
      int selRows,
      int maxQuestion,
      int p,
      int latest,
      int mTok) {
    int b = batch.size();
    float[] start = new float[b * maxQuestion]; // the answer row: the question's last position
    float[] inside = new float[b * mTok];
    for (int i = 0; i < b; i++) {
      Encoded e = batch.get(i);
      if (has[i] > 0) {
        if (e.outside() == null) {
          throw new IllegalArgumentException(
              "the map loss needs the connector's tokens as a square grid of whole "
                  + "patch windows (the grounding check's own measure)");
        }
        start[i * maxQuestion + e.questionIds().length - 1] = 1f;
        for (int j = 0; j < mTok; j++) {
          inside[i * mTok + j] = 1f - e.outside()[(e.frames() - 1) * mTok + j];
        }
      }
    }
    NDArray relevance =
        m.create(start, new Shape(b, 1, maxQuestion)); // [B, 1, Q] over the question rows
    NDArray visual = null; // [B, 1, M] over the latest frame's tokens
    for (int l = attention.size() - 1; l >= 0; l--) {
      // [B, H, R, T] -> the question rows, heads' mean [B, Q, T]
      NDArray rows = attention.get(l).get(":, :, " + selRows + ":, :").mean(new int[] {1});
      NDArray toLatest =
          relevance.matMul(rows.get(":, :, " + latest + ":" + (latest + mTok))); // [B, 1, M]
      visual = visual == null ? toLatest : visual.add(toLatest);
      relevance =
          relevance.add(
              relevance.matMul(rows.get(":, :, " + p + ":" + (p + maxQuestion)))); // [B, 1, Q]
    }
    visual = visual.squeeze(1); // [B, M]
    NDArray in = visual.mul(m.create(inside, new Shape(b, mTok))).sum(new int[] {1});
    return in.add(1e-9f).div(visual.sum(new int[] {1}).add(1e-9f));
  }
}
