package io.decostream.encoder;

import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.StreamModel;
import io.decostream.projector.TokenCompressor;
import java.util.List;

/**
 * The vision half of a LLaVA pack of any family ({@link StreamModel}, loaded by {@code
 * Families.forStage(dir, VISION, ...)}): the family's preprocessing and vision tower (CLIP for
 * llava_next_video and llava, SigLIP for llava_onevision); the family says which compressors its
 * features can take.
 */
public final class LlavaVisionBackend implements VisionBackend {
  private final StreamModel model;

  public LlavaVisionBackend(StreamModel model) {
    this.model = model;
  }

  @Override
  public int gridSize() {
    return model.visionGridSize();
  }

  @Override
  public int hidden() {
    return model.visionHidden();
  }

  @Override
  public int featureLayer() {
    return model.visionFeatureLayer();
  }

  @Override
  public int defaultPooledGrid() {
    return model.defaultPooledGrid();
  }

  @Override
  public String modelId() {
    return model.modelId();
  }

  @Override
  public List<float[]> features(List<RgbImage> images) {
    return model.visionFeatures(images);
  }

  @Override
  public String compressorRefusal(TokenCompressor compressor) {
    return model.compressorRefusal(compressor);
  }
}
