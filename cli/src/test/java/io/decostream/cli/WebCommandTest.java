package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code deco web}: a bad port or address is one clear line before anything starts. */
class WebCommandTest {

  private static int run(StringWriter err, String... args) {
    CommandLine cl = Deco.commandLine();
    cl.setErr(new PrintWriter(err, true));
    return Deco.execute(cl, args);
  }

  @Test
  void aPortOutsideTcpIsRefusedWithTheReason() {
    StringWriter err = new StringWriter();
    assertEquals(1, run(err, "web", "--bootstrap", "127.0.0.1:1", "--web-port", "70000"));
    assertTrue(
        err.toString().contains("deco web: error: web port 70000 is not a TCP port"),
        err.toString());
  }

  @Test
  void aBlankAddressIsRefusedWithTheReason() {
    StringWriter err = new StringWriter();
    assertEquals(1, run(err, "web", "--bootstrap", "127.0.0.1:1", "--web-host", " "));
    assertTrue(err.toString().contains("an address to bind"), err.toString());
  }

  @Test
  void theDemoTakesServeAndAWebPort() {
    DemoCommand demo = new DemoCommand();
    new CommandLine(demo).parseArgs("--serve", "--web-port", "8099");
    assertTrue(demo.serve);
    assertEquals(8099, demo.webPort);
    DemoCommand plain = new DemoCommand();
    new CommandLine(plain).parseArgs();
    assertEquals(false, plain.serve, "the demo ends after its summary unless told");
    assertEquals(0, plain.webPort, "a free port unless told");
  }
}
