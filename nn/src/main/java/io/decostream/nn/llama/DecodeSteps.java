package io.decostream.nn.llama;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether serving's decode step runs on the Java Vector API (issue 20 point 2). The module {@code
 * jdk.incubator.vector} is an incubator in Java 17, present only when the JVM was started with
 * {@code --add-modules jdk.incubator.vector} ({@code ./deco}, the test runners and the images do);
 * without it, or with {@code -Ddeco.decode.vector=false}, decoding runs the DJL layer and only this
 * class is loaded, never the kernels. Threads: {@code -Ddeco.decode.threads}, else DJL's {@code
 * ai.djl.pytorch.num_threads}, else every available processor.
 */
final class DecodeSteps {

  private static final Logger LOG = LoggerFactory.getLogger(DecodeSteps.class);
  private static volatile boolean warned;

  private DecodeSteps() {}

  /** The Vector API step of {@code model}, or null when it cannot or should not run. */
  static DecodeStep create(LlamaModel model) {
    if ("false".equalsIgnoreCase(System.getProperty("deco.decode.vector"))) {
      return null;
    }
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      if (!warned) {
        warned = true;
        LOG.warn(
            "decoding without the Vector API (start the JVM with --add-modules"
                + " jdk.incubator.vector for the fast decode step)");
      }
      return null;
    }
    if (model.precision() != io.decostream.nn.weights.Precision.F32 && !model.evenRows()) {
      // the 16-bit kernels read two weights a lane: a row of odd length has no partner for its last
      LOG.warn(
          "decoding {} weights with the DJL layer: a weight row has an odd length",
          model.precision());
      return null;
    }
    return model.decodeStep(threads());
  }

  static int threads() {
    for (String key : new String[] {"deco.decode.threads", "ai.djl.pytorch.num_threads"}) {
      String v = System.getProperty(key);
      if (v != null && !v.isBlank()) {
        try {
          int n = Integer.parseInt(v.trim());
          if (n >= 1) {
            return n;
          }
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(key + " must be a whole number >= 1, got '" + v + "'");
        }
        throw new IllegalArgumentException(key + " must be >= 1, got " + v);
      }
    }
    return Runtime.getRuntime().availableProcessors();
  }
}
