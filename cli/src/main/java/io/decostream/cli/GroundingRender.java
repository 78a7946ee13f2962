package io.decostream.cli;

import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.WordGrounding;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Writes the PNG pictures of one {@link Grounding} record (issue 4 "Pictures"): for every frame of
 * the window the frame with the answer's Text-to-Patch map blended over it ({@code
 * <ref>-frame-<index>.png}), the whole window as one strip ({@code <ref>-window.png}) and one strip
 * per word ({@code <ref>-word-<i>-<word>.png}). One display scale (min–max) is shared by all frames
 * of a picture so frames compare fairly.
 */
final class GroundingRender {

  /** Longest side of each panel in a strip. */
  static final int PANEL = 224;

  private GroundingRender() {}

  /** Decodes a Frame's PNG or RGB24 data. */
  static BufferedImage image(Frame f) {
    byte[] data = Tensors.bytesOf(f.getData());
    if (f.getFormat() == FrameFormat.PNG) {
      try {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(data));
        if (img == null) {
          throw new IllegalArgumentException(
              "frame " + f.getFrameIndex() + " is not a readable PNG");
        }
        return img;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    int w = f.getWidth();
    int h = f.getHeight();
    if (data.length != w * h * 3) {
      throw new IllegalArgumentException(
          "frame "
              + f.getFrameIndex()
              + " RGB24 data has "
              + data.length
              + " bytes, expected "
              + (w * h * 3));
    }
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int i = 0, p = 0; i < w * h; i++, p += 3) {
      img.setRGB(
          i % w, i / w, ((data[p] & 255) << 16) | ((data[p + 1] & 255) << 8) | (data[p + 2] & 255));
    }
    return img;
  }

  /** Splits [F, gh, gw] F32 bytes into F maps, checking the size. */
  static List<float[]> maps(byte[] f32, int frames, int perFrame, String what) {
    float[] all = Tensors.fromF32(f32);
    if (all.length != frames * perFrame) {
      throw new IllegalArgumentException(
          what + " holds " + all.length + " values, expected " + frames + " x " + perFrame);
    }
    List<float[]> out = new ArrayList<>(frames);
    for (int i = 0; i < frames; i++) {
      out.add(Arrays.copyOfRange(all, i * perFrame, (i + 1) * perFrame));
    }
    return out;
  }

  /** A file-name-safe form of a word or id. */
  static String safe(String s) {
    String t = s.replaceAll("[^A-Za-z0-9._-]+", "_");
    return t.isEmpty() ? "_" : t.length() > 40 ? t.substring(0, 40) : t;
  }

  /**
   * Writes the pictures of {@code g} into {@code dir}; frames missing from {@code frames} are drawn
   * black.
   *
   * @return the files written
   */
  static List<Path> write(Grounding g, Map<Long, BufferedImage> frames, Path dir) {
    int gh = g.getGridHeight();
    int gw = g.getGridWidth();
    int n = g.getFrameIndices().size();
    List<float[]> mean = maps(Tensors.bytesOf(g.getTextToPatch()), n, gh * gw, "textToPatch");
    List<Path> written = new ArrayList<>();
    try {
      Files.createDirectories(dir);
      String ref = safe(g.getRefId());
      float[] range = GroundingPictures.range(mean);
      List<BufferedImage> panels = new ArrayList<>();
      List<String> labels = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        long index = g.getFrameIndices().get(i);
        BufferedImage frame = frames.get(index);
        BufferedImage over =
            GroundingPictures.overlay(frame, 336, 336, mean.get(i), gh, gw, range[0], range[1]);
        Path p = dir.resolve(ref + "-frame-" + index + ".png");
        ImageIO.write(over, "png", p.toFile());
        written.add(p);
        panels.add(GroundingPictures.fit(over, PANEL));
        labels.add("frame " + index);
      }
      String caption =
          (g.getKind().equals("caption") ? "caption: " : "Q: " + g.getQuestion() + "  A: ")
              + g.getText();
      Path window = dir.resolve(ref + "-window.png");
      ImageIO.write(GroundingPictures.strip(caption, panels, labels), "png", window.toFile());
      written.add(window);
      int w = 0;
      for (WordGrounding word : g.getWords()) {
        List<float[]> wm =
            maps(
                Tensors.bytesOf(word.getTextToPatch()),
                n,
                gh * gw,
                "word '" + word.getWord() + "'");
        float[] wr = GroundingPictures.range(wm);
        List<BufferedImage> wp = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          BufferedImage frame = frames.get(g.getFrameIndices().get(i));
          wp.add(
              GroundingPictures.fit(
                  GroundingPictures.overlay(frame, 336, 336, wm.get(i), gh, gw, wr[0], wr[1]),
                  PANEL / 2));
        }
        Path p = dir.resolve(ref + "-word-" + (w++) + "-" + safe(word.getWord()) + ".png");
        ImageIO.write(
            GroundingPictures.strip("\"" + word.getWord() + "\" in: " + g.getText(), wp, labels),
            "png",
            p.toFile());
        written.add(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot write grounding pictures to " + dir + ": " + e.getMessage(), e);
    }
    return written;
  }
}
