package io.decostream.train;

import io.decostream.nn.image.RgbImage;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapesDataset;
import io.decostream.shapes.ShapesWorld;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Training examples from ShapesWorld (issue 5): a fresh random scene per example, a window of exactly the asked
 * number of frames sampled at 1 fps (whole seconds, as the frames stage samples real video) ending at a random
 * second, rendered at the pipeline's 336x336 (the pack's own preprocessing then resizes them, as the encoder
 * does), and either one of the questions that may be asked of that window (question types uniform among those
 * allowed) with its answer, or the caption prompt with the window's caption.
 */
public final class ShapesExamples implements ExampleSource {

  private final double captionFraction;
  private final String captionPrompt;
  private final int size;
  private final double clipSeconds;

  /**
   * @param captionFraction share of caption examples (0..1)
   * @param captionPrompt the worker's caption instruction (llm-worker {@code captionPrompt})
   */
  public ShapesExamples(double captionFraction, String captionPrompt) {
    if (captionFraction < 0 || captionFraction > 1) {
      throw new IllegalArgumentException("captionFraction must be in [0, 1], got " + captionFraction);
    }
    this.captionFraction = captionFraction;
    this.captionPrompt = Objects.requireNonNull(captionPrompt, "captionPrompt");
    this.size = ShapesWorld.REFERENCE_SIZE;
    this.clipSeconds = 16;
  }

  @Override
  public Example next(SplittableRandom rng, int frames) {
    ShapesDataset.SampleSpec spec = new ShapesDataset.SampleSpec(size, size, clipSeconds, frames);
    if (frames - 1 > spec.lastSecond()) {
      throw new IllegalArgumentException(frames + " frames do not fit a " + clipSeconds + " s clip at 1 fps");
    }
    Scene scene = SceneGenerator.generate(rng.nextLong(), clipSeconds);
    int end = frames - 1 + rng.nextInt(spec.lastSecond() - frames + 2);
    ShapesDataset.Sample s = ShapesDataset.sample(scene, end, spec, rng.split());
    List<RgbImage> images = new ArrayList<>(s.frames().size());
    for (ShapesDataset.Frame f : s.frames()) {
      images.add(new RgbImage(f.width(), f.height(), f.rgb()));
    }
    if (s.questions().isEmpty() || rng.nextDouble() < captionFraction) {
      return new Example(images, captionPrompt, s.caption(), "caption");
    }
    QaPair q = s.questions().get(rng.nextInt(s.questions().size()));
    return new Example(images, q.question(), q.answer(), q.type().label());
  }
}
