package io.decostream.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Honeybee C-Abstractor, the convolutional compressive baseline of models.md §3.6 ([HB-PROJ] {@code
 * CAbstractor}, RegStage/Bottleneck from [TIMM] regnet.py), as a differentiable block on DJL
 * NDArrays.
 *
 * <pre>
 * V [B, g*g, Dv] + pos_emb [1, g*g, Dv]
 *   → b (h w) d → b d h w                       [B, Dv, g, g]   (token p = row*g + col)
 *   → s1 = RegStage(depth, Dv → hidden)        [B, hidden, g, g]     net.0
 *   → AdaptiveAvgPool2d((o, o))                [B, hidden, o, o]     net.1 (no weights; §3.5 windows)
 *   → s2 = RegStage(depth, hidden → hidden)    [B, hidden, o, o]     net.2
 *   → b d h w → b (h w) d                      [B, o*o, hidden]
 *   → readout: Linear(hidden→Dout), SiLU, Linear(Dout→Dout)   [B, o*o, Dout]
 * </pre>
 *
 * RegStage = {@code depth} timm Bottleneck blocks {@code b1..b{depth}} (first in→out, the rest
 * out→out; stride 1, bottle_ratio 1, group_size 1, act SiLU, norm LayerNorm2d):
 *
 * <pre>
 * y = SiLU(LN2d(conv1x1(x)))                  conv1   (in → out)
 * y = SiLU(LN2d(dwconv3x3(y, pad 1)))         conv2   (depthwise: groups = out)
 * y = y * sigmoid(fc2(SiLU(fc1(mean_hw(y)))))  se      (1x1 convs with bias, out → rd → out)
 * y = LN2d(conv1x1(y))                        conv3   (no act)
 * y = SiLU(y + shortcut(x))                   shortcut = LN2d(conv1x1(x)) "downsample" if in≠out, else x
 * </pre>
 *
 * Convs have no bias except SE's; LayerNorm2d is a LayerNorm over the channel axis at each
 * position, eps 1e-6 (timm {@code LayerNorm2d} default).
 *
 * <p><b>SE squeeze width</b> (the §3.6 "Conv1x1(C→round(in·0.25))"): timm's Bottleneck computes
 * {@code se_channels = int(round(in_chs * se_ratio))} from the <em>block input</em> channels while
 * the SE acts on the bottleneck channels {@code C = out}. So the first block of s1 squeezes to
 * {@code round(Dv·0.25)} and every other block to {@code round(hidden·0.25)} ({@link
 * CAbstractorConfig#seChannels}). The golden test uses Dv ≠ hidden so the two readings differ in
 * shape.
 *
 * <p>Weight names (timm module paths under Honeybee's {@code net = Sequential(s1, sampler, s2)} and
 * {@code readout = Sequential(Linear, SiLU, Linear)}; s = 0 or 2, j = 1..depth; timm's ConvNormAct
 * names its norm {@code bn} even when it is a LayerNorm2d):
 *
 * <pre>
 * pos_emb                                   [1, g*g, Dv]
 * net.{s}.b{j}.conv1.conv.weight            [out, in, 1, 1]
 * net.{s}.b{j}.conv1.bn.{weight,bias}       [out]
 * net.{s}.b{j}.conv2.conv.weight            [out, 1, 3, 3]
 * net.{s}.b{j}.conv2.bn.{weight,bias}       [out]
 * net.{s}.b{j}.se.fc1.weight                [rd, out, 1, 1]   .bias [rd]   rd = round(in·seRatio)
 * net.{s}.b{j}.se.fc2.weight                [out, rd, 1, 1]   .bias [out]
 * net.{s}.b{j}.conv3.conv.weight            [out, out, 1, 1]
 * net.{s}.b{j}.conv3.bn.{weight,bias}       [out]
 * net.{s}.b{j}.downsample.conv.weight       [out, in, 1, 1]   (only when in ≠ out)
 * net.{s}.b{j}.downsample.bn.{weight,bias}  [out]
 * readout.0.weight [Dout, hidden]  readout.0.bias [Dout]
 * readout.2.weight [Dout, Dout]    readout.2.bias [Dout]
 * </pre>
 *
 * With {@code depth = 0} there are no {@code net.*} weights (Honeybee then uses the pool alone).
 *
 * <p>The block does not own its weight arrays; {@link #forward} closes its intermediates and
 * returns a result on the input's manager.
 */
public final class CAbstractor {

  static final float LN2D_EPS = 1e-6f; // timm LayerNorm2d default (spec: UNVERIFIED for Honeybee)
  static final double INIT_STD = 0.02; // linears and pos_emb (Honeybee trunc_normal std .02)

  private static final Shape ONE = new Shape(1, 1);
  private static final Shape NO_PAD = new Shape(0, 0);
  private static final Shape PAD_1 = new Shape(1, 1);

  private final CAbstractorConfig config;
  private final LinkedHashMap<String, NDArray> w;

  /**
   * @param weights every name of {@link #weightShapes} with exactly that shape (FLOAT32), nothing
   *     else; the arrays are used as they are (not copied)
   * @throws IllegalArgumentException naming missing, unused or misshaped weights
   */
  public CAbstractor(CAbstractorConfig config, Map<String, NDArray> weights) {
    this.config = Objects.requireNonNull(config, "config");
    this.w = BlockWeights.bind("CAbstractor", weightShapes(config), weights);
  }

  /**
   * Expected weight names and shapes, in a fixed order (the order {@link #initWeights} samples).
   */
  public static LinkedHashMap<String, Shape> weightShapes(CAbstractorConfig c) {
    Objects.requireNonNull(c, "config");
    LinkedHashMap<String, Shape> s = new LinkedHashMap<>();
    s.put("pos_emb", new Shape(1, c.inputTokens(), c.visionWidth()));
    if (c.depth() > 0) {
      stageShapes(s, c, "net.0.", c.visionWidth(), c.hidden());
      stageShapes(s, c, "net.2.", c.hidden(), c.hidden());
    }
    s.put("readout.0.weight", new Shape(c.outputWidth(), c.hidden()));
    s.put("readout.0.bias", new Shape(c.outputWidth()));
    s.put("readout.2.weight", new Shape(c.outputWidth(), c.outputWidth()));
    s.put("readout.2.bias", new Shape(c.outputWidth()));
    return s;
  }

  private static void stageShapes(
      Map<String, Shape> s, CAbstractorConfig c, String stage, long stageIn, long out) {
    for (int j = 1; j <= c.depth(); j++) {
      long in = j == 1 ? stageIn : out;
      long rd = c.seChannels(Math.toIntExact(in));
      String p = stage + "b" + j + ".";
      s.put(p + "conv1.conv.weight", new Shape(out, in, 1, 1));
      s.put(p + "conv1.bn.weight", new Shape(out));
      s.put(p + "conv1.bn.bias", new Shape(out));
      s.put(p + "conv2.conv.weight", new Shape(out, 1, 3, 3));
      s.put(p + "conv2.bn.weight", new Shape(out));
      s.put(p + "conv2.bn.bias", new Shape(out));
      s.put(p + "se.fc1.weight", new Shape(rd, out, 1, 1));
      s.put(p + "se.fc1.bias", new Shape(rd));
      s.put(p + "se.fc2.weight", new Shape(out, rd, 1, 1));
      s.put(p + "se.fc2.bias", new Shape(out));
      s.put(p + "conv3.conv.weight", new Shape(out, out, 1, 1));
      s.put(p + "conv3.bn.weight", new Shape(out));
      s.put(p + "conv3.bn.bias", new Shape(out));
      if (in != out) {
        s.put(p + "downsample.conv.weight", new Shape(out, in, 1, 1));
        s.put(p + "downsample.bn.weight", new Shape(out));
        s.put(p + "downsample.bn.bias", new Shape(out));
      }
    }
  }

  /**
   * Fresh deterministic weights on {@code m} (plain arrays, no gradient flag): LayerNorm2d weights
   * 1 and biases 0, all biases 0, conv weights N(0, 2/fan_out) with {@code fan_out =
   * kh·kw·out/groups} (timm RegNet's conv init), linear weights and {@code pos_emb} N(0, 0.02²).
   * One {@link Random}{@code (seed)} is consumed in {@link #weightShapes} order, so equal seeds
   * give equal weights on every JVM.
   */
  public static Map<String, NDArray> initWeights(NDManager m, CAbstractorConfig c, long seed) {
    Objects.requireNonNull(m, "manager");
    Random rnd = new Random(seed);
    LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : weightShapes(c).entrySet()) {
      String name = e.getKey();
      Shape shape = e.getValue();
      NDArray a;
      if (name.endsWith(".bn.weight")) {
        a = m.ones(shape);
      } else if (name.endsWith(".bias")) {
        a = m.zeros(shape);
      } else if (shape.dimension() == 4) {
        long outCh = shape.get(0);
        long groups = name.endsWith("conv2.conv.weight") ? outCh : 1; // depthwise 3x3
        double fanOut = (double) shape.get(2) * shape.get(3) * outCh / groups;
        a = BlockWeights.gaussian(m, shape, Math.sqrt(2.0 / fanOut), rnd);
      } else {
        a = BlockWeights.gaussian(m, shape, INIT_STD, rnd);
      }
      out.put(name, a);
    }
    return out;
  }

  public CAbstractorConfig config() {
    return config;
  }

  /** The bound weights in {@link #weightShapes} order (read-only view; the arrays are shared). */
  public Map<String, NDArray> weights() {
    return Collections.unmodifiableMap(w);
  }

  /** {@code o*o}, the number of output tokens. */
  public int outputTokens() {
    return config.outputTokens();
  }

  /** Dout, the readout width. */
  public int outputWidth() {
    return config.outputWidth();
  }

  /**
   * Compresses {@code v [B, g*g, Dv]} (row-major token grid) to {@code [B, o*o, Dout]} on {@code
   * v}'s manager. Differentiable with respect to every weight and to {@code v}.
   */
  public NDArray forward(NDArray v) {
    Objects.requireNonNull(v, "v");
    Shape vs = v.getShape();
    int g = config.grid();
    int o = config.outGrid();
    if (vs.dimension() != 3
        || vs.get(1) != config.inputTokens()
        || vs.get(2) != config.visionWidth()) {
      throw new IllegalArgumentException(
          "CAbstractor input must be [B, g*g="
              + config.inputTokens()
              + ", Dv="
              + config.visionWidth()
              + "], got "
              + vs);
    }
    long b = vs.get(0);
    NDManager caller = v.getManager();
    try (NDManager scope = caller.newSubManager()) {
      // Results land on their first operand's manager: parking v in the scope makes every
      // intermediate scope-owned (released at the end; autograd keeps what it saved).
      v.tempAttach(scope);
      NDArray x = v.add(w.get("pos_emb")); // [B, g*g, Dv]
      long c = config.visionWidth();
      if (config.depth() > 0) {
        x = x.transpose(0, 2, 1).reshape(b, c, g, g); // [B, Dv, g, g]
        x = regStage("net.0.", x); // [B, hidden, g, g]
        c = config.hidden();
        x = x.reshape(b, c, (long) g * g).transpose(0, 2, 1); // [B, g*g, hidden]
      }
      // AdaptiveAvgPool2d((o,o)) as M @ x with the exact §3.5 windows (same rule as DeCo's pool)
      x = AdaptivePool2d.pool(x, g, g, o, o, PoolingMode.AVG); // [B, o*o, C]
      if (config.depth() > 0) {
        x = x.transpose(0, 2, 1).reshape(b, c, o, o); // [B, hidden, o, o]
        x = regStage("net.2.", x); // [B, hidden, o, o]
        x = x.reshape(b, c, (long) o * o).transpose(0, 2, 1); // [B, o*o, hidden]
      }
      // readout: Linear(hidden → Dout), SiLU, Linear(Dout → Dout)
      NDArray r = BlockWeights.linear(x, w.get("readout.0.weight"), w.get("readout.0.bias"));
      r = BlockWeights.silu(r);
      r =
          BlockWeights.linear(
              r, w.get("readout.2.weight"), w.get("readout.2.bias")); // [B, o*o, Dout]
      r.attach(caller);
      return r;
    }
  }

  /** timm RegStage: blocks b1..b{depth} on NCHW {@code x}. */
  private NDArray regStage(String stage, NDArray x) {
    for (int j = 1; j <= config.depth(); j++) {
      x = bottleneck(stage + "b" + j + ".", x);
    }
    return x;
  }

  /** timm regnet Bottleneck (bottle_ratio 1, depthwise 3x3, SE, SiLU, LayerNorm2d). */
  private NDArray bottleneck(String p, NDArray x) {
    long out = w.get(p + "conv1.conv.weight").getShape().get(0);
    // conv1: 1x1 in → out, LN2d, SiLU                                [B, out, H, W]
    NDArray y =
        BlockWeights.silu(
            norm2d(p + "conv1.bn.", conv(x, w.get(p + "conv1.conv.weight"), null, NO_PAD, 1)));
    // conv2: depthwise 3x3 (groups = out, padding 1), LN2d, SiLU    [B, out, H, W]
    y =
        BlockWeights.silu(
            norm2d(
                p + "conv2.bn.",
                conv(y, w.get(p + "conv2.conv.weight"), null, PAD_1, Math.toIntExact(out))));
    // SE: gate [B, out, 1, 1] = sigmoid(fc2(SiLU(fc1(mean_hw(y)))))
    Shape ys = y.getShape(); // (DJL's PyTorch mean takes one axis)
    NDArray s =
        y.reshape(ys.get(0), out, ys.get(2) * ys.get(3))
            .mean(new int[] {2}, true)
            .reshape(ys.get(0), out, 1, 1); // [B, out, 1, 1]
    s =
        BlockWeights.silu(
            conv(
                s,
                w.get(p + "se.fc1.weight"),
                w.get(p + "se.fc1.bias"),
                NO_PAD,
                1)); // [B, rd, 1, 1]
    s =
        Activation.sigmoid(
            conv(
                s,
                w.get(p + "se.fc2.weight"),
                w.get(p + "se.fc2.bias"),
                NO_PAD,
                1)); // [B, out, 1, 1]
    y = y.mul(s);
    // conv3: 1x1 out → out, LN2d, no activation
    y = norm2d(p + "conv3.bn.", conv(y, w.get(p + "conv3.conv.weight"), null, NO_PAD, 1));
    // shortcut: 1x1 conv + LN2d when the width changes, identity otherwise
    NDArray shortcut =
        w.containsKey(p + "downsample.conv.weight")
            ? norm2d(
                p + "downsample.bn.", conv(x, w.get(p + "downsample.conv.weight"), null, NO_PAD, 1))
            : x;
    return BlockWeights.silu(y.add(shortcut)); // act3
  }

  /** nn.Conv2d, stride 1, dilation 1 (torch conv through DJL's engine op; bias may be null). */
  private static NDArray conv(NDArray x, NDArray weight, NDArray bias, Shape pad, int groups) {
    return x.getNDArrayInternal()
        .convolution(x, weight, bias, ONE, pad, ONE, groups)
        .singletonOrThrow();
  }

  /** timm LayerNorm2d: NCHW → NHWC, LayerNorm over C (eps 1e-6), → NCHW. */
  private NDArray norm2d(String p, NDArray x) {
    NDArray nhwc = x.transpose(0, 2, 3, 1);
    return BlockWeights.layerNorm(nhwc, w.get(p + "weight"), w.get(p + "bias"), LN2D_EPS)
        .transpose(0, 3, 1, 2);
  }
}
