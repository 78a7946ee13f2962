package io.decostream.nn.siglip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.LayerNorm;
import io.decostream.nn.vit.VitEncoderLayer;
import io.decostream.nn.weights.WeightBinder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The SigLIP vision transformer (spec §2, HF {@code SiglipVisionTransformer}) on DJL PyTorch
 * NDArrays, fp32 — LLaVA-OneVision's vision tower.
 *
 * <p>Differences from CLIP (§2): the patch conv has a bias, there is no CLS token (positions =
 * patches, 729 for 384/14), no pre-LayerNorm, and the MLP uses {@code gelu_pytorch_tanh}. Encoder
 * layers are otherwise CLIP's (pre-LN, q/k/v/out with biases). OneVision takes {@code hs[-1]} — the
 * last layer's output, <em>before</em> {@code post_layernorm} — with strategy "full" (nothing
 * dropped).
 *
 * <p>Built from a {@link WeightBinder} scoped to the {@code vision_model.} tree with HF names.
 * Every weight of the tower is bound (all layers, {@code post_layernorm}, and the MAP {@code
 * head.*} when the checkpoint has it) so strict loading passes; post_layernorm and the head are
 * never applied ({@code vision_use_head=False}).
 */
public final class SiglipVisionTower implements AutoCloseable {

  /** Frames per batch in {@link #features(List)}: bounds peak memory for long videos. */
  public static final int FEATURE_BATCH = 8;

  private final SiglipVisionConfig config;
  private final NDManager manager;
  private final NDArray patchWeight;
  private final NDArray patchBias;
  private final NDArray positionEmbedding;
  private final List<VitEncoderLayer> layers;
  private final int defaultHiddenStateIndex;
  private final float eps;

  /**
   * A tower whose {@link #features(List)} returns OneVision's feature: {@code hs[-1]}, all tokens
   * (§2, §3.4).
   */
  public SiglipVisionTower(WeightBinder visionModel, SiglipVisionConfig config) {
    this(visionModel, config, config.numHiddenLayers());
  }

  /**
   * @param visionModel binder scoped to the {@code ...vision_model.} key path
   * @param config the vision config; {@code num_hidden_layers} layers are bound
   * @param hiddenStateIndex the hidden state {@link #features(List)} returns: 0 = embeddings, i =
   *     output of encoder layer i (see {@link #hiddenStateIndex(int, int)} for LLaVA's negative
   *     indices)
   */
  public SiglipVisionTower(
      WeightBinder visionModel, SiglipVisionConfig config, int hiddenStateIndex) {
    this.config = config;
    int d = config.hiddenSize();
    int p = config.patchSize();
    int c = config.numChannels();
    int i = config.intermediateSize();
    checkIndex(hiddenStateIndex);
    this.defaultHiddenStateIndex = hiddenStateIndex;
    this.eps = config.layerNormEps().floatValue();
    patchWeight = visionModel.bind("embeddings.patch_embedding.weight", d, c, p, p);
    patchBias = visionModel.bind("embeddings.patch_embedding.bias", d);
    positionEmbedding =
        visionModel.bind("embeddings.position_embedding.weight", config.numPatches(), d);
    List<VitEncoderLayer> ls = new ArrayList<>();
    for (int l = 0; l < config.numHiddenLayers(); l++) {
      ls.add(
          new VitEncoderLayer(
              visionModel.scoped("encoder.layers." + l),
              d,
              i,
              config.numAttentionHeads(),
              eps,
              VitEncoderLayer.MlpActivation.of(config.hiddenAct())));
    }
    layers = List.copyOf(ls);
    // post_layernorm: in every SigLIP checkpoint; bound for strict loading, never applied
    // (OneVision uses hs[-1])
    visionModel.bind("post_layernorm.weight", d);
    visionModel.bind("post_layernorm.bias", d);
    bindHeadIfPresent(visionModel.scoped("head"), d, i);
    manager = patchWeight.getManager().newSubManager();
  }

  /**
   * The MAP pooling head of the original SigLIP checkpoint ({@code vision_use_head}): OneVision
   * never uses it, and its HF conversion omits it. When present, its tensors are bound
   * (shape-checked) so strict loading passes.
   */
  private static void bindHeadIfPresent(WeightBinder head, int d, int i) {
    if (!head.has("probe")) {
      return;
    }
    head.bind("probe", 1, 1, d);
    head.bind("attention.in_proj_weight", 3L * d, d);
    head.bind("attention.in_proj_bias", 3L * d);
    head.bind("attention.out_proj.weight", d, d);
    head.bind("attention.out_proj.bias", d);
    head.bind("layernorm.weight", d);
    head.bind("layernorm.bias", d);
    head.bind("mlp.fc1.weight", i, d);
    head.bind("mlp.fc1.bias", i);
    head.bind("mlp.fc2.weight", d, i);
    head.bind("mlp.fc2.bias", d);
  }

  /**
   * LLaVA's {@code vision_feature_layer} as a hidden_states index: negative values count from the
   * end of the {@code layers + 1} hidden states (OneVision's -1 with 26 layers is 26, the last
   * layer's output).
   */
  public static int hiddenStateIndex(int visionFeatureLayer, int numLayers) {
    int idx = visionFeatureLayer < 0 ? numLayers + 1 + visionFeatureLayer : visionFeatureLayer;
    if (idx < 0 || idx > numLayers) {
      throw new IllegalArgumentException(
          "vision_feature_layer "
              + visionFeatureLayer
              + " is out of range for "
              + numLayers
              + " layers");
    }
    return idx;
  }

  private void checkIndex(int idx) {
    if (idx < 0 || idx > config.numHiddenLayers()) {
      throw new IllegalArgumentException(
          "hidden state index " + idx + " must be in [0, " + config.numHiddenLayers() + "]");
    }
  }

  public SiglipVisionConfig config() {
    return config;
  }

  /** Hidden state index used by {@link #features(List)}. */
  public int defaultHiddenStateIndex() {
    return defaultHiddenStateIndex;
  }

  /**
   * Tokens per image returned by {@link #features(List)}: grid² (strategy "full", no CLS to drop).
   */
  public int tokensPerImage() {
    return config.numPatches();
  }

  /**
   * Runs the tower up to {@code hiddenStateIndex}.
   *
   * @param pixels [B, C, S, S] F32, preprocessed ({@link SiglipImageProcessor})
   * @param hiddenStateIndex 0 = embeddings (patches + positions; SigLIP has no pre-LN), i = output
   *     of layer i
   * @return [B, N, D], N = grid², attached to the manager of {@code pixels}; token p = row * grid +
   *     col
   */
  public NDArray forward(NDArray pixels, int hiddenStateIndex) {
    checkIndex(hiddenStateIndex);
    int s = config.imageSize();
    int d = config.hiddenSize();
    long[] shape = pixels.getShape().getShape();
    if (shape.length != 4 || shape[1] != config.numChannels() || shape[2] != s || shape[3] != s) {
      throw new IllegalArgumentException(
          "pixels must be [B, "
              + config.numChannels()
              + ", "
              + s
              + ", "
              + s
              + "], got "
              + Arrays.toString(shape));
    }
    if (pixels.getDataType() != DataType.FLOAT32) {
      throw new IllegalArgumentException("pixels must be FLOAT32, got " + pixels.getDataType());
    }
    long b = shape[0];
    int p = config.patchSize();
    int n = config.numPatches();
    NDManager caller = pixels.getManager();
    try (NDManager scope = caller.newSubManager()) {
      scope.tempAttachAll(pixels);
      // embeddings: patch conv (stride = kernel, "valid", WITH bias) -> [B,D,G,G] -> [B,N,D]
      // row-major patches,
      // + position_embedding(arange(N)); no CLS, no pre-LN (§2)
      NDArray x =
          Conv2d.conv2d(
                  pixels,
                  patchWeight,
                  patchBias,
                  new Shape(p, p),
                  new Shape(0, 0),
                  new Shape(1, 1),
                  1)
              .singletonOrThrow()
              .reshape(b, d, n)
              .transpose(0, 2, 1)
              .add(positionEmbedding); // hs[0]
      for (int l = 0; l < hiddenStateIndex; l++) {
        NDArray next;
        try (NDManager layerScope = scope.newSubManager()) {
          layerScope.tempAttachAll(x);
          next = layers.get(l).forward(x);
          next.attach(scope);
        }
        x.close();
        x = next;
      }
      x.attach(caller);
      return x;
    }
  }

  private NDArray layerNorm(NDArray x, NDArray w, NDArray bias) {
    return LayerNorm.layerNorm(x, new Shape(config.hiddenSize()), w, bias, eps).singletonOrThrow();
  }

  /**
   * {@code gelu_pytorch_tanh} (§2, torch {@code gelu(approximate="tanh")}): {@code 0.5·x·(1 +
   * tanh(√(2/π)·(x + 0.044715·x³)))}.
   */
  public static NDArray geluTanh(NDArray x) {
    return VitEncoderLayer.geluTanh(x);
  }

  /** {@link #features(List, int)} with this tower's default hidden state. */
  public List<float[]> features(List<float[]> preprocessed) {
    return features(preprocessed, defaultHiddenStateIndex);
  }

  /**
   * Plain-Java convenience: per image a float[N * D] (row-major tokens) of the requested hidden
   * state.
   *
   * @param preprocessed CHW float[C * S * S] per image ({@link SiglipImageProcessor#preprocess})
   */
  public List<float[]> features(List<float[]> preprocessed, int hiddenStateIndex) {
    int s = config.imageSize();
    int c = config.numChannels();
    int per = c * s * s;
    for (int i = 0; i < preprocessed.size(); i++) {
      if (preprocessed.get(i).length != per) {
        throw new IllegalArgumentException(
            "image "
                + i
                + " has "
                + preprocessed.get(i).length
                + " values, expected "
                + per
                + " ("
                + c
                + " x "
                + s
                + " x "
                + s
                + ")");
      }
    }
    List<float[]> out = new ArrayList<>(preprocessed.size());
    for (int from = 0; from < preprocessed.size(); from += FEATURE_BATCH) {
      int to = Math.min(preprocessed.size(), from + FEATURE_BATCH);
      float[] batch = new float[(to - from) * per];
      for (int i = from; i < to; i++) {
        System.arraycopy(preprocessed.get(i), 0, batch, (i - from) * per, per);
      }
      try (NDManager m = manager.newSubManager()) {
        NDArray px = m.create(batch, new Shape(to - from, c, s, s));
        NDArray f = forward(px, hiddenStateIndex);
        long[] fs = f.getShape().getShape();
        int size = Math.toIntExact(fs[1] * fs[2]);
        float[] all = f.toFloatArray();
        for (int i = 0; i < to - from; i++) {
          out.add(Arrays.copyOfRange(all, i * size, (i + 1) * size));
        }
      }
    }
    return out;
  }

  /**
   * Releases scratch memory; the weights belong to the binder (close the {@code
   * CheckpointWeights}).
   */
  @Override
  public void close() {
    manager.close();
  }
}
