package io.decostream.nn.siglip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.image.PilBicubic;
import io.decostream.nn.image.RgbImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * HF {@code SiglipImageProcessor}, slow (PIL) path (spec §2 "preprocessing"): resize straight to
 * {@code height x width} (no aspect ratio kept, no crop) with Pillow's 8-bit bicubic, rescale
 * (float64 multiply, then cast to float32), normalize in float32 with per-channel mean/std (0.5 for
 * SigLIP), CHW layout.
 *
 * @param height {@code size.height} (384 for so400m/14-384)
 * @param width {@code size.width}
 * @param rescaleFactor {@code rescale_factor} (1/255)
 * @param mean per-channel {@code image_mean} (R,G,B)
 * @param std per-channel {@code image_std} (R,G,B)
 */
public record SiglipImageProcessor(
    int height, int width, double rescaleFactor, float[] mean, float[] std) {

  /** SigLIP's IMAGENET_STANDARD_MEAN / STD: 0.5 per channel (§2). */
  public static final float[] HALF = {0.5f, 0.5f, 0.5f};

  public SiglipImageProcessor {
    if (height <= 0 || width <= 0) {
      throw new IllegalArgumentException("size must be positive, got " + height + "x" + width);
    }
    if (!(rescaleFactor > 0) || Double.isInfinite(rescaleFactor)) {
      throw new IllegalArgumentException("rescale_factor must be positive, got " + rescaleFactor);
    }
    if (mean == null || std == null || mean.length != 3 || std.length != 3) {
      throw new IllegalArgumentException("image_mean and image_std need 3 values each");
    }
    for (float s : std) {
      if (!(s > 0)) {
        throw new IllegalArgumentException(
            "image_std values must be positive, got " + Arrays.toString(std));
      }
    }
    mean = mean.clone();
    std = std.clone();
  }

  /**
   * The processor of google/siglip-so400m-patch14-384 (LLaVA-OneVision): 384x384, 1/255, mean = std
   * = 0.5.
   */
  public static SiglipImageProcessor so400m384() {
    return square(384);
  }

  /** SigLIP settings at {@code size x size}. */
  public static SiglipImageProcessor square(int size) {
    return new SiglipImageProcessor(size, size, 1.0 / 255, HALF, HALF);
  }

  /**
   * Reads HF {@code preprocessor_config.json} ({@code size.height/width} or an int, {@code
   * rescale_factor}, {@code image_mean}, {@code image_std}); {@code resample} must be 3 (bicubic)
   * and resize/rescale/normalize on. Missing values take SigLIP's defaults (384 is NOT a default:
   * {@code size} absent means 224, as in HF).
   */
  public static SiglipImageProcessor fromPreprocessorConfig(Path dirOrFile) {
    Path f =
        Files.isDirectory(dirOrFile) ? dirOrFile.resolve("preprocessor_config.json") : dirOrFile;
    JsonNode n;
    try {
      n = new ObjectMapper().readTree(f.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
    }
    for (String flag : new String[] {"do_resize", "do_rescale", "do_normalize"}) {
      if (n.has(flag) && !n.get(flag).asBoolean()) {
        throw new IllegalArgumentException(f + ": " + flag + "=false is not supported");
      }
    }
    if (n.has("do_center_crop") && n.get("do_center_crop").asBoolean()) {
      throw new IllegalArgumentException(
          f + ": do_center_crop=true is not supported by the SigLIP processor");
    }
    if (n.has("resample") && n.get("resample").asInt() != 3) {
      throw new IllegalArgumentException(
          f + ": resample " + n.get("resample") + " is not supported (3 = bicubic)");
    }
    JsonNode size = n.get("size");
    int h;
    int w;
    if (size == null) {
      h = w = 224;
    } else if (size.isInt()) {
      h = w = size.asInt();
    } else if (size.has("height") && size.has("width")) {
      h = size.get("height").asInt();
      w = size.get("width").asInt();
    } else {
      throw new IllegalArgumentException(
          f + ": size " + size + " is not supported (needs height and width)");
    }
    double rescale = n.has("rescale_factor") ? n.get("rescale_factor").asDouble() : 1.0 / 255;
    return new SiglipImageProcessor(
        h, w, rescale, floats(n.get("image_mean")), floats(n.get("image_std")));
  }

  private static float[] floats(JsonNode a) {
    if (a == null) {
      return HALF;
    }
    float[] out = new float[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) a.get(i).asDouble(); // numpy: np.array(mean, dtype=float32)
    }
    return out;
  }

  /**
   * Step 1: the uint8 image resized to {@code width x height} with Pillow's bicubic (identity when
   * already there).
   */
  public RgbImage resize(RgbImage image) {
    Objects.requireNonNull(image, "image");
    return PilBicubic.resize(image, width, height);
  }

  /**
   * Steps 2–3 for one 8-bit value of channel c: float32(float64(v) * rescale), then (x - mean) /
   * std in float32.
   */
  public float normalize(int value, int channel) {
    float x = (float) (value * rescaleFactor);
    return (x - mean[channel]) / std[channel];
  }

  /** All steps: float[3 * height * width] in CHW order, ready for {@link SiglipVisionTower}. */
  public float[] preprocess(RgbImage image) {
    RgbImage r = resize(image);
    float[][] lut = new float[3][256]; // steps 2–3 are per channel and per value
    for (int ch = 0; ch < 3; ch++) {
      for (int v = 0; v < 256; v++) {
        lut[ch][v] = normalize(v, ch);
      }
    }
    int plane = height * width;
    float[] out = new float[3 * plane];
    byte[] rgb = r.rgb();
    for (int i = 0; i < plane; i++) {
      out[i] = lut[0][rgb[3 * i] & 0xFF];
      out[plane + i] = lut[1][rgb[3 * i + 1] & 0xFF];
      out[2 * plane + i] = lut[2][rgb[3 * i + 2] & 0xFF];
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SiglipImageProcessor p
        && height == p.height
        && width == p.width
        && rescaleFactor == p.rescaleFactor
        && Arrays.equals(mean, p.mean)
        && Arrays.equals(std, p.std);
  }

  @Override
  public int hashCode() {
    return Objects.hash(height, width, rescaleFactor)
        + 31 * Arrays.hashCode(mean)
        + 17 * Arrays.hashCode(std);
  }

  @Override
  public String toString() {
    return "SiglipImageProcessor["
        + height
        + "x"
        + width
        + ", rescale="
        + rescaleFactor
        + ", mean="
        + Arrays.toString(mean)
        + ", std="
        + Arrays.toString(std)
        + "]";
  }

  @Override
  public float[] mean() {
    return mean.clone();
  }

  @Override
  public float[] std() {
    return std.clone();
  }
}
