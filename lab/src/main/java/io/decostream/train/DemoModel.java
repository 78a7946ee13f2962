package io.decostream.train;

import io.decostream.nn.safetensors.DType;
import io.decostream.nn.tiny.TinyPack;

/**
 * The shape of the demo model DeCo Stream trains on ShapesWorld and ships (issue 5), in the real
 * {@code llava_next_video} format: a CLIP-style ViT on 126x126 frames with 14-pixel patches (a 9x9
 * grid), the DeCo step as the config's 3x3 average pooling BEFORE the projector (81 → 9 tokens per
 * frame, one per cell of the questions' 3x3 position grid), a GELU MLP, and a small Llama whose
 * context (400 = 256 reserved text tokens + 16 frames x 9) makes the llm-worker derive a window of
 * exactly the 16 frames the world allows.
 */
public final class DemoModel {

  private DemoModel() {}

  /** Sizes of the shipped model. */
  public static TinyPack.Spec spec() {
    return new TinyPack.Spec(
        126, 14, 128, 256, 4, 4, 192, 512, 4, 6, 6, 400, 10000.0, -1, 3, DType.F32, 0.02);
  }
}
