package io.decostream.encoder;

import io.decostream.nn.image.RgbImage;
import io.decostream.projector.TokenCompressor;
import java.util.List;

/** What the encoder needs of a vision tower: features of the configured layer, CLS dropped. */
public interface VisionBackend {
  /** Patches per side of the ViT grid (24 for CLIP-L/14-336). */
  int gridSize();

  /** Feature width Dv. */
  int hidden();

  /** HF hidden_states index the features come from. */
  int featureLayer();

  /**
   * Default pooled grid of the model family (grid / spatial_pool_stride; 12 = DeCo's 144 tokens).
   */
  int defaultPooledGrid();

  String modelId();

  /**
   * One float[gridSize*gridSize*hidden] per image, tokens row-major; all images in one micro-batch.
   */
  List<float[]> features(List<RgbImage> images);

  /**
   * Why the model cannot take frames pooled by {@code compressor} (naming the model family and the
   * setting), or null when it can (issue 23 point 3: e.g. LLaVA-OneVision pools after its
   * projector, so the encoder must ship its whole grid).
   */
  default String compressorRefusal(TokenCompressor compressor) {
    return null;
  }
}
