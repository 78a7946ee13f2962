package io.decostream.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.decostream.nn.llama.DecoderTrace;
import io.decostream.nn.llava.Splicing;
import io.decostream.projector.Scalars;
import io.decostream.train.ExampleEncoder.Encoded;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

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
  private final int pad;
  private final ExampleEncoder encoder;

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
    int eos = eosIds.get(0);
    Integer p = pack.config().textConfig().padTokenId();
    this.pad = p == null ? eos : p;
    this.encoder = new ExampleEncoder(pack, connector, eos);
  }

  /** What turns examples into this forward's input (the same connector's token grid). */
  ExampleEncoder encoder() {
    return encoder;
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

  /**
   * Forward and answer loss over a batch of examples with the same frame count and prompt prefix
   * (right-padded suffixes), no auxiliary loss. Must run inside a GradientCollector for training;
   * all arrays live on {@code m}.
   */
  Result forward(NDManager m, List<Encoded> batch) {
    return forward(m, batch, AuxLosses.NONE);
  }

  /** As {@link #forward(NDManager, List)}, plus the attention loss at the answer row. */
  Result forward(NDManager m, List<Encoded> batch, double attendWeight) {
    return forward(m, batch, attendWeight, AttendAt.ANSWER);
  }

  /** As {@link #forward(NDManager, List)}, plus the attention loss made at {@code at}. */
  Result forward(NDManager m, List<Encoded> batch, double attendWeight, AttendAt at) {
    return forward(m, batch, attendWeight, at, 0);
  }

  /** As {@link #forward(NDManager, List)}, plus the attention loss and the content loss. */
  Result forward(
      NDManager m, List<Encoded> batch, double attendWeight, AttendAt at, double contentWeight) {
    return forward(m, batch, new AuxLosses(attendWeight, at, contentWeight, -1, 0, 0));
  }

  /**
   * The training forward (spec §1.3, §3.3, §4.4, §4.2): the tower encodes the frames, the connector
   * pools and projects them, the visual rows are spliced into the prompt, the decoder runs with a
   * trace of the rows the auxiliary losses read, and the loss is the cross-entropy on the target
   * plus each auxiliary loss's term ({@link AuxLosses}).
   */
  Result forward(NDManager m, List<Encoded> batch, AuxLosses aux) {
    aux.content().checkLayers(pack.llm().layerCount());
    SequenceLayout layout = layout(batch, aux);
    NDArray visual = visualRows(m, batch); // [B, F·M, Dt]
    NDArray x = splice(m, batch, layout, visual); // [B, T, Dt]
    float[] named = aux.readsTrace() ? named(batch, aux) : new float[batch.size()];
    int namedCount = (int) IntStream.range(0, named.length).filter(i -> named[i] > 0).count();
    DecoderTrace trace = namedCount > 0 ? trace(m, batch, layout, aux) : null;
    int from = layout.suffixStart() - 1; // the logits that predict the suffix
    NDArray logits = pack.llm().logits(x, from, from + layout.maxSuffix(), trace); // [B, S, V]
    NDArray logp = logits.logSoftmax(-1);
    NDArray loss = crossEntropy(m, batch, layout, logp);
    LossInputs in =
        new LossInputs(
            m,
            batch,
            layout,
            named,
            namedCount,
            trace == null ? List.of() : trace.attention(),
            trace == null ? List.of() : trace.residuals(),
            logp,
            pack.llm().headCount(),
            rows -> pack.llm().lensLogits(rows));
    Map<String, AuxLoss.Term> terms = new HashMap<>();
    for (AuxLoss l : aux.losses()) {
      AuxLoss.Term t = l.apply(in);
      terms.put(l.name(), t);
      if (t.loss() != null) {
        loss = loss.add(t.loss());
      }
    }
    return result(batch, layout, loss, logits, namedCount, terms);
  }

  /**
   * The batch's sequence layout and the trace's rows: the lookup rows ({@link
   * AuxLosses#lookupRows()}), then with the map loss every question row.
   */
  private SequenceLayout layout(List<Encoded> batch, AuxLosses aux) {
    Encoded first = batch.get(0);
    for (Encoded e : batch) {
      if (e.frames() != first.frames() || !Arrays.equals(e.prefix(), first.prefix())) {
        throw new IllegalArgumentException("a batch needs one frame count and one prompt prefix");
      }
    }
    return new SequenceLayout(
        first.prefix().length,
        first.frames(),
        connector.tokensPerFrame(),
        batch.stream().mapToInt(e -> e.questionIds().length).max().orElse(0),
        batch.stream().mapToInt(Encoded::suffixLength).max().orElse(0),
        aux.atWord() ? 1 : 0,
        aux.mapWeight() > 0 ? aux.lookupRows() : -1);
  }

  /**
   * Vision (spec §1.3) and the connector (§3.3): [B·F, 3, S, S] -> the tower's {@code
   * vision_feature_layer}, CLS dropped [B·F, N, Dv] -> for the pack, pooling BEFORE the projector
   * [B·F, M, Dt] -> [B, F·M, Dt].
   */
  private NDArray visualRows(NDManager m, List<Encoded> batch) {
    int b = batch.size();
    int f = batch.get(0).frames();
    int per = batch.get(0).pixels().length;
    int s = pack.config().visionConfig().imageSize();
    float[] px = new float[b * per];
    for (int i = 0; i < b; i++) {
      System.arraycopy(batch.get(i).pixels(), 0, px, i * per, per);
    }
    NDArray feats =
        pack.tower()
            .forward(
                m.create(px, new Shape((long) b * f, 3, s, s)),
                pack.config().visionHiddenStateIndex(),
                true);
    return connector
        .forward(feats)
        .reshape(b, (long) f * connector.tokensPerFrame(), pack.llm().hiddenSize());
  }

  /**
   * The splice (spec §4.4), nn's own: {@code [prefix | <video> as F·M visual rows | question +
   * target]}, right-padded with the pad id.
   */
  private NDArray splice(NDManager m, List<Encoded> batch, SequenceLayout l, NDArray visual) {
    int video = pack.config().videoTokenIndex();
    int[][] ids = new int[batch.size()][];
    for (int i = 0; i < ids.length; i++) {
      Encoded e = batch.get(i);
      int[] seq = new int[l.length()];
      Arrays.fill(seq, pad);
      System.arraycopy(e.prefix(), 0, seq, 0, l.prefixLength());
      Arrays.fill(seq, l.visualStart(), l.suffixStart(), video);
      System.arraycopy(e.questionIds(), 0, seq, l.suffixStart(), e.questionIds().length);
      System.arraycopy(
          e.targetIds(), 0, seq, l.suffixStart() + e.questionIds().length, e.targetIds().length);
      ids[i] = seq;
    }
    return Splicing.splice(m, (mm, t) -> pack.llm().embed(mm, t), ids, video, visual);
  }

  /**
   * Per example 1 when it names one object the losses can aim at: boxes for every frame of a square
   * token grid and, with the lookup at the naming word, a naming word.
   */
  private float[] named(List<Encoded> batch, AuxLosses aux) {
    float[] named = new float[batch.size()];
    for (int i = 0; i < named.length; i++) {
      Encoded e = batch.get(i);
      boolean boxes =
          e.attend() != null && e.attend().length == e.frames() * connector.tokensPerFrame();
      named[i] = boxes && (!aux.atWord() || e.namingWord() >= 0) ? 1f : 0f;
    }
    return named;
  }

  /**
   * The decoder's trace (spec §7.1's attention taps) of the rows the losses read, one-hot [B, 1, R,
   * T]: the lookup row, at the naming word also the answer row, and with the map loss every
   * question row; the residual stream too for the content loss's lens. Examples that name no object
   * select nothing.
   */
  private DecoderTrace trace(NDManager m, List<Encoded> batch, SequenceLayout l, AuxLosses aux) {
    int b = batch.size();
    int t = l.length();
    int rows = l.questionRows() >= 0 ? l.questionRows() + l.maxQuestion() : aux.lookupRows();
    float[] select = new float[b * rows * t];
    float[] named = named(batch, aux);
    for (int i = 0; i < b; i++) {
      if (named[i] == 0) {
        continue;
      }
      Encoded e = batch.get(i);
      int lookupAt = aux.atWord() ? l.wordPosition(e) : l.answerPosition(e);
      select[(i * rows + SequenceLayout.LOOKUP_ROW) * t + lookupAt] = 1f;
      select[(i * rows + l.answerRow()) * t + l.answerPosition(e)] = 1f;
      for (int j = 0; l.questionRows() >= 0 && j < e.questionIds().length; j++) {
        select[(i * rows + l.questionRows() + j) * t + l.suffixStart() + j] = 1f;
      }
    }
    NDArray sel = m.create(select, new Shape(b, 1, rows, t));
    return aux.content().lens()
        ? DecoderTrace.attentionAndResiduals(sel)
        : DecoderTrace.attention(sel);
  }

  /**
   * Token-level cross-entropy on the target ids (answer or caption, then EOS) only (spec §4.2):
   * suffix row q + k predicts target k.
   */
  private static NDArray crossEntropy(
      NDManager m, List<Encoded> batch, SequenceLayout l, NDArray logp) {
    int b = batch.size();
    int vocab = Math.toIntExact(logp.getShape().get(2));
    float[] onehot = new float[b * l.maxSuffix() * vocab];
    int count = 0;
    for (int i = 0; i < b; i++) {
      Encoded e = batch.get(i);
      int q = e.questionIds().length;
      for (int k = 0; k < e.targetIds().length; k++) {
        onehot[(i * l.maxSuffix() + q + k) * vocab + e.targetIds()[k]] = 1f;
        count++;
      }
    }
    NDArray target = m.create(onehot, new Shape(b, l.maxSuffix(), vocab));
    return Scalars.div(logp.mul(target).sum().neg(), count);
  }

  /** Token accuracy (teacher-forced argmax), exact whole-target matches and the losses' figures. */
  private static Result result(
      List<Encoded> batch,
      SequenceLayout l,
      NDArray loss,
      NDArray logits,
      int namedCount,
      Map<String, AuxLoss.Term> terms) {
    float[] am = logits.argMax(-1).toType(DataType.FLOAT32, false).toFloatArray();
    int b = batch.size();
    int targets = 0;
    int correct = 0;
    int exact = 0;
    boolean[] exactPer = new boolean[b];
    int[][] predicted = new int[b][];
    for (int i = 0; i < b; i++) {
      Encoded e = batch.get(i);
      boolean all = true;
      predicted[i] = new int[e.targetIds().length];
      for (int k = 0; k < e.targetIds().length; k++) {
        predicted[i][k] = (int) am[i * l.maxSuffix() + e.questionIds().length + k];
        targets++;
        if (predicted[i][k] == e.targetIds()[k]) {
          correct++;
        } else {
          all = false;
        }
      }
      exact += all ? 1 : 0;
      exactPer[i] = all;
    }
    double[] attended = terms.get("attend").perExample();
    if (attended == null) {
      attended = new double[b];
      Arrays.fill(attended, Double.NaN);
    }
    return new Result(
        loss,
        targets,
        correct,
        exact,
        b,
        exactPer,
        predicted,
        namedCount,
        terms.get("attend").figure(),
        attended,
        terms.get("relay").figure(),
        terms.get("ends").figure(),
        terms.get("content").figure(),
        terms.get("stray").figure(),
        terms.get("map").figure());
  }
}
