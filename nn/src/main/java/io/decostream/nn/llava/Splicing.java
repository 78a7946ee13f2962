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
 * The language-side steps every LLaVA family shares (spec §4.4, §5): HF-style splicing of visual rows into the
 * placeholder positions of {@code input_ids}, the full-sequence forward with greedy decoding of the debugging
 * pass, and prompt-text generation. Family classes differ only in how they compute the visual rows.
 */
final class Splicing {

  private Splicing() {}

  /** Logits of every prompt position [T*V] and the greedy ids of one debugging pass. */
  record Decoded(float[] logits, int[] greedyIds) {}

  /**
   * Validates the inputs of a debugging pass; the messages name the offending tensor and what was expected.
   */
  static void checkDebugInputs(float[] pixels, int frames, int channels, int size, int[] inputIds, int vocab,
      int placeholderId, int expectedPlaceholders, int newTokens, int contextLength) {
    if (frames < 1) {
      throw new IllegalArgumentException("frames must be >= 1, got " + frames);
    }
    if (newTokens < 0) {
      throw new IllegalArgumentException("newTokens must be >= 0, got " + newTokens);
    }
    long perFrame = (long) channels * size * size;
    if (pixels.length != frames * perFrame) {
      throw new IllegalArgumentException("pixels hold " + pixels.length + " values but " + frames + " frames of ["
          + channels + ", " + size + ", " + size + "] need " + frames * perFrame);
    }
    int t = inputIds.length;
    if (t == 0) {
      throw new IllegalArgumentException("input_ids is empty");
    }
    int placeholders = 0;
    for (int i = 0; i < t; i++) {
      if (inputIds[i] < 0 || inputIds[i] >= vocab) {
        throw new IllegalArgumentException("input id " + inputIds[i] + " at position " + i
            + " is outside the vocabulary [0, " + vocab + ")");
      }
      if (inputIds[i] == placeholderId) {
        placeholders++;
      }
    }
    if (placeholders != expectedPlaceholders) {
      throw new IllegalArgumentException("input_ids hold " + placeholders + " placeholders (id " + placeholderId
          + ") but " + frames + " frames need " + expectedPlaceholders
          + " (expand the placeholder token before calling)");
    }
    if ((long) t + Math.max(newTokens, 1) - 1 > contextLength) {
      throw new IllegalArgumentException("prompt of " + t + " tokens + " + newTokens
          + " new tokens exceeds the context length " + contextLength);
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

  /**
   * HF {@code masked_scatter} splicing (spec §4.4): runs of text ids are embedded, runs of placeholders take the
   * next rows of {@code rows} [R, Dt] in order. The caller has checked that there are exactly R placeholders.
   */
  static NDArray splice(NDManager step, LlamaModel llm, int[] ids, int placeholderId, NDArray rows) {
    NDList parts = new NDList();
    int next = 0;
    for (int i = 0; i < ids.length; ) {
      boolean visual = ids[i] == placeholderId;
      int j = i;
      while (j < ids.length && (ids[j] == placeholderId) == visual) {
        j++;
      }
      if (visual) {
        parts.add(rows.get(new NDIndex("{}:{}", next, next + (j - i))));
        next += j - i;
      } else {
        parts.add(llm.embed(step, Arrays.copyOfRange(ids, i, j)));
      }
      i = j;
    }
    if (next != rows.getShape().get(0)) {
      throw new IllegalStateException("spliced " + next + " visual rows but " + rows.getShape().get(0) + " were given");
    }
    return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0);
  }

  /**
   * Steps 5–6 of the debugging pass: one forward over all T positions (every logit), then greedy decoding of
   * {@code newTokens} ids on the same KV cache. Generated ids are embedded as plain tokens (HF passes pixels only
   * at prefill); generation ends early only after emitting an EOS id, which is kept.
   */
  static Decoded forwardAndDecode(NDManager step, LlamaModel llm, NDArray embeddings, int newTokens,
      Set<Integer> eosIds) {
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

  /**
   * Answers from a rendered prompt (spec §4.4–§5): tokenizes {@code promptText} once (special tokens per the
   * tokenizer's post-processor, no truncation), expands its placeholders to the R rows of {@code rows} here
   * (never by the tokenizer: the template's P placeholders take R/P rows each), splices, prefills
   * a preallocated KV cache and decodes.
   */
  static GenerationResult generate(NDManager step, LlamaModel llm, PackTokenizer tokenizer, String promptText,
      String placeholder, int placeholderId, int templatePlaceholders, NDArray rows, GenerationOptions options,
      Set<Integer> eosIds, double projectorMillis) {
    int visual = Math.toIntExact(rows.getShape().get(0));
    int[] ids = tokenizer.encode(promptText, true);
    int found = 0;
    for (int id : ids) {
      if (id == placeholderId) {
        found++;
      }
    }
    if (found == 0) {
      throw new IllegalStateException("the tokenizer did not keep " + placeholder + " as one token (id "
          + placeholderId + ")");
    }
    if (found != templatePlaceholders) {
      throw new IllegalArgumentException("the prompt holds " + found + " " + placeholder + " placeholders, expected "
          + templatePlaceholders + " (the question must not contain the " + placeholder + " placeholder)");
    }
    if (visual % found != 0) {
      throw new IllegalArgumentException(visual + " visual rows do not split evenly among " + found + " "
          + placeholder + " placeholders");
    }
    int per = visual / found;
    int textTokens = ids.length - found;
    long promptLen = (long) textTokens + visual;
    if (promptLen > llm.contextLength()) {
      throw new IllegalArgumentException("prompt of " + promptLen + " tokens (" + textTokens + " text + " + visual
          + " visual) exceeds the context length " + llm.contextLength());
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
    Sampler sampler = options.isGreedy() ? Sampler.greedy()
        : Sampler.of(options.temperature(), options.topP(), options.seed());
    Generator.Result r = new Generator(llm, eosIds).generate(embeddings, options.maxNewTokens(), sampler);
    String text = tokenizer.decode(r.tokenIds(), true);
    return new GenerationResult(text, r.tokenIds(), (int) promptLen, r.tokenIds().length, projectorMillis,
        r.prefillMillis(), r.decodeMillis());
  }
}
