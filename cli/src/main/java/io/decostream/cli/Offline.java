package io.decostream.cli;

/**
 * DJL contacts outside addresses at start-up unless told not to. Every launch path sets {@code
 * -Dai.djl.offline=true} and {@code OPT_OUT_TRACKING=true}; this is the last line of defence for a
 * launch that forgot the system property (the env variable cannot be set from Java, so it is only
 * checked and reported).
 */
final class Offline {
  private Offline() {}

  static void enforce() {
    System.setProperty("ai.djl.offline", "true");
    if (!"true".equalsIgnoreCase(System.getenv("OPT_OUT_TRACKING"))) {
      System.err.println(
          "warning: OPT_OUT_TRACKING=true is not set; launch deco through ./deco "
              + "(or set it) so DJL never contacts its telemetry endpoint");
    }
  }
}
