package io.decostream.nn.llava;

/**
 * Every intermediate of one {@link LlavaNextVideo#forwardDebug} pass, as plain row-major arrays, for comparing
 * with another implementation (HF transformers) tensor by tensor.
 *
 * @param frames F
 * @param visionTokens N, CLIP tokens per frame after dropping CLS (grid^2)
 * @param pooledTokens M, tokens per frame after the config's spatial pooling ((grid / stride)^2)
 * @param visionDim Dv
 * @param textDim Dt
 * @param seqLen T, prompt length (placeholders included)
 * @param vocab V
 * @param visionFeatures [F, N, Dv]: CLIP hidden state {@code vision_feature_layer}, CLS dropped (spec §1.3)
 * @param pooledFeatures [F, M, Dv]: LlavaNextVideoPooler output, before the projector (spec §3.3)
 * @param projectedFeatures [F, M, Dt]: multi_modal_projector output (spec §3.1)
 * @param logits [T, V]: logits of every prompt position after splicing (spec §4.4)
 * @param greedyIds new tokens only, greedy; at most the requested count, ending early only with an EOS id,
 *     which is kept as the last id (as HF {@code generate} returns it)
 */
public record DebugForward(int frames, int visionTokens, int pooledTokens, int visionDim, int textDim, int seqLen,
    int vocab, float[] visionFeatures, float[] pooledFeatures, float[] projectedFeatures, float[] logits,
    int[] greedyIds) {}
