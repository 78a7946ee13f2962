package io.decostream.schemas;

import java.util.Locale;

/**
 * The processing guarantee of a Streams stage (issue 18 point 1). {@link #EXACTLY_ONCE_V2} is the
 * default: every stage reads, writes its outputs and commits its input offsets in one Kafka
 * transaction (transactions v2, Kafka 4.x), so a killed stage neither loses nor duplicates output
 * for {@code read_committed} readers. {@link #AT_LEAST_ONCE} is kept for those who prefer its lower
 * latency and accept duplicates after a crash.
 */
public enum Guarantee {
  EXACTLY_ONCE_V2("exactly_once_v2"),
  AT_LEAST_ONCE("at_least_once");

  /** Environment variable the stage commands read when {@code --guarantee} is not given. */
  public static final String ENV = "DECO_GUARANTEE";

  private final String config;

  Guarantee(String config) {
    this.config = config;
  }

  /** The value of Kafka Streams' {@code processing.guarantee}. */
  public String config() {
    return config;
  }

  /** Parses {@code exactly_once_v2} or {@code at_least_once} (any case, '-' for '_'). */
  public static Guarantee parse(String s) {
    if (s == null || s.isBlank()) {
      return EXACTLY_ONCE_V2;
    }
    String v = s.trim().toLowerCase(Locale.ROOT).replace('-', '_');
    for (Guarantee g : values()) {
      if (g.config.equals(v)) {
        return g;
      }
    }
    throw new IllegalArgumentException(
        "processing guarantee must be exactly_once_v2 or at_least_once, got '" + s + "'");
  }

  @Override
  public String toString() {
    return config;
  }
}
