package io.decostream.nn.llava;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.rgae.Explanation;
import io.decostream.nn.rgae.RGae;
import io.decostream.nn.rgae.WordGroups;
import io.decostream.nn.tokenizer.PackTokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * R-GAE of an answer (issue 4, spec §7.1–§7.5, §7.8), the same for every family: rebuilds exactly
 * the prompt {@link Splicing#generate} answered, then for each generated token t a tapped full
 * forward over prompt + tokens before t, backward from t's logit, and the raw Text-to-Query row
 * over the visual positions; packed with the tokens, words and means callers show.
 */
final class Explaining {

  private Explaining() {}

  /**
   * Explains {@code generatedIds}, the answer {@link Splicing#generate} gave to the same prompt
   * text and rows.
   *
   * @param startNanos when the caller started (the reported time includes its projector pass)
   */
  static AnswerGrounding explain(
      NDManager step,
      LanguageParts lang,
      String promptText,
      String placeholder,
      int placeholderId,
      int templatePlaceholders,
      NDArray rows,
      int[] generatedIds,
      long startNanos) {
    int visual = Math.toIntExact(rows.getShape().get(0));
    int[] expanded =
        Splicing.expandPrompt(
            lang.tokenizer().encode(promptText, true),
            placeholder,
            placeholderId,
            templatePlaceholders,
            visual,
            lang.llm().contextLength());
    int[] positions = new int[visual];
    for (int i = 0, n = 0; n < visual; i++) {
      if (expanded[i] == placeholderId) {
        positions[n++] = i;
      }
    }
    NDArray embeddings = Splicing.splice(step, lang.llm(), expanded, placeholderId, rows);
    return grounding(
        RGae.explainGreedy(lang.llm(), embeddings, positions, generatedIds),
        lang.tokenizer(),
        (System.nanoTime() - startNanos) / 1e6);
  }

  /**
   * Packs an R-GAE explanation for callers (spec §7.5): decoded tokens, the mean over steps, and
   * words formed by merging sub-word tokens with the tokenizer's own word-start convention
   * (SentencePiece ▁, byte-level Ġ, or one word per token for word-level vocabularies).
   */
  private static AnswerGrounding grounding(Explanation e, PackTokenizer tokenizer, double millis) {
    int[] ids = e.tokenIds();
    List<String> tokens = new ArrayList<>(ids.length);
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
    int[][] groups = WordGroups.of(starts);
    List<String> words = new ArrayList<>(groups.length);
    for (int[] g : groups) {
      int[] wordIds = new int[g.length];
      for (int k = 0; k < g.length; k++) {
        wordIds[k] = ids[g[k]];
      }
      words.add(tokenizer.decode(wordIds, false).trim());
    }
    Explanation.StepNormalisation none = Explanation.StepNormalisation.NONE;
    return new AnswerGrounding(
        ids,
        List.copyOf(tokens),
        e.textToQuery(),
        e.mean(),
        List.copyOf(words),
        groups,
        e.perWord(groups, none),
        millis);
  }
}
