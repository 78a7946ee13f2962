package io.decostream.nn.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.LayerNorm;
import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.vit.VitEncoderLayer;
import io.decostream.nn.weights.WeightBinder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The CLIP vision transformer (spec §1.3, HF {@code CLIPVisionTransformer}) on DJL PyTorch
 * NDArrays, fp32.
 *
 * <p>Built from a {@link WeightBinder} scoped to the {@code vision_model.} tree, with exact HF
 * names. Every weight of the checkpoint's tower is bound (all layers and {@code post_layernorm}, so
 * strict loading passes), but a forward pass runs only up to the requested hidden state (LLaVA's
 * {@code vision_feature_layer = -2} never needs the last layer) and never applies post_layernorm
 * (HF applies it only to the pooled CLS output, which LLaVA does not use).
 */
public final class ClipVisionTower implements AutoCloseable {

  /** Frames per batch in {@link #features(List)}: bounds peak memory for long videos. */
  public static final int FEATURE_BATCH = 8;

  private final ClipVisionConfig config;
  private final NDManager manager;
  private final NDArray classEmbedding;
  private final NDArray patchWeight;
  private final NDArray positionEmbedding;
  private final NDArray preLnWeight;
  private final NDArray preLnBias;
  private final List<VitEncoderLayer> layers;
  private final int defaultHiddenStateIndex;
  private final boolean defaultDropCls;
  private final float eps;

  /**
   * A tower whose {@link #features(List)} returns LLaVA's default feature: hidden state {@code
   * layers - 1} ({@code vision_feature_layer = -2}) with CLS dropped ("default" strategy).
   */
  public ClipVisionTower(WeightBinder visionModel, ClipVisionConfig config) {
    this(visionModel, config, config.resolved().numHiddenLayers() - 1, true);
  }

  /**
   * @param visionModel binder scoped to the {@code ...vision_model.} key path
   * @param config the vision config (defaults are filled in via {@link
   *     ClipVisionConfig#resolved()})
   * @param hiddenStateIndex the hidden state {@link #features(List)} returns: 0 = embeddings after
   *     pre_layrnorm, i = output of layer i (see {@link #hiddenStateIndex(int, int)} for LLaVA's
   *     negative indices)
   * @param dropCls whether {@link #features(List)} drops the CLS token (strategy "default")
   */
  public ClipVisionTower(
      WeightBinder visionModel, ClipVisionConfig config, int hiddenStateIndex, boolean dropCls) {
    this.config = config.resolved();
    int d = this.config.hiddenSize();
    int p = this.config.patchSize();
    int c = this.config.numChannels();
    int i = this.config.intermediateSize();
    int g = this.config.gridSize();
    checkIndex(hiddenStateIndex);
    this.defaultHiddenStateIndex = hiddenStateIndex;
    this.defaultDropCls = dropCls;
    this.eps = this.config.layerNormEps().floatValue();
    classEmbedding = visionModel.bind("embeddings.class_embedding", d);
    patchWeight = visionModel.bind("embeddings.patch_embedding.weight", d, c, p, p);
    positionEmbedding =
        visionModel.bind("embeddings.position_embedding.weight", (long) g * g + 1, d);
    preLnWeight = visionModel.bind("pre_layrnorm.weight", d);
    preLnBias = visionModel.bind("pre_layrnorm.bias", d);
    List<VitEncoderLayer> ls = new ArrayList<>();
    for (int l = 0; l < this.config.numHiddenLayers(); l++) {
      ls.add(
          new VitEncoderLayer(
              visionModel.scoped("encoder.layers." + l),
              d,
              i,
              this.config.numAttentionHeads(),
              eps,
              VitEncoderLayer.MlpActivation.of(this.config.hiddenAct())));
    }
    layers = List.copyOf(ls);
    // post_layernorm is part of every CLIP checkpoint; bound for strict loading, never applied
    // (spec §1.3)
    visionModel.bind("post_layernorm.weight", d);
    visionModel.bind("post_layernorm.bias", d);
    manager = classEmbedding.getManager().newSubManager();
  }

  /**
   * LLaVA's {@code vision_feature_layer} as a hidden_states index: negative values count from the
   * end of the {@code layers + 1} hidden states (-2 with 24 layers is 23).
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

  public ClipVisionConfig config() {
    return config;
  }

  /** Hidden state index used by {@link #features(List)}. */
  public int defaultHiddenStateIndex() {
    return defaultHiddenStateIndex;
  }

  /** Tokens per image returned by {@link #features(List)}: grid^2 (+1 when CLS is kept). */
  public int tokensPerImage() {
    int n = config.gridSize() * config.gridSize();
    return defaultDropCls ? n : n + 1;
  }

  /**
   * Runs the tower up to {@code hiddenStateIndex}.
   *
   * @param pixels [B, 3, S, S] F32, preprocessed ({@link ClipImageProcessor})
   * @param hiddenStateIndex 0 = embeddings after pre_layrnorm, i = output of encoder layer i
   *     (1-based)
   * @param dropCls drop token 0 (LLaVA strategy "default")
   * @return [B, N, D] with N = grid^2 (dropCls) or grid^2 + 1, attached to the manager of {@code
   *     pixels}; token p = row * grid + col
   */
  public NDArray forward(NDArray pixels, int hiddenStateIndex, boolean dropCls) {
    return run(pixels, hiddenStateIndex, dropCls, null);
  }

  /**
   * As {@link #forward(NDArray, int, boolean)}, with an R-GAE attention tap (spec §7.1, §7.7):
   * every encoder layer that runs (1..hiddenStateIndex, in order) hands its probabilities [B, H, T,
   * T] (T = grid² + 1, CLS first) to {@code tap} and uses what it returns. The argument lives in a
   * per-layer scope closed after the layer: a tap that keeps it must attach it to its own manager.
   */
  public NDArray forwardTapped(
      NDArray pixels, int hiddenStateIndex, boolean dropCls, UnaryOperator<NDArray> tap) {
    return run(pixels, hiddenStateIndex, dropCls, java.util.Objects.requireNonNull(tap, "tap"));
  }

  private NDArray run(
      NDArray pixels, int hiddenStateIndex, boolean dropCls, UnaryOperator<NDArray> tap) {
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
    int n = config.gridSize() * config.gridSize();
    NDManager caller = pixels.getManager();
    try (NDManager scope = caller.newSubManager()) {
      scope.tempAttachAll(pixels);
      // embeddings: patch conv (stride = kernel, no bias) -> [B,D,G,G] -> [B,N,D] row-major patches
      NDArray patches =
          Conv2d.conv2d(
                  pixels, patchWeight, null, new Shape(p, p), new Shape(0, 0), new Shape(1, 1), 1)
              .singletonOrThrow()
              .reshape(b, d, n)
              .transpose(0, 2, 1);
      NDArray cls = scope.zeros(new Shape(b, 1, d)).add(classEmbedding);
      NDArray x = NDArrays.concat(new NDList(cls, patches), 1).add(positionEmbedding);
      x = layerNorm(x, preLnWeight, preLnBias); // hs[0]
      for (int l = 0; l < hiddenStateIndex; l++) {
        NDArray next;
        try (NDManager layerScope = scope.newSubManager()) {
          layerScope.tempAttachAll(x);
          next = layers.get(l).forward(x, tap);
          next.attach(scope);
        }
        x.close();
        x = next;
      }
      NDArray out = dropCls ? x.get(":, 1:, :") : x;
      out.attach(caller);
      return out;
    }
  }

  private NDArray layerNorm(NDArray x, NDArray w, NDArray bias) {
    return LayerNorm.layerNorm(x, new Shape(config.hiddenSize()), w, bias, eps).singletonOrThrow();
  }

  /** {@link #features(List, int, boolean)} with this tower's default index and CLS handling. */
  public List<float[]> features(List<float[]> preprocessed) {
    return features(preprocessed, defaultHiddenStateIndex, defaultDropCls);
  }

  /**
   * Plain-Java convenience: per image a float[N * D] (row-major tokens) of the requested hidden
   * state.
   *
   * @param preprocessed CHW float[3 * S * S] per image ({@link ClipImageProcessor#preprocess})
   */
  public List<float[]> features(List<float[]> preprocessed, int hiddenStateIndex, boolean dropCls) {
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
                + " (3 x "
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
        NDArray f = forward(px, hiddenStateIndex, dropCls);
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
