package io.decostream.nn.llava;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.generate.Sampler;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.rgae.RGae;
import io.decostream.nn.rgae.TextToPatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The debugging pass behind {@code deco model forward} ({@link DebugForwardModel#forwardDebug}),
 * written once for every family: the input checks, the vision tower on each frame, the family's
 * visual rows, the splice (spec §4.4), one forward over all T positions with greedy decoding on its
 * KV cache (spec §4.2, §5) and, on request, the R-GAE maps of the greedy tokens (spec §7.5–§7.6). A
 * family supplies only {@link Rows}: how its features become the spliced rows (and what it reports
 * of that).
 *
 * <p>Part of the families' shared base: public for the family packages ({@code
 * io.decostream.nn.llava.nextvideo}, {@code .onevision}, {@code .llava15}), not an API for other
 * modules.
 *
 * @param modelType config.json model_type, reported as {@link DebugForward#family()}
 * @param model the family's geometry (image size, channels, placeholder id and count)
 * @param tower the vision tower up to the family's feature layer: F frames of pixels to F feature
 *     arrays of N*Dv values
 * @param lang the family's language side
 * @param manager the model's manager; the pass works on a sub-manager of it
 * @param rows the family's visual rows
 */
public record DebugPass(
    String modelType,
    DebugForwardModel model,
    Function<List<float[]>, List<float[]>> tower,
    LanguageParts lang,
    NDManager manager,
    Rows rows) {

  /**
   * What a family makes of the vision features of F frames.
   *
   * @param rows [R, Dt] the rows spliced in place of the R placeholders, in order
   * @param pooled the features after the family's spatial pooling ({@link
   *     DebugForward#pooledFeatures()})
   * @param pooledShape its shape
   * @param projected the projector output ({@link DebugForward#projectedFeatures()})
   * @param projectedShape its shape
   * @param groundedRows the first rows that belong to frames (R-GAE explains those: F·M)
   * @param queryToPatch each frame's Query-to-Patch matrix (spec §7.6), asked for only with
   *     grounding
   */
  public record Visual(
      NDArray rows,
      float[] pooled,
      long[] pooledShape,
      float[] projected,
      long[] projectedShape,
      int groundedRows,
      Supplier<List<QueryToPatch>> queryToPatch) {}

  /** A family's visual rows from the vision features of each frame (F arrays of N*Dv values). */
  @FunctionalInterface
  public interface Rows {
    Visual of(NDManager step, List<float[]> features);
  }

  /**
   * Runs the pass (see {@link DebugForwardModel#forwardDebug(float[], int, int[], int, boolean)}).
   */
  public DebugForward run(
      float[] pixels, int frames, int[] inputIds, int newTokens, boolean grounding) {
    LlamaModel llm = lang.llm();
    int placeholderId = model.placeholderTokenId();
    checkDebugInputs(
        pixels,
        frames,
        model.imageChannels(),
        model.imageSize(),
        inputIds,
        llm.vocabSize(),
        placeholderId,
        model.visualTokens(frames),
        newTokens,
        llm.contextLength());
    List<float[]> feats = tower.apply(framesOf(pixels, frames));
    float[] vision = LanguageParts.concat(feats);
    int dv = lang.projector().inputDim();
    long[] visionShape = {frames, feats.get(0).length / dv, dv};
    try (NDManager step = manager.newSubManager()) {
      Visual v = rows.of(step, feats);
      NDArray embeddings = Splicing.splice(step, llm, inputIds, placeholderId, v.rows());
      Decoded d = forwardAndDecode(step, llm, embeddings, newTokens, lang.eosIds());
      DebugForward out =
          new DebugForward(
              modelType,
              frames,
              inputIds.length,
              llm.vocabSize(),
              vision,
              visionShape,
              v.pooled(),
              v.pooledShape(),
              v.projected(),
              v.projectedShape(),
              d.logits(),
              d.greedyIds());
      if (!grounding) {
        return out;
      }
      int[] positions = positionsOf(inputIds, placeholderId, v.groundedRows());
      return withGrounding(out, llm, embeddings, positions, v.queryToPatch().get());
    }
  }

  /** Logits of every prompt position [T*V] and the greedy ids of one debugging pass. */
  private record Decoded(float[] logits, int[] greedyIds) {}

  /**
   * Validates the inputs of a debugging pass; the messages name the offending tensor and what was
   * expected.
   */
  private static void checkDebugInputs(
      float[] pixels,
      int frames,
      int channels,
      int size,
      int[] inputIds,
      int vocab,
      int placeholderId,
      int expectedPlaceholders,
      int newTokens,
      int contextLength) {
    if (frames < 1) {
      throw new IllegalArgumentException("frames must be >= 1, got " + frames);
    }
    if (newTokens < 0) {
      throw new IllegalArgumentException("newTokens must be >= 0, got " + newTokens);
    }
    long perFrame = (long) channels * size * size;
    if (pixels.length != frames * perFrame) {
      throw new IllegalArgumentException(
          "pixels hold "
              + pixels.length
              + " values but "
              + frames
              + " frames of ["
              + channels
              + ", "
              + size
              + ", "
              + size
              + "] need "
              + frames * perFrame);
    }
    int t = inputIds.length;
    checkIds(inputIds, vocab, placeholderId, expectedPlaceholders, frames);
    if ((long) t + Math.max(newTokens, 1) - 1 > contextLength) {
      throw new IllegalArgumentException(
          "prompt of "
              + t
              + " tokens + "
              + newTokens
              + " new tokens exceeds the context length "
              + contextLength);
    }
  }

  /**
   * The ids must be in the vocabulary and hold exactly {@code expectedPlaceholders} placeholders.
   */
  private static void checkIds(
      int[] inputIds, int vocab, int placeholderId, int expectedPlaceholders, int frames) {
    int t = inputIds.length;
    if (t == 0) {
      throw new IllegalArgumentException("input_ids is empty");
    }
    int placeholders = 0;
    for (int i = 0; i < t; i++) {
      if (inputIds[i] < 0 || inputIds[i] >= vocab) {
        throw new IllegalArgumentException(
            "input id "
                + inputIds[i]
                + " at position "
                + i
                + " is outside the vocabulary [0, "
                + vocab
                + ")");
      }
      if (inputIds[i] == placeholderId) {
        placeholders++;
      }
    }
    if (placeholders != expectedPlaceholders) {
      throw new IllegalArgumentException(
          "input_ids hold "
              + placeholders
              + " placeholders (id "
              + placeholderId
              + ") but "
              + frames
              + " frames need "
              + expectedPlaceholders
              + " (expand the placeholder token before calling)");
    }
  }

  /** Splits [F*C*S*S] pixels into F per-frame arrays. */
  private static List<float[]> framesOf(float[] pixels, int frames) {
    int per = pixels.length / frames;
    List<float[]> out = new ArrayList<>(frames);
    for (int f = 0; f < frames; f++) {
      out.add(Arrays.copyOfRange(pixels, f * per, (f + 1) * per));
    }
    return out;
  }

  /**
   * Steps 5–6 of the debugging pass: one forward over all T positions (every logit), then greedy
   * decoding of {@code newTokens} ids on the same KV cache. Generated ids are embedded as plain
   * tokens (HF passes pixels only at prefill); generation ends early only after emitting an EOS id,
   * which is kept.
   */
  private static Decoded forwardAndDecode(
      NDManager step, LlamaModel llm, NDArray embeddings, int newTokens, Set<Integer> eosIds) {
    int t = Math.toIntExact(embeddings.getShape().get(0));
    int vocab = llm.vocabSize();
    int[] generated = new int[newTokens];
    int count = 0;
    float[] logits;
    try (KvCache cache = llm.newCache(Math.max(t, t + newTokens - 1))) {
      logits = llm.forward(embeddings, cache).toFloatArray();
      float[] last = Arrays.copyOfRange(logits, (t - 1) * vocab, t * vocab);
      Sampler greedy = Sampler.greedy();
      while (count < newTokens) {
        int token = greedy.next(last);
        generated[count++] = token;
        if (eosIds.contains(token) || count == newTokens) {
          break;
        }
        try (NDManager dec = step.newSubManager()) {
          last = llm.forwardLast(llm.embed(dec, new int[] {token}), cache).toFloatArray();
        }
      }
    }
    return new Decoded(logits, Arrays.copyOf(generated, count));
  }

  /** Positions of {@code placeholderId} in {@code ids}, the first {@code count} of them. */
  private static int[] positionsOf(int[] ids, int placeholderId, int count) {
    int[] out = new int[count];
    int n = 0;
    for (int i = 0; i < ids.length && n < count; i++) {
      if (ids[i] == placeholderId) {
        out[n++] = i;
      }
    }
    if (n != count) {
      throw new IllegalStateException("found " + n + " placeholders, expected " + count);
    }
    return out;
  }

  /**
   * The grounding outputs of a debugging pass (spec §7.5–§7.6): per greedy token its raw
   * Text-to-Query row over {@code positions} ([K, F·M] flattened) and its Text-to-Patch maps
   * through {@code perFrame} ([K, F, N]). Returns {@code d} unchanged when nothing was generated.
   */
  private static DebugForward withGrounding(
      DebugForward d,
      LlamaModel llm,
      NDArray embeddings,
      int[] positions,
      List<QueryToPatch> perFrame) {
    int k = d.greedyIds().length;
    if (k == 0) {
      return d.withGrounding(new float[0], new float[0]);
    }
    float[][] rows = RGae.explainGreedy(llm, embeddings, positions, d.greedyIds()).textToQuery();
    int n = perFrame.get(0).patches();
    float[] ttq = new float[k * positions.length];
    float[] ttp = new float[k * perFrame.size() * n];
    for (int t = 0; t < k; t++) {
      System.arraycopy(rows[t], 0, ttq, t * positions.length, positions.length);
      float[][] maps = TextToPatch.perFrame(rows[t], perFrame);
      for (int f = 0; f < maps.length; f++) {
        System.arraycopy(maps[f], 0, ttp, (t * perFrame.size() + f) * n, n);
      }
    }
    return d.withGrounding(ttq, ttp);
  }
}
