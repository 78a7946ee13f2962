package io.decostream.nn.llava;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.decostream.nn.generate.Generator;
import io.decostream.nn.generate.Sampler;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.tokenizer.PackTokenizer;
import java.util.Arrays;
import java.util.Set;

/**
 * The language-side steps every LLaVA family shares (spec §4.4, §5): HF-style splicing of visual
 * rows into the placeholder positions of {@code input_ids}, the expansion of a prompt's
 * placeholders, and prompt-text generation (the debugging pass is {@link DebugPass}, explaining an
 * answer {@link Explaining}). Family classes differ only in how they compute the visual rows. The
 * splice itself is public: training splices its batches with it.
 */
public final class Splicing {

  private Splicing() {}

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
    int[] expanded =
        expandPrompt(
            tokenizer.encode(promptText, true),
            placeholder,
            placeholderId,
            templatePlaceholders,
            visual,
            llm.contextLength());
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
        expanded.length,
        r.tokenIds().length,
        projectorMillis,
        r.prefillMillis(),
        r.decodeMillis());
  }

  /**
   * The prompt's ids with each of its {@code templatePlaceholders} placeholders expanded to its
   * equal share of the {@code visual} rows (spec §4.4), checked to fit {@code contextLength}.
   *
   * @throws IllegalStateException when the tokenizer split the placeholder
   * @throws IllegalArgumentException for a wrong placeholder count, rows that do not split evenly,
   *     or a prompt over the context length
   */
  static int[] expandPrompt(
      int[] ids,
      String placeholder,
      int placeholderId,
      int templatePlaceholders,
      int visual,
      int contextLength) {
    int found = 0;
    for (int id : ids) {
      if (id == placeholderId) {
        found++;
      }
    }
    checkPlaceholders(found, placeholder, placeholderId, templatePlaceholders, visual);
    int per = visual / found;
    int textTokens = ids.length - found;
    long promptLen = (long) textTokens + visual;
    if (promptLen > contextLength) {
      throw new IllegalArgumentException(
          "prompt of "
              + promptLen
              + " tokens ("
              + textTokens
              + " text + "
              + visual
              + " visual) exceeds the context length "
              + contextLength);
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
    return expanded;
  }

  /** The tokenized prompt must hold the template's placeholders, each taking a whole share. */
  private static void checkPlaceholders(
      int found, String placeholder, int placeholderId, int templatePlaceholders, int visual) {
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
  }
}
