package io.decostream.nn.rgae;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.decostream.nn.clip.ClipVisionTower;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.LlavaKeys;
import io.decostream.nn.weights.WeightBinder;
import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.MlpProjector;
import io.decostream.projector.PoolingMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The tiny llava_next_video golden pack ({@code golden/llava_next_video/f32}) assembled from its
 * parts the way {@code LlavaNextVideo.load} does (CLIP tower, projector MLP, Llama), plus the R-GAE
 * reference written by {@code golden/rgae/make_rgae_golden.py}.
 */
final class RGaeFixture implements AutoCloseable {

  final NDManager manager;
  final CheckpointWeights weights;
  final LlavaNextVideoConfig config;
  final LlavaKeys keys;
  final ClipVisionTower tower;
  final MlpProjector projector;
  final LlamaModel llm;
  final SafeTensors ref;

  RGaeFixture() throws Exception {
    Path pack = resource("/golden/llava_next_video/f32");
    config = LlavaNextVideoConfig.read(pack);
    manager = NDManager.newBaseManager();
    weights = CheckpointWeights.open(pack, manager);
    keys = LlavaKeys.detect(weights);
    tower =
        new ClipVisionTower(
            weights.scoped(keys.visionPrefix()),
            config.visionConfig(),
            config.visionHiddenStateIndex(),
            true);
    int dv = config.visionConfig().hiddenSize();
    int dt = config.textConfig().hiddenSize();
    WeightBinder proj = weights.scoped(keys.projectorPrefix());
    projector =
        new MlpProjector(
            proj.bind("linear_1.weight", dt, dv),
            proj.bind("linear_1.bias", dt),
            proj.bind("linear_2.weight", dt, dt),
            proj.bind("linear_2.bias", dt));
    llm = newLlm(config.textConfig());
    ref = SafeTensors.open(resource("/golden/rgae/rgae.safetensors"));
  }

  /**
   * A Llama over the pack's language-model weights with the given config (fewer layers bind a
   * prefix of them).
   */
  LlamaModel newLlm(LlamaConfig text) {
    return new LlamaModel(
        text,
        weights.scoped(keys.languageModelPrefix()),
        keys.lmHeadTied() ? null : weights,
        keys.lmHeadName());
  }

  static Path resource(String name) throws Exception {
    return Path.of(RGaeFixture.class.getResource(name).toURI());
  }

  int grid() {
    return config.visionConfig().gridSize();
  }

  int dv() {
    return config.visionConfig().hiddenSize();
  }

  int frames() {
    return Integer.parseInt(ref.metadata().get("frames"));
  }

  int[] ints(String name) {
    return Arrays.stream(ref.readLongs(name)).mapToInt(Math::toIntExact).toArray();
  }

  /** Java CLIP features of the reference pixels, per frame [N * Dv]. */
  List<float[]> visionFeatures() {
    float[] px = ref.readFloats("pixels");
    int per = px.length / frames();
    List<float[]> frames = new ArrayList<>();
    for (int f = 0; f < frames(); f++) {
      frames.add(Arrays.copyOfRange(px, f * per, (f + 1) * per));
    }
    return tower.features(frames);
  }

  /** A spliced prompt (spec §4.4): embeddings [L, Dt] and the visual rows' positions. */
  record Prompt(NDArray embeddings, int[] visualPositions) {}

  /**
   * Pools each frame (pure-Java exact pooling, before the projector as in HF, §3.3), projects and
   * splices the rows in place of the single {@code <video>} id of the reference input ids.
   */
  Prompt splice(NDManager m, List<float[]> features, PoolingMode mode) {
    int g = grid();
    int out = mode == PoolingMode.NONE ? g : g / 2;
    List<float[]> pooled = new ArrayList<>();
    int total = 0;
    for (float[] f : features) {
      float[] p = AdaptivePool2d.pool(f, g, g, dv(), out, out, mode);
      pooled.add(p);
      total += p.length;
    }
    float[] flat = new float[total];
    int off = 0;
    for (float[] p : pooled) {
      System.arraycopy(p, 0, flat, off, p.length);
      off += p.length;
    }
    int rowsCount = total / dv();
    NDArray rows = projector.forward(m.create(flat, new Shape(rowsCount, dv())));
    int[] ids = ints("input_ids");
    int video = config.videoTokenIndex();
    NDList pieces = new NDList();
    List<Integer> vis = new ArrayList<>();
    int pos = 0;
    for (int id : ids) {
      if (id == video) {
        pieces.add(rows);
        for (int r = 0; r < rowsCount; r++) {
          vis.add(pos++);
        }
      } else {
        pieces.add(llm.embed(m, new int[] {id}));
        pos++;
      }
    }
    NDArray emb = NDArrays.concat(pieces, 0);
    assertEquals(pos, emb.getShape().get(0));
    return new Prompt(emb, vis.stream().mapToInt(Integer::intValue).toArray());
  }

  /** Spec §8 tolerance: max|a-b| <= tol * max(1, max|b|); returns max|a-b| / max(1, max|b|). */
  static double err(float[] actual, float[] expected) {
    assertEquals(expected.length, actual.length, "element count");
    double d = 0;
    double ref = 1;
    for (int i = 0; i < expected.length; i++) {
      d = Math.max(d, Math.abs((double) actual[i] - expected[i]));
      ref = Math.max(ref, Math.abs(expected[i]));
    }
    return d / ref;
  }

  static float[] flatten(float[][] a) {
    int n = 0;
    for (float[] r : a) {
      n += r.length;
    }
    float[] out = new float[n];
    int off = 0;
    for (float[] r : a) {
      System.arraycopy(r, 0, out, off, r.length);
      off += r.length;
    }
    return out;
  }

  static NDArray row(NDArray a, int i) {
    return a.get(new NDIndex("{}", i));
  }

  @Override
  public void close() {
    ref.close();
    llm.close();
    // projector weights belong to the checkpoint (closed with it)
    tower.close();
    weights.close();
    manager.close();
  }
}
