package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.metrics.StageMetrics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The --metrics-port rule (issue 21 point 3): off for stages, on for the demo and the console. */
class MetricsEndpointTest {
  @BeforeEach
  @AfterEach
  void stop() {
    StageMetrics.stopServing();
  }

  @Test
  void stagesServeNoMetricsUnlessAskedTheDemoAndConsoleDo() {
    // these defaults hold where the environment sets no DECO_METRICS_PORT (CI does not)
    if (System.getenv(MetricsEndpoint.PORT_ENV) == null) {
      for (Object stage :
          new Object[] {new FramesCommand(), new EncoderCommand(), new WorkerCommand()}) {
        CommandLine cl = new CommandLine(stage);
        cl.parseArgs(
            stage instanceof FramesCommand ? new String[0] : new String[] {"--model", "m"});
        assertEquals(0, (int) cl.getCommandSpec().findOption("--metrics-port").getValue(), "off");
      }
      for (Object on : new Object[] {new DemoCommand(), new WebCommand()}) {
        CommandLine cl = new CommandLine(on);
        cl.parseArgs();
        assertEquals(-1, (int) cl.getCommandSpec().findOption("--metrics-port").getValue());
      }
    }
    FramesCommand frames = new FramesCommand();
    new CommandLine(frames).parseArgs("--metrics-port", "9400");
    assertEquals(9400, frames.stage.metricsPort);
  }

  @Test
  void aRefusedConsoleOptionStartsNoMetricsEndpoint() {
    CommandLine cl = Deco.commandLine();
    cl.setErr(new java.io.PrintWriter(new java.io.StringWriter(), true));
    assertEquals(
        1,
        Deco.execute(
            cl,
            "web",
            "--bootstrap",
            "127.0.0.1:1",
            "--web-port",
            "70000",
            "--metrics-port",
            "-1"));
    assertEquals(-1, StageMetrics.port(), "nothing starts before the options are checked");
  }

  @Test
  void offPrintsNothingANegativePortIsAFreeOnePrintedAsOneLine() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
    assertEquals(0, MetricsEndpoint.start(0, out));
    assertEquals("", buf.toString(StandardCharsets.UTF_8));
    assertEquals(-1, StageMetrics.port());

    int port = MetricsEndpoint.start(-1, out);
    assertTrue(port > 0, "a free port");
    assertEquals(
        "metrics: http://127.0.0.1:" + port + "/metrics" + System.lineSeparator(),
        buf.toString(StandardCharsets.UTF_8));
  }
}
