package io.decostream.train;

/**
 * Linear warm-up to {@code peak}, then cosine decay to {@code peak * finalFraction} at {@code
 * totalSteps}.
 */
record LrSchedule(double peak, int warmupSteps, int totalSteps, double finalFraction) {

  LrSchedule {
    if (!(peak > 0)
        || warmupSteps < 0
        || totalSteps < 1
        || finalFraction < 0
        || finalFraction > 1) {
      throw new IllegalArgumentException(
          "invalid schedule: peak "
              + peak
              + ", warm-up "
              + warmupSteps
              + ", total "
              + totalSteps
              + ", final fraction "
              + finalFraction);
    }
  }

  /** The rate at 1-based {@code step}. */
  double at(long step) {
    if (step <= warmupSteps) {
      return peak * step / Math.max(1, warmupSteps);
    }
    double t = Math.min(1.0, (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    double low = peak * finalFraction;
    return low + (peak - low) * 0.5 * (1 + Math.cos(Math.PI * t));
  }
}
