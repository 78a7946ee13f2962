package io.decostream.nn.llava;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.decostream.nn.generate.Generator;
import io.decostream.nn.generate.Sampler;
import io.decostream.nn.llama.KvCache;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.tokenizer.PackTokenizer;
import java.util.Arrays;
import java.util.Set;

/**
 * The language-side steps every LLaVA family shares (spec §4.4, §5): HF-style splicing of visual
 * rows into the placeholder positions of {@code input_ids}, the full-sequence forward with greedy
 * decoding of the debugging pass, and prompt-text generation. Family classes differ only in how
 * they compute the visual rows. The splice itself is public: training splices its batches with it.
 */
public final class Splicing {

  private Splicing() {}

  /** Logits of every prompt position [T*V] and the greedy ids of one debugging pass. */
  record Decoded(float[] logits, int[] greedyIds) {}

  /**
   * Validates the inputs of a debugging pass; the messages name the offending tensor and what was
   * expected.
   */
  static void checkDebugInputs(
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

  /** Splits [F*C*S*S] pixels into F per-frame arrays. */
  static java.util.List<float[]> framesOf(float[] pixels, int frames) {
    int per = pixels.length / frames;
    java.util.List<float[]> out = new java.util.ArrayList<>(frames);
    for (int f = 0; f < frames; f++) {
      out.add(Arrays.copyOfRange(pixels, f * per, (f + 1) * per));
    }
    return out;
  }

  /** The decoder's token embedding: ids [n] -> rows [n, D]. */
  @FunctionalInterface
  public interface Embedding {
    NDArray embed(NDManager m, int[] ids);
  }

  /**
   * HF {@code masked_scatter} splicing (spec §4.4) of one sequence: runs of text ids are embedded,
   * runs of placeholders take the next rows of {@code rows} [R, Dt] in order. The caller has
   * checked that there are exactly R placeholders.
   */
  static NDArray splice(
      NDManager step, LlamaModel llm, int[] ids, int placeholderId, NDArray rows) {
    return splice(step, llm::embed, new int[][] {ids}, placeholderId, rows.expandDims(0))
        .squeeze(0);
  }

  /**
   * HF {@code masked_scatter} splicing (spec §4.4) of a batch: B sequences of one length T whose
   * placeholders sit at the same positions (training's prompts share their prefix and are
   * right-padded); runs of text ids are embedded, runs of placeholders take the next rows of {@code
   * rows} [B, R, Dt] in order. Returns [B, T, Dt].
   */
  public static NDArray splice(
      NDManager m, Embedding embedding, int[][] ids, int placeholderId, NDArray rows) {
    int b = ids.length;
    int t = ids[0].length;
    long dim = rows.getShape().get(2);
    for (int[] seq : ids) {
      for (int i = 0; seq.length == t && i < t; i++) {
        if ((seq[i] == placeholderId) != (ids[0][i] == placeholderId)) {
          throw new IllegalArgumentException(
              "a batch's sequences need their placeholders at the same positions");
        }
      }
      if (seq.length != t) {
        throw new IllegalArgumentException("a batch's sequences need one length");
      }
    }
    NDList parts = new NDList();
    int next = 0;
    for (int i = 0; i < t; ) {
      boolean visual = ids[0][i] == placeholderId;
      int j = i;
      while (j < t && (ids[0][j] == placeholderId) == visual) {
        j++;
      }
      if (visual) {
        parts.add(rows.get(new NDIndex(":, {}:{}", next, next + (j - i))));
        next += j - i;
      } else {
        int[] run = new int[b * (j - i)];
        for (int k = 0; k < b; k++) {
          System.arraycopy(ids[k], i, run, k * (j - i), j - i);
        }
        parts.add(embedding.embed(m, run).reshape(b, j - i, dim));
      }
      i = j;
    }
    if (next != rows.getShape().get(1)) {
      throw new IllegalStateException(
          "spliced " + next + " visual rows but " + rows.getShape().get(1) + " were given");
    }
    return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 1);
  }

  /**
   * Steps 5–6 of the debugging pass: one forward over all T positions (every logit), then greedy
   * decoding of {@code newTokens} ids on the same KV cache. Generated ids are embedded as plain
   * tokens (HF passes pixels only at prefill); generation ends early only after emitting an EOS id,
   * which is kept.
   */
  static Decoded forwardAndDecode(
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
  static int[] positionsOf(int[] ids, int placeholderId, int count) {
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
  static DebugForward withGrounding(
      DebugForward d,
      LlamaModel llm,
      NDArray embeddings,
      int[] positions,
      java.util.List<io.decostream.nn.rgae.QueryToPatch> perFrame) {
    int k = d.greedyIds().length;
    if (k == 0) {
      return d.withGrounding(new float[0], new float[0]);
    }
    float[][] rows =
        io.decostream.nn.rgae.RGae.explainGreedy(llm, embeddings, positions, d.greedyIds())
            .textToQuery();
    int n = perFrame.get(0).patches();
    float[] ttq = new float[k * positions.length];
    float[] ttp = new float[k * perFrame.size() * n];
    for (int t = 0; t < k; t++) {
      System.arraycopy(rows[t], 0, ttq, t * positions.length, positions.length);
      float[][] maps = io.decostream.nn.rgae.TextToPatch.perFrame(rows[t], perFrame);
      for (int f = 0; f < maps.length; f++) {
        System.arraycopy(maps[f], 0, ttp, (t * perFrame.size() + f) * n, n);
      }
    }
    return d.withGrounding(ttq, ttp);
  }

  /**
   * Packs an R-GAE explanation for callers (spec §7.5): decoded tokens, the mean over steps, and
   * words formed by merging sub-word tokens with the tokenizer's own word-start convention
   * (SentencePiece ▁, byte-level Ġ, or one word per token for word-level vocabularies).
   */
  static AnswerGrounding grounding(
      io.decostream.nn.rgae.Explanation e, PackTokenizer tokenizer, double millis) {
    int[] ids = e.tokenIds();
    java.util.List<String> tokens = new java.util.ArrayList<>(ids.length);
    boolean[] starts = new boolean[ids.length];
    PackTokenizer.WordStart rule = tokenizer.wordStart();
    for (int i = 0; i < ids.length; i++) {
      tokens.add(tokenizer.decode(new int[] {ids[i]}, false).trim());
      String piece = tokenizer.piece(ids[i]);
      starts[i] =
          i == 0
              || piece == null
              || switch (rule) {
                case SENTENCEPIECE -> piece.startsWith("\u2581");
                case BYTE_LEVEL -> piece.startsWith("\u0120") || piece.startsWith("\u010A");
                case EVERY_TOKEN -> true;
              };
    }
    int[][] groups = io.decostream.nn.rgae.WordGroups.of(starts);
    java.util.List<String> words = new java.util.ArrayList<>(groups.length);
    for (int[] g : groups) {
      int[] wordIds = new int[g.length];
      for (int k = 0; k < g.length; k++) {
        wordIds[k] = ids[g[k]];
      }
      words.add(tokenizer.decode(wordIds, false).trim());
    }
    io.decostream.nn.rgae.Explanation.StepNormalisation none =
        io.decostream.nn.rgae.Explanation.StepNormalisation.NONE;
    return new AnswerGrounding(
        ids,
        java.util.List.copyOf(tokens),
        e.textToQuery(),
        e.mean(),
        java.util.List.copyOf(words),
        groups,
        e.perWord(groups, none),
        millis);
  }

  /**
   * Answers from a rendered prompt (spec §4.4–§5): tokenizes {@code promptText} once (special
   * tokens per the tokenizer's post-processor, no truncation), expands its placeholders to the R
   * rows of {@code rows} here (never by the tokenizer: the template's P placeholders take R/P rows
   * each), splices, prefills a preallocated KV cache and decodes.
   */
  static GenerationResult generate(
      NDManager step,
      LlamaModel llm,
      PackTokenizer tokenizer,
      String promptText,
      String placeholder,
      int placeholderId,
      int templatePlaceholders,
      NDArray rows,
      GenerationOptions options,
      Set<Integer> eosIds,
      double projectorMillis) {
    int visual = Math.toIntExact(rows.getShape().get(0));
    int[] ids = tokenizer.encode(promptText, true);
    int found = 0;
    for (int id : ids) {
      if (id == placeholderId) {
        found++;
      }
    }
    if (found == 0) {
      throw new IllegalStateException(
          "the tokenizer did not keep " + placeholder + " as one token (id " + placeholderId + ")");
    }
    if (found != templatePlaceholders) {
      throw new IllegalArgumentException(
          "the prompt holds "
              + found
              + " "
              + placeholder
              + " placeholders, expected "
              + templatePlaceholders
              + " (the question must not contain the "
              + placeholder
              + " placeholder)");
    }
    if (visual % found != 0) {
      throw new IllegalArgumentException(
          visual
              + " visual rows do not split evenly among "
              + found
              + " "
              + placeholder
              + " placeholders");
    }
    int per = visual / found;
    int textTokens = ids.length - found;
    long promptLen = (long) textTokens + visual;
    if (promptLen > llm.contextLength()) {
      throw new IllegalArgumentException(
          "prompt of "
              + promptLen
              + " tokens ("
              + textTokens
              + " text + "
              + visual
              + " visual) exceeds the context length "
              + llm.contextLength());
    }
    int[] expanded = new int[(int) promptLen];
    int o = 0;
    for (int id : ids) {
      if (id == placeholderId) {
        Arrays.fill(expanded, o, o + per, placeholderId);
        o += per;
      } else {
        expanded[o++] = id;
      }
    }
    NDArray embeddings = splice(step, llm, expanded, placeholderId, rows);
    Sampler sampler =
        options.isGreedy()
            ? Sampler.greedy()
            : Sampler.of(options.temperature(), options.topP(), options.seed());
    Generator.Result r =
        new Generator(llm, eosIds).generate(embeddings, options.maxNewTokens(), sampler);
    String text = tokenizer.decode(r.tokenIds(), true);
    return new GenerationResult(
        text,
        r.tokenIds(),
        (int) promptLen,
        r.tokenIds().length,
        projectorMillis,
        r.prefillMillis(),
        r.decodeMillis());
  }
}
