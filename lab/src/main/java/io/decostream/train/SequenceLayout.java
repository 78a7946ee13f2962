package io.decostream.train;

/**
 * Where things sit in a training batch's sequence (spec §4.4: the vicuna_v1 prompt with its {@code
 * <video>} token replaced by F·M visual rows): {@code [prefix | F·M visual rows | question +
 * target, right-padded]}, and which query rows the decoder's trace records.
 *
 * @param prefixLength the prompt's ids before {@code <video>}, the same for the whole batch
 * @param frames F
 * @param tokensPerFrame M, the connector's rows per frame
 * @param maxQuestion the longest question suffix in the batch
 * @param maxSuffix the longest question + target suffix in the batch
 * @param answerRow the traced row of the position that predicts the first answer token (0 or 1)
 * @param questionRows the first traced row of the question's positions, -1 when not traced
 */
record SequenceLayout(
    int prefixLength,
    int frames,
    int tokensPerFrame,
    int maxQuestion,
    int maxSuffix,
    int answerRow,
    int questionRows) {

  /** The traced row of the lookup: the naming word's at word and ends, else the answer's. */
  static final int LOOKUP_ROW = 0;

  /** Sequence index of the first visual row. */
  int visualStart() {
    return prefixLength;
  }

  /** Sequence index of the latest frame's first visual row. */
  int latestFrameStart() {
    return prefixLength + (frames - 1) * tokensPerFrame;
  }

  /** Sequence index of the suffix's position 0 (the question's first id). */
  int suffixStart() {
    return prefixLength + frames * tokensPerFrame;
  }

  /** T, the padded sequence length. */
  int length() {
    return suffixStart() + maxSuffix;
  }

  /** Sequence index of the row that predicts an example's first target id. */
  int answerPosition(ExampleEncoder.Encoded e) {
    return suffixStart() - 1 + e.questionIds().length;
  }

  /** Sequence index of an example's naming word. */
  int wordPosition(ExampleEncoder.Encoded e) {
    return suffixStart() + e.namingWord();
  }
}
