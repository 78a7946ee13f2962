package io.decostream.nn.llava;

import java.util.List;

/**
 * R-GAE Text-to-Query maps of one generated text (spec §7.5): for each generated token its raw row
 * over the F·M visual tokens of the prompt (frames in time order, M per frame), their mean, and per
 * word (sub-word tokens merged). Text-to-Patch is the caller's next step: each frame's slice times
 * that frame's Query-to-Patch matrix ({@code io.decostream.nn.rgae.TextToPatch}).
 *
 * @param tokenIds the explained tokens, in order
 * @param tokens each token decoded on its own
 * @param textToQuery [K][F·M] raw rows (identity start, no normalisation)
 * @param mean [F·M] the mean over the K rows
 * @param words the words of the text, in order
 * @param wordTokens for each word, the indices of its tokens
 * @param perWord [W][F·M] the mean over each word's rows
 * @param millis time spent on the explanation passes
 */
public record AnswerGrounding(
    int[] tokenIds,
    List<String> tokens,
    float[][] textToQuery,
    float[] mean,
    List<String> words,
    int[][] wordTokens,
    float[][] perWord,
    double millis) {}
