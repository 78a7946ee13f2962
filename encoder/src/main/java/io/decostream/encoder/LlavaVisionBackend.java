package io.decostream.encoder;

import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.nextvideo.LlavaNextVideo;
import java.util.List;

/** The vision half of a llava_next_video model pack (CLIP preprocessing + ViT). */
public final class LlavaVisionBackend implements VisionBackend {
  private final LlavaNextVideo model;

  public LlavaVisionBackend(LlavaNextVideo model) {
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
}
