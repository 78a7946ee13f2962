package io.decostream.cli;

import io.decostream.metrics.StageMetrics;
import java.io.PrintStream;

/**
 * The {@code --metrics-port} rule of every command that runs stages (issue 21 point 3): 0 is off, a
 * negative value asks for a free port, anything else is that port. One endpoint per process (the
 * demo's three stages and its console share it).
 */
final class MetricsEndpoint {
  /** Environment variable read when {@code --metrics-port} is not given. */
  static final String PORT_ENV = "DECO_METRICS_PORT";

  /** The description of the option, the same on every command. */
  static final String DESCRIPTION =
      "Serve Prometheus metrics at http://HOST:PORT/metrics on every interface (env"
          + " DECO_METRICS_PORT; 0 = off, a negative value = a free port; default"
          + " ${DEFAULT-VALUE}).";

  private MetricsEndpoint() {}

  /**
   * Starts serving as {@code requested} says and prints {@code metrics:
   * http://127.0.0.1:PORT/metrics}; returns the port, or 0 when off.
   */
  static int start(int requested, PrintStream out) {
    if (requested == 0) {
      return 0;
    }
    int port = StageMetrics.serve(requested < 0 ? 0 : requested);
    out.println("metrics: http://127.0.0.1:" + port + "/metrics");
    out.flush();
    return port;
  }
}
