package io.decostream.train;

import java.util.SplittableRandom;

/**
 * Where training examples come from. Deterministic: the same random state gives the same example,
 * so a resumed run sees exactly the data of an uninterrupted one.
 */
@FunctionalInterface
public interface ExampleSource {

  /** An example with exactly {@code frames} frames, drawn with {@code rng}. */
  Example next(SplittableRandom rng, int frames);
}
