package io.decostream.nn.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.image.PilBicubic;
import io.decostream.nn.image.RgbImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * HF {@code CLIPImageProcessor}, slow (PIL) path, reproduced exactly (spec §1.2): resize with
 * Pillow's 8-bit bicubic (shortest side to {@code size.shortest_edge}, or exactly to {@code
 * size.height x size.width}), center crop {@code cropHeight x cropWidth}, rescale (float64
 * multiply, then cast to float32), normalize in float32 with per-channel mean/std, CHW layout.
 *
 * @param resize the resize step ({@code size})
 * @param cropHeight {@code crop_size.height}; with {@code do_center_crop=false} the resize height
 *     (a center crop to the whole image is no crop)
 * @param cropWidth {@code crop_size.width}; with {@code do_center_crop=false} the resize width
 * @param rescaleFactor {@code rescale_factor} (1/255)
 * @param mean per-channel {@code image_mean} (R,G,B)
 * @param std per-channel {@code image_std} (R,G,B)
 */
public record ClipImageProcessor(
    ClipImageProcessor.Resize resize,
    int cropHeight,
    int cropWidth,
    double rescaleFactor,
    float[] mean,
    float[] std) {

  /** OPENAI_CLIP_MEAN (spec §1.2). */
  public static final float[] OPENAI_CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};

  /** OPENAI_CLIP_STD (spec §1.2). */
  public static final float[] OPENAI_CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

  /** Step 1, the resize, by the form of HF's {@code size} dict. */
  public sealed interface Resize permits Resize.ShortestEdge, Resize.Exact {

    /** {width, height} after the resize of a {@code width x height} image. */
    int[] resizedSize(int width, int height);

    /**
     * {@code size: {"shortest_edge": edge}}: [IT] get_resize_output_image_size with
     * default_to_square=False, aspect kept.
     */
    record ShortestEdge(int edge) implements Resize {
      public ShortestEdge {
        if (edge <= 0) {
          throw new IllegalArgumentException("size.shortest_edge must be positive, got " + edge);
        }
      }

      /** The long side is {@code (int)(edge * long / short)} (truncation). */
      @Override
      public int[] resizedSize(int width, int height) {
        int shortSide = Math.min(width, height);
        int longSide = Math.max(width, height);
        int newLong = (int) ((double) edge * longSide / shortSide);
        return width <= height ? new int[] {edge, newLong} : new int[] {newLong, edge};
      }

      @Override
      public String toString() {
        return "shortest_edge=" + edge;
      }
    }

    /** {@code size: {"height": height, "width": width}}: output_size = (height, width). */
    record Exact(int height, int width) implements Resize {
      public Exact {
        if (height <= 0 || width <= 0) {
          throw new IllegalArgumentException(
              "size.height and size.width must be positive, got " + height + "x" + width);
        }
      }

      @Override
      public int[] resizedSize(int imageWidth, int imageHeight) {
        return new int[] {width, height};
      }

      @Override
      public String toString() {
        return "height=" + height + ", width=" + width;
      }
    }
  }

  public ClipImageProcessor {
    if (resize == null) {
      throw new IllegalArgumentException("resize is required");
    }
    if (cropHeight <= 0 || cropWidth <= 0) {
      throw new IllegalArgumentException(
          "crop sizes must be positive, got " + cropHeight + "x" + cropWidth);
    }
    if (!(rescaleFactor > 0)) {
      throw new IllegalArgumentException("rescale_factor must be positive, got " + rescaleFactor);
    }
    if (mean == null || std == null || mean.length != 3 || std.length != 3) {
      throw new IllegalArgumentException("image_mean and image_std need 3 values each");
    }
    for (float s : std) {
      if (!(s > 0)) {
        throw new IllegalArgumentException("image_std values must be positive");
      }
    }
    mean = mean.clone();
    std = std.clone();
  }

  /** Shortest side to {@code shortestEdge}, then center crop (the common CLIP configuration). */
  public ClipImageProcessor(
      int shortestEdge,
      int cropHeight,
      int cropWidth,
      double rescaleFactor,
      float[] mean,
      float[] std) {
    this(new Resize.ShortestEdge(shortestEdge), cropHeight, cropWidth, rescaleFactor, mean, std);
  }

  /**
   * {@code size.shortest_edge}; refused for a processor whose {@code size} is {@code {height,
   * width}}.
   */
  public int shortestEdge() {
    if (resize instanceof Resize.ShortestEdge s) {
      return s.edge();
    }
    throw new IllegalStateException("size is {" + resize + "}, not shortest_edge");
  }

  /**
   * The processor of openai/clip-vit-large-patch14-336 and LLaVA-NeXT-Video: 336, crop 336, CLIP
   * mean/std.
   */
  public static ClipImageProcessor clip336() {
    return square(336);
  }

  /** CLIP settings with shortest edge = crop = {@code size}. */
  public static ClipImageProcessor square(int size) {
    return new ClipImageProcessor(size, size, size, 1.0 / 255, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD);
  }

  /**
   * Reads HF {@code preprocessor_config.json} ({@code size} as {@code {"shortest_edge": N}} or
   * {@code {"height": H, "width": W}}, {@code do_center_crop}, {@code crop_size}, {@code
   * rescale_factor}, {@code image_mean}, {@code image_std}); {@code resample} must be 3 (bicubic)
   * and resize/rescale/normalize on. {@code do_center_crop=false} needs {@code {height, width}}
   * (with {@code shortest_edge} the output size would follow each image's aspect).
   */
  public static ClipImageProcessor fromPreprocessorConfig(Path dirOrFile) {
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
    if (n.has("resample") && n.get("resample").asInt() != 3) {
      throw new IllegalArgumentException(
          f + ": resample " + n.get("resample") + " is not supported (3 = bicubic)");
    }
    // [IT] get_size_dict(size, default_to_square=False): an int is the shortest edge
    JsonNode size = n.get("size");
    Resize resize;
    if (size == null) {
      resize = new Resize.ShortestEdge(336);
    } else if (size.isInt()) {
      resize = new Resize.ShortestEdge(size.asInt());
    } else if (size.isObject()
        && size.has("shortest_edge")
        && !size.has("height")
        && !size.has("width")) {
      resize = new Resize.ShortestEdge(size.get("shortest_edge").asInt());
    } else if (size.isObject()
        && size.has("height")
        && size.has("width")
        && !size.has("shortest_edge")) {
      resize = new Resize.Exact(size.get("height").asInt(), size.get("width").asInt());
    } else {
      throw new IllegalArgumentException(
          f
              + ": size "
              + size
              + " is not supported (needs {\"shortest_edge\": N} or {\"height\": H, \"width\":"
              + " W})");
    }
    int ch;
    int cw;
    boolean doCenterCrop = !n.has("do_center_crop") || n.get("do_center_crop").asBoolean();
    JsonNode crop = n.get("crop_size");
    if (!doCenterCrop) {
      // step 2 skipped: the output is the resized image
      if (!(resize instanceof Resize.Exact e)) {
        throw new IllegalArgumentException(
            f
                + ": do_center_crop=false with size "
                + size
                + " is not supported (the output size would depend on the image; needs"
                + " {\"height\": H, \"width\": W})");
      }
      ch = e.height();
      cw = e.width();
    } else if (crop == null) {
      int[] wh = resize.resizedSize(1, 1);
      ch = wh[1];
      cw = wh[0];
    } else if (crop.isInt()) {
      ch = cw = crop.asInt();
    } else {
      ch = crop.get("height").asInt();
      cw = crop.get("width").asInt();
    }
    double rescale = n.has("rescale_factor") ? n.get("rescale_factor").asDouble() : 1.0 / 255;
    return new ClipImageProcessor(
        resize,
        ch,
        cw,
        rescale,
        floats(n.get("image_mean"), OPENAI_CLIP_MEAN),
        floats(n.get("image_std"), OPENAI_CLIP_STD));
  }

  private static float[] floats(JsonNode a, float[] dflt) {
    if (a == null) {
      return dflt;
    }
    float[] out = new float[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) a.get(i).asDouble(); // numpy: np.array(mean, dtype=float32)
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ClipImageProcessor p
        && resize.equals(p.resize)
        && cropHeight == p.cropHeight
        && cropWidth == p.cropWidth
        && rescaleFactor == p.rescaleFactor
        && java.util.Arrays.equals(mean, p.mean)
        && java.util.Arrays.equals(std, p.std);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(resize, cropHeight, cropWidth, rescaleFactor)
        + 31 * java.util.Arrays.hashCode(mean)
        + 17 * java.util.Arrays.hashCode(std);
  }

  @Override
  public String toString() {
    return "ClipImageProcessor[size={"
        + resize
        + "}"
        + ", crop="
        + cropHeight
        + "x"
        + cropWidth
        + ", rescale="
        + rescaleFactor
        + ", mean="
        + java.util.Arrays.toString(mean)
        + ", std="
        + java.util.Arrays.toString(std)
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

  /**
   * Step 1: {width, height} after the resize ({@link Resize.ShortestEdge}: [IT]
   * get_resize_output_image_size, default_to_square=False; {@link Resize.Exact}: the size as
   * given).
   */
  public int[] resizedSize(int width, int height) {
    return resize.resizedSize(width, height);
  }

  /** Steps 1–3: the uint8 image after the bicubic resize and the center crop. */
  public RgbImage resizeAndCrop(RgbImage image) {
    int[] wh = resizedSize(image.width(), image.height());
    RgbImage resized = PilBicubic.resize(image, wh[0], wh[1]);
    if (resized.width() < cropWidth || resized.height() < cropHeight) {
      // cannot happen when crop <= shortest_edge or crop <= {height, width}; HF would zero-pad
      throw new IllegalArgumentException(
          "resized image "
              + resized.width()
              + "x"
              + resized.height()
              + " is smaller than the crop "
              + cropWidth
              + "x"
              + cropHeight);
    }
    int top = (resized.height() - cropHeight) / 2;
    int left = (resized.width() - cropWidth) / 2;
    return resized.crop(left, top, cropWidth, cropHeight);
  }

  /**
   * Steps 4–5 for one 8-bit value of channel c: float32(float64(v) * rescale), then (x - mean) /
   * std in float32.
   */
  public float normalize(int value, int channel) {
    float x = (float) (value * rescaleFactor);
    return (x - mean[channel]) / std[channel];
  }

  /** All steps: float[3 * cropHeight * cropWidth] in CHW order, ready for the vision tower. */
  public float[] preprocess(RgbImage image) {
    RgbImage c = resizeAndCrop(image);
    // 3 x 256 lookup: steps 4–5 are per channel and per value
    float[][] lut = new float[3][256];
    for (int ch = 0; ch < 3; ch++) {
      for (int v = 0; v < 256; v++) {
        lut[ch][v] = normalize(v, ch);
      }
    }
    int plane = cropHeight * cropWidth;
    float[] out = new float[3 * plane];
    byte[] rgb = c.rgb();
    for (int i = 0; i < plane; i++) {
      out[i] = lut[0][rgb[3 * i] & 0xFF];
      out[plane + i] = lut[1][rgb[3 * i + 1] & 0xFF];
      out[2 * plane + i] = lut[2][rgb[3 * i + 2] & 0xFF];
    }
    return out;
  }
}
