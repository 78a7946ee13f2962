package io.decostream.nn.rgae;

import java.util.List;
import java.util.Objects;

/**
 * Text-to-Patch (spec §7.6): the Text-to-Query row over all visual tokens [F·M] (frames in time
 * order, M tokens per frame, no separators, §3.3) split per frame and mapped through each frame's
 * Query-to-Patch matrix: per frame [N], row-major patch grid ({@code p = row * width + col}).
 */
public final class TextToPatch {

  private TextToPatch() {}

  /** Every frame shares one matrix (identity, average pooling, bilinear). */
  public static float[][] perFrame(float[] textToQuery, int frames, QueryToPatch shared) {
    Objects.requireNonNull(shared, "shared");
    if (frames < 1) {
      throw new IllegalArgumentException("frames must be >= 1, got " + frames);
    }
    return perFrame(textToQuery, java.util.Collections.nCopies(frames, shared));
  }

  /** One matrix per frame (max pooling depends on each frame's features). */
  public static float[][] perFrame(float[] textToQuery, List<QueryToPatch> frames) {
    Objects.requireNonNull(textToQuery, "textToQuery");
    Objects.requireNonNull(frames, "frames");
    int total = 0;
    for (QueryToPatch q : frames) {
      total += Objects.requireNonNull(q, "frame matrix").queries();
    }
    if (total != textToQuery.length) {
      throw new IllegalArgumentException(
          "Text-to-Query has "
              + textToQuery.length
              + " visual tokens but the "
              + frames.size()
              + " frames' matrices have "
              + total
              + " queries");
    }
    float[][] out = new float[frames.size()][];
    int off = 0;
    for (int f = 0; f < frames.size(); f++) {
      QueryToPatch q = frames.get(f);
      float[] part = new float[q.queries()];
      System.arraycopy(textToQuery, off, part, 0, part.length);
      out[f] = q.apply(part);
      off += part.length;
    }
    return out;
  }
}
