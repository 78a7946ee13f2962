package io.decostream.lab.bench;

import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.config.LlamaConfig;
import java.util.Objects;

/**
 * The benchmark's floors (issue 20 point 6): what this machine could do at best, from the model's
 * shape and two measured rates (sgemm GFLOP/s, memory-read GB/s). Pure arithmetic, so a reader can
 * check it by hand; {@code BenchFloorsTest} does for a small config.
 *
 * <p>Counting rules, each the least work the maths needs (so every figure divided by its floor is
 * at most about 1):
 *
 * <ul>
 *   <li>Decode reads every layer weight and the lm head once per token (the embedding lookup reads
 *       one row: left out), plus the KV cache of the positions it attends to, in fp32 (the KV cache
 *       stays fp32 when the weights are 16-bit). The issue's own floor (63.1 tok/s from 30.3 GB/s)
 *       counts that KV read at the average decode position; {@link #decodeWeightBytesPerToken}
 *       alone is reported beside it.
 *   <li>Prefill of T tokens: 2 FLOPs per multiply-add of every linear weight for every token, the
 *       lm head for the last row only, and causal attention: per layer two matmuls (QK^T and AV) of
 *       2 FLOPs x (heads x head dim) per key, row i attending to i+1 keys, i.e. (T+1)/2 keys on
 *       average.
 *   <li>ViT per frame: the patch convolution, every linear weight for all G^2+1 tokens, and full
 *       (not causal) attention, up to the feature layer.
 * </ul>
 */
public final class Floors {

  private Floors() {}

  /** fp32 weights, fp32 KV cache. */
  public static final int FP32_BYTES = 4;

  /** 16-bit (BF16/F16) weights. */
  public static final int HALF_BYTES = 2;

  /** Linear (matmul) weights of one decoder layer: q, k, v, o, gate, up, down. */
  public static long layerLinearParams(LlamaConfig c) {
    LlamaConfig r = c.resolved();
    long d = r.hiddenSize();
    long q = (long) r.numAttentionHeads() * r.headDim();
    long kv = (long) r.numKeyValueHeads() * r.headDim();
    long i = r.intermediateSize();
    return d * q + 2 * d * kv + q * d + 3 * d * i;
  }

  /** lm head parameters (vocab x hidden), read once per decoded token whether tied or not. */
  public static long lmHeadParams(LlamaConfig c) {
    LlamaConfig r = c.resolved();
    return (long) r.vocabSize() * r.hiddenSize();
  }

  /**
   * Parameters read per decoded token: every layer's linear weights and its two norms, the final
   * norm, and the lm head.
   */
  public static long decodeParamsPerToken(LlamaConfig c) {
    LlamaConfig r = c.resolved();
    long perLayer = layerLinearParams(r) + 2L * r.hiddenSize();
    return r.numHiddenLayers() * perLayer + r.hiddenSize() + lmHeadParams(r);
  }

  /** Weight bytes read per decoded token at {@code bytesPerParam} (4 for fp32, 2 for 16-bit). */
  public static double decodeWeightBytesPerToken(LlamaConfig c, int bytesPerParam) {
    return (double) decodeParamsPerToken(c) * bytesPerParam;
  }

  /** fp32 KV-cache bytes per position: K and V, every layer, every KV head. */
  public static long kvBytesPerPosition(LlamaConfig c) {
    LlamaConfig r = c.resolved();
    return 2L * r.numHiddenLayers() * r.numKeyValueHeads() * r.headDim() * FP32_BYTES;
  }

  /**
   * Keys attended on average by {@code decodeTokens} steps after a {@code promptTokens} prompt:
   * step j (0-based) writes position prompt + j and attends to prompt + j + 1 keys.
   */
  public static double averageDecodeKeys(int promptTokens, int decodeTokens) {
    return promptTokens + (decodeTokens + 1) / 2.0;
  }

  /**
   * Bytes read per decoded token: weights plus the fp32 KV cache at the average decode position.
   */
  public static double decodeBytesPerToken(
      LlamaConfig c, int bytesPerParam, int promptTokens, int decodeTokens) {
    return decodeWeightBytesPerToken(c, bytesPerParam)
        + kvBytesPerPosition(c) * averageDecodeKeys(promptTokens, decodeTokens);
  }

  /** Decode floor, tokens per second: bandwidth over the bytes read per token. */
  public static double decodeFloorTokPerS(double bandwidthGBs, double bytesPerToken) {
    return bandwidthGBs * 1e9 / bytesPerToken;
  }

  /**
   * FLOPs of one prefill of {@code t} tokens over {@code past} cached positions (a fresh prompt:
   * past 0): linear weights for every row, lm head for the last row, causal attention (row i of the
   * new tokens attends to past + i + 1 keys).
   */
  public static double prefillFlops(LlamaConfig c, int t, int past) {
    LlamaConfig r = c.resolved();
    double linear = 2.0 * r.numHiddenLayers() * layerLinearParams(r) * t;
    double head = 2.0 * lmHeadParams(r);
    double keys = (double) t * past + (double) t * (t + 1) / 2.0; // sum over rows of keys
    double attention = r.numHiddenLayers() * 2.0 * 2.0 * r.numAttentionHeads() * r.headDim() * keys;
    return linear + head + attention;
  }

  /** FLOPs per token of a fresh prefill of {@code t} tokens. */
  public static double prefillFlopsPerToken(LlamaConfig c, int t) {
    return prefillFlops(c, t, 0) / t;
  }

  /** Prefill floor at {@code t} tokens, tokens per second, from sgemm GFLOP/s. */
  public static double prefillFloorTokPerS(LlamaConfig c, int t, double gflops) {
    return gflops * 1e9 / prefillFlopsPerToken(c, t);
  }

  /**
   * Time floor (ms) of a question's first token: the roofline max of its FLOPs over sgemm and its
   * bytes (weights plus the KV cache it attends to) over bandwidth. For a full re-prefill the
   * question's {@code t} tokens include the window ({@code past} 0); with a live window the window
   * is {@code past} cached positions and only the question's tokens run.
   */
  public static double firstTokenFloorMs(
      LlamaConfig c, int t, int past, double gflops, double bandwidthGBs) {
    double compute = prefillFlops(c, t, past) / (gflops * 1e9);
    double bytes = decodeWeightBytesPerToken(c, FP32_BYTES) + kvBytesPerPosition(c) * (past + t);
    double memory = bytes / (bandwidthGBs * 1e9);
    return 1000.0 * Math.max(compute, memory);
  }

  /**
   * FLOPs of the CLIP tower's forward of one frame up to hidden state {@code featureLayer}: patch
   * convolution, then per layer q, k, v, out and the two MLP matrices for G^2+1 tokens and full
   * attention (two matmuls of 2 x D per key, every token attending to all G^2+1).
   */
  public static double vitFlopsPerFrame(ClipVisionConfig v, int featureLayer) {
    ClipVisionConfig r = Objects.requireNonNull(v, "vision").resolved();
    double d = r.hiddenSize();
    double i = r.intermediateSize();
    double g2 = (double) r.gridSize() * r.gridSize();
    double t = g2 + 1;
    double patch = 2.0 * 3 * r.patchSize() * r.patchSize() * d * g2;
    double linear = 2.0 * t * (4 * d * d + 2 * d * i);
    double attention = 2.0 * 2.0 * t * t * d;
    return patch + featureLayer * (linear + attention);
  }

  /** ViT floor, seconds per frame. */
  public static double vitFloorSecondsPerFrame(
      ClipVisionConfig v, int featureLayer, double gflops) {
    return vitFlopsPerFrame(v, featureLayer) / (gflops * 1e9);
  }

  /** A measured rate as a fraction of its floor rate (NaN when either is missing). */
  public static double fraction(Double measured, Double floor) {
    if (measured == null || floor == null || !(floor > 0)) {
      return Double.NaN;
    }
    return measured / floor;
  }
}
