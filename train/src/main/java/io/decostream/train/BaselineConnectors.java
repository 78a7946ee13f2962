package io.decostream.train;

import java.util.function.Consumer;

/** The compressive baselines of spec §3.6 as comparison variants (Q-Former, C-Abstractor). */
final class BaselineConnectors {

  private BaselineConnectors() {}

  static void register(Consumer<ComparisonVariants.Variant> add) {
    // filled in once the projector module's Q-Former and C-Abstractor land
  }
}
