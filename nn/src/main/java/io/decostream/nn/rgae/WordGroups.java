package io.decostream.nn.rgae;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Merges sub-word tokens into words for per-word grounding maps (spec §7.5 averaging, applied per
 * word): a word is a token that starts a word followed by every following token that does not. The
 * first token always starts a word.
 */
public final class WordGroups {

  /** SentencePiece (Llama/Vicuna): a piece starting with "▁" (U+2581) begins a word. */
  public static final Predicate<String> SENTENCEPIECE = t -> t.startsWith("\u2581");

  /**
   * Byte-level BPE (GPT-2, Qwen2): a token starting with "Ġ" (encoded space) or a newline "Ċ"
   * begins a word.
   */
  public static final Predicate<String> BYTE_LEVEL_BPE =
      t -> t.startsWith("\u0120") || t.startsWith("\u010A");

  /** Every token is its own word (WordLevel tokenizers). */
  public static final Predicate<String> EVERY_TOKEN = t -> true;

  private WordGroups() {}

  /**
   * Groups token indices into words.
   *
   * @param tokens the generated tokens' strings (the tokenizer's pieces, not decoded text), in
   *     order
   * @param startsWord true when a token begins a new word
   * @return for each word, the indices of its tokens (ascending, contiguous)
   */
  public static int[][] of(List<String> tokens, Predicate<String> startsWord) {
    Objects.requireNonNull(tokens, "tokens");
    Objects.requireNonNull(startsWord, "startsWord");
    boolean[] starts = new boolean[tokens.size()];
    for (int i = 0; i < starts.length; i++) {
      starts[i] = startsWord.test(Objects.requireNonNull(tokens.get(i), "token " + i));
    }
    return of(starts);
  }

  /** Groups from a per-token "starts a word" flag (index 0 always starts one). */
  public static int[][] of(boolean[] startsWord) {
    Objects.requireNonNull(startsWord, "startsWord");
    List<int[]> groups = new ArrayList<>();
    int from = 0;
    for (int i = 1; i <= startsWord.length; i++) {
      if (i == startsWord.length || startsWord[i]) {
        if (i > from) {
          int[] g = new int[i - from];
          for (int k = 0; k < g.length; k++) {
            g[k] = from + k;
          }
          groups.add(g);
        }
        from = i;
      }
    }
    return groups.toArray(new int[0][]);
  }
}
