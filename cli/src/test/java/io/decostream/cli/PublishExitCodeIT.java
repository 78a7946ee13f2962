package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.ingest.SyntheticVideo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exit-code contract of {@code deco publish} (issue 18 point 5): 0 after a file was published,
 * non-zero (3) with a clear message when a live source was given up on, so a supervisor can tell.
 */
@Timeout(120)
class PublishExitCodeIT {

  @TempDir Path dir;

  @Test
  void givenUpSourceExitsNonZeroAndAFileExitsZero() throws Exception {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort(); // closed again: nothing listens there
    }
    Path video =
        SyntheticVideo.write(
            dir.resolve("two.mp4"), SyntheticVideo.Spec.defaults(2).withSize(64, 48));
    String prefix = "pubexit" + System.nanoTime() + ".";
    try (EmbeddedBroker broker = EmbeddedBroker.start()) {
      // topics are created explicitly (issue 18 point 3): publish waits for them otherwise
      assertEquals(
          0,
          Deco.run(
              "topics",
              "create",
              "--bootstrap",
              broker.bootstrapServers(),
              "--topic-prefix",
              prefix));
      PrintStream err = System.err;
      ByteArrayOutputStream captured = new ByteArrayOutputStream();
      int lost;
      try {
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        lost =
            Deco.run(
                "publish",
                "--bootstrap",
                broker.bootstrapServers(),
                "--topic-prefix",
                prefix,
                "--stream",
                "cam1",
                "--source",
                "rtsp://user:pw@127.0.0.1:" + deadPort + "/cam",
                "--rtsp-transport",
                "tcp",
                "--reconnect-initial",
                "0.1",
                "--reconnect-max",
                "0.4",
                "--give-up-after",
                "1.5");
      } finally {
        System.setErr(err);
      }
      String text = captured.toString(StandardCharsets.UTF_8);
      assertEquals(PublishCommand.EXIT_SOURCE_LOST, lost, text);
      assertTrue(
          text.contains("deco publish: error: gave up on source rtsp://127.0.0.1:" + deadPort),
          text);
      assertTrue(!text.contains(":pw@"), "no password in the output: " + text);

      int ok =
          Deco.run(
              "publish",
              "--bootstrap",
              broker.bootstrapServers(),
              "--topic-prefix",
              prefix,
              "--stream",
              "file1",
              "--source",
              video.toString());
      assertEquals(0, ok);
    }
  }
}
