package io.decostream.lab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.config.ClipVisionConfig;
import io.decostream.nn.config.LlamaConfig;
import org.junit.jupiter.api.Test;

/** The floor arithmetic against values worked out by hand (issue 20 point 6). */
public class BenchFloorsTest {

  /** hidden 8, 2 layers, 2 heads (head dim 4, no GQA), intermediate 16, vocab 10, tied. */
  private static final LlamaConfig SMALL = ModelBench.Sizes.llama(8, 2, 2, 16, 10, 64);

  @Test
  void decodeBytesPerTokenByHand() {
    // per layer: q 8x8 + k 8x8 + v 8x8 + o 8x8 + gate/up/down 3 x 8x16 = 64*4 + 384 = 640
    assertEquals(640, Floors.layerLinearParams(SMALL));
    assertEquals(80, Floors.lmHeadParams(SMALL));
    // 2 layers x (640 + two norms of 8) + final norm 8 + lm head 80
    assertEquals(2 * (640 + 16) + 8 + 80, Floors.decodeParamsPerToken(SMALL));
    assertEquals(1400 * 4.0, Floors.decodeWeightBytesPerToken(SMALL, 4), 0);
    assertEquals(1400 * 2.0, Floors.decodeWeightBytesPerToken(SMALL, 2), 0);
    // K and V x 2 layers x 2 heads x 4 dims x 4 bytes
    assertEquals(128, Floors.kvBytesPerPosition(SMALL));
    // after a 4-token prompt, 3 steps attend to 5, 6 and 7 keys
    assertEquals(6.0, Floors.averageDecodeKeys(4, 3), 0);
    assertEquals(5600 + 128 * 6.0, Floors.decodeBytesPerToken(SMALL, 4, 4, 3), 0);
    assertEquals(1e9 / 6368, Floors.decodeFloorTokPerS(1.0, 6368), 1e-6);
  }

  @Test
  void benchmarkModelReadsItsWholeTiedCheckpointPerToken() {
    // the 109.5M model: tied, so lm head = embeddings and every parameter is read
    LlamaConfig c = ModelBench.Sizes.full().text();
    assertEquals(109_529_856L, Floors.decodeParamsPerToken(c));
    // 438.1 MB of fp32 weights + 73728 B of KV per position at 576.5 average keys
    assertEquals(438_119_424.0, Floors.decodeWeightBytesPerToken(c, 4), 0);
    assertEquals(73_728, Floors.kvBytesPerPosition(c));
    double bytes = Floors.decodeBytesPerToken(c, 4, 512, 128);
    // the floor: 63.1 tok/s at 30.3 GB/s (rounded: 30.25..30.35 GB/s give 62.9..63.2)
    assertEquals(63.1, Floors.decodeFloorTokPerS(30.3, bytes), 0.1);
    // weights alone would give 69.2 tok/s: the figure counts the KV read
    assertEquals(69.2, 30.3e9 / Floors.decodeWeightBytesPerToken(c, 4), 0.05);
  }

  @Test
  void prefillFlopsByHand() {
    // 4 tokens, fresh: linear 2 FLOPs x 2 layers x 640 x 4 = 10240; lm head once 2 x 80 = 160;
    // causal attention: rows see 1+2+3+4 = 10 keys, 2 matmuls x 2 FLOPs x 8 (heads x hd) per key
    // per layer: 2 layers x 4 x 8 x 10 = 640
    assertEquals(10240 + 160 + 640, Floors.prefillFlops(SMALL, 4, 0), 0);
    assertEquals(11040 / 4.0, Floors.prefillFlopsPerToken(SMALL, 4), 0);
    // 2 question tokens after 4 cached: rows see 5 and 6 keys
    assertEquals(5120 + 160 + 2 * 4 * 8 * 11, Floors.prefillFlops(SMALL, 2, 4), 0);
    // 100 GFLOP/s over 2760 FLOPs per token
    assertEquals(100e9 / 2760, Floors.prefillFloorTokPerS(SMALL, 4, 100), 1e-3);
  }

  @Test
  void firstTokenFloorIsTheRooflineMax() {
    // compute: 5984 FLOPs at 1 GFLOP/s = 5.984 us; memory: 5600 B weights + 128 x 6 B KV at
    // 1 GB/s = 6.368 us -> memory bound
    assertEquals(6368e-6, Floors.firstTokenFloorMs(SMALL, 2, 4, 1, 1), 1e-12);
    // with a fast memory it is compute bound
    assertEquals(5984e-6, Floors.firstTokenFloorMs(SMALL, 2, 4, 1, 1000), 1e-12);
  }

  @Test
  void vitFlopsByHand() {
    // hidden 8, intermediate 16, 2 heads, image 28 / patch 14: 2x2 grid, 5 tokens with CLS
    ClipVisionConfig v = new ClipVisionConfig(null, 8, 16, 3, 2, 3, 28, 14, "quick_gelu", 1e-5, 8);
    double patch = 2.0 * 3 * 14 * 14 * 8 * 4; // 37632
    double linear = 2.0 * 5 * (4 * 64 + 2 * 8 * 16); // 5120
    double attention = 4.0 * 5 * 5 * 8; // 800
    assertEquals(patch + 2 * (linear + attention), Floors.vitFlopsPerFrame(v, 2), 0);
    assertEquals(49472e-9, Floors.vitFloorSecondsPerFrame(v, 2, 1), 1e-15);
  }

  @Test
  void decoFlopRatioOfTheBenchmarkModel() {
    // 4608 vs 1152 tokens: about 4x the tokens and the longer causal attention
    LlamaConfig c = ModelBench.Sizes.full().text();
    double ratio = Floors.prefillFlops(c, 4608, 0) / Floors.prefillFlops(c, 1152, 0);
    assertTrue(ratio > 4 && ratio < 6, "ratio " + ratio);
    assertTrue(Double.isNaN(Floors.fraction(null, 1.0)));
    assertEquals(0.5, Floors.fraction(1.0, 2.0), 0);
  }
}
