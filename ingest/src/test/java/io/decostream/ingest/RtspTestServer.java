package io.decostream.ingest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Test helper: GStreamer's RTSP server (src/test/resources/rtsp_test_server.py, run with
 * /usr/bin/python3) as a child process, stopped and started again on the same port to simulate a
 * camera going away (issue 18 point 5).
 */
final class RtspTestServer implements AutoCloseable {

  static final String PYTHON = "/usr/bin/python3";

  private final Path script;
  private final int port;
  private final String protocols;
  private Process process;

  private RtspTestServer(Path script, int port, String protocols) {
    this.script = script;
    this.port = port;
    this.protocols = protocols;
  }

  /**
   * A stopped server for {@code protocols} (any, udp or tcp) on a free port; skips the test when
   * python3, python3-gi or the GStreamer RTSP server / elements are missing.
   */
  static RtspTestServer create(Path dir, String protocols) throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(Path.of(PYTHON)), PYTHON + " is not installed: RTSP test skipped");
    Path script = dir.resolve("rtsp_test_server.py");
    try (InputStream in = RtspTestServer.class.getResourceAsStream("/rtsp_test_server.py")) {
      Files.copy(in, script, StandardCopyOption.REPLACE_EXISTING);
    }
    Process check =
        new ProcessBuilder(PYTHON, script.toString(), "--check").redirectErrorStream(true).start();
    String out = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    boolean done = check.waitFor(60, TimeUnit.SECONDS);
    Assumptions.assumeTrue(
        done && check.exitValue() == 0,
        "GStreamer RTSP server not usable (install gir1.2-gst-rtsp-server-1.0 python3-gi"
            + " python3-gst-1.0 gstreamer1.0-plugins-base/-good/-ugly): "
            + out);
    return new RtspTestServer(script, freePort(), protocols);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  String url() {
    return "rtsp://127.0.0.1:" + port + "/test";
  }

  /** Starts the server and waits until it listens. */
  RtspTestServer start() throws Exception {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("already running");
    }
    List<String> cmd =
        new ArrayList<>(
            List.of(
                PYTHON,
                script.toString(),
                "--port",
                Integer.toString(port),
                "--protocols",
                protocols));
    Exception last = null;
    for (int attempt = 0; attempt < 20; attempt++) {
      process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      BufferedReader r =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      String line = r.readLine();
      if (line != null && line.startsWith("READY")) {
        Thread drain = new Thread(() -> drain(r), "rtsp-server-log");
        drain.setDaemon(true);
        drain.start();
        return this;
      }
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      last = new IllegalStateException("RTSP test server did not start: " + line);
      Thread.sleep(250); // the port may still be held by the previous run
    }
    throw last;
  }

  private static void drain(BufferedReader r) {
    try {
      String l;
      while ((l = r.readLine()) != null) {
        System.err.println("[rtsp-server] " + l);
      }
    } catch (IOException e) {
      // process ended
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL): its clients lose their connection. */
  void stop() {
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new IOException("interrupted stopping the RTSP server"));
    }
    process = null;
  }

  @Override
  public void close() {
    stop();
  }
}
