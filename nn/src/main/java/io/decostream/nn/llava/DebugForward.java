package io.decostream.nn.llava;

import java.util.Arrays;

/**
 * Every intermediate of one {@code forwardDebug} pass ({@link DebugForwardModel}), as plain
 * row-major arrays with their shapes, for comparing with another implementation (HF transformers)
 * tensor by tensor. What the three feature tensors hold follows each family's own order of
 * operations:
 *
 * <pre>
 * family             vision_features   pooled_features              projected_features
 * llava_next_video   [F, N, Dv]        [F, M, Dv] pool BEFORE proj  [F, M, Dt]  (spec §3.3)
 * llava              [F, N, Dv]        [F, N, Dv] (no pooling)      [F, N, Dt]  (spec §3.1)
 * llava_onevision    [F, N, Dv]        [F, M, Dt] pool AFTER proj   [F, N, Dt]  (spec §3.4)
 * </pre>
 *
 * For llava_onevision the rows spliced into the sequence are {@code pooled_features} flattened plus
 * one {@code image_newline} row.
 *
 * @param family config.json model_type
 * @param frames F
 * @param seqLen T, prompt length (placeholders included)
 * @param vocab V
 * @param visionFeatures vision hidden state {@code vision_feature_layer} after the feature-select
 *     strategy
 * @param visionShape its shape
 * @param pooledFeatures features after the family's spatial pooling
 * @param pooledShape its shape
 * @param projectedFeatures multi_modal_projector output
 * @param projectedShape its shape
 * @param logits [T, V]: logits of every prompt position after splicing (spec §4.4)
 * @param greedyIds new tokens only, greedy; at most the requested count, ending early only with an
 *     EOS id, which is kept as the last id (as HF {@code generate} returns it)
 * @param textToQuery with grounding: [K, F·M] raw R-GAE rows of each greedy token over the visual
 *     positions in sequence order (spec §7.5; OneVision's image_newline row excluded); null without
 * @param textToPatch with grounding: [K, F, N] each row mapped through the family's Query-to-Patch
 *     matrices (spec §7.6; row-major patch grid); null without
 */
public record DebugForward(
    String family,
    int frames,
    int seqLen,
    int vocab,
    float[] visionFeatures,
    long[] visionShape,
    float[] pooledFeatures,
    long[] pooledShape,
    float[] projectedFeatures,
    long[] projectedShape,
    float[] logits,
    int[] greedyIds,
    float[] textToQuery,
    float[] textToPatch) {

  /** Without grounding maps. */
  public DebugForward(
      String family,
      int frames,
      int seqLen,
      int vocab,
      float[] visionFeatures,
      long[] visionShape,
      float[] pooledFeatures,
      long[] pooledShape,
      float[] projectedFeatures,
      long[] projectedShape,
      float[] logits,
      int[] greedyIds) {
    this(
        family,
        frames,
        seqLen,
        vocab,
        visionFeatures,
        visionShape,
        pooledFeatures,
        pooledShape,
        projectedFeatures,
        projectedShape,
        logits,
        greedyIds,
        null,
        null);
  }

  /** A copy carrying grounding maps. */
  public DebugForward withGrounding(float[] ttq, float[] ttp) {
    return new DebugForward(
        family,
        frames,
        seqLen,
        vocab,
        visionFeatures,
        visionShape,
        pooledFeatures,
        pooledShape,
        projectedFeatures,
        projectedShape,
        logits,
        greedyIds,
        ttq,
        ttp);
  }

  public DebugForward {
    check("vision_features", visionFeatures, visionShape);
    check("pooled_features", pooledFeatures, pooledShape);
    check("projected_features", projectedFeatures, projectedShape);
    check("logits", logits, new long[] {seqLen, vocab});
  }

  private static void check(String name, float[] data, long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    if (n != data.length) {
      throw new IllegalArgumentException(
          name
              + " holds "
              + data.length
              + " values, shape "
              + Arrays.toString(shape)
              + " needs "
              + n);
    }
  }
}
