package io.decostream.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Live-source options, reconnect backoff and giving up (issue 18 point 5), without a server. */
@Timeout(60)
class ChunkerLiveTest {

  private static LiveOptions quick(Duration giveUp) {
    return LiveOptions.defaults()
        .withBackoff(Duration.ofMillis(100), Duration.ofMillis(400))
        .withGiveUpAfter(giveUp);
  }

  @Test
  void liveOptionsAreValidated() {
    LiveOptions d = LiveOptions.defaults();
    assertEquals(LiveOptions.RtspTransport.AUTO, d.rtspTransport());
    assertEquals(Duration.ofSeconds(60), d.giveUpAfter());
    assertThrows(
        IllegalArgumentException.class, () -> d.withBackoff(Duration.ZERO, Duration.ofSeconds(1)));
    assertThrows(
        IllegalArgumentException.class,
        () -> d.withBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
    assertThrows(IllegalArgumentException.class, () -> d.withGiveUpAfter(Duration.ofSeconds(-1)));
    assertThrows(IllegalStateException.class, () -> LiveOptions.RtspTransport.AUTO.ffmpegName());
    assertEquals("udp", LiveOptions.RtspTransport.UDP.ffmpegName());
    assertThrows(NullPointerException.class, () -> ChunkerOptions.of("x.mp4").withLive(null));
  }

  @Test
  void unreachableCameraIsGivenUpOnAfterTheGiveUpTimeWithoutItsPassword() throws Exception {
    int port = RtspTestServer.freePort(); // nothing listens there
    String url = "rtsp://admin:secret@127.0.0.1:" + port + "/cam";
    Chunker c = new Chunker(ChunkerOptions.of(url).withLive(quick(Duration.ofSeconds(1))));
    long t0 = System.nanoTime();
    SourceLostException e = assertThrows(SourceLostException.class, () -> c.run(k -> {}));
    double s = (System.nanoTime() - t0) / 1e9;
    assertTrue(s >= 1 && s < 10, "gave up after " + s + " s");
    assertTrue(e.attempts() >= 2, "retried with backoff: " + e.attempts());
    assertTrue(
        e.getMessage().startsWith("gave up on source rtsp://127.0.0.1:" + port + "/cam"),
        e.getMessage());
    assertTrue(e.getMessage().contains("Connection refused"), e.getMessage());
    assertFalse(e.getMessage().contains("secret"), e.getMessage());
    assertEquals(0, c.emittedChunks());
  }

  @Test
  void stopEndsTheBackoffPromptly() throws Exception {
    int port = RtspTestServer.freePort();
    Chunker c =
        new Chunker(
            ChunkerOptions.of("rtsp://127.0.0.1:" + port + "/cam")
                .withLive(quick(Duration.ofSeconds(60))));
    CompletableFuture<Void> run =
        CompletableFuture.runAsync(
            () -> {
              try {
                c.run(k -> {});
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    Thread.sleep(700);
    assertFalse(run.isDone(), "still reconnecting");
    c.stop();
    run.get(5, TimeUnit.SECONDS); // returns normally: a stop is not a failure
    assertTrue(c.isStopped());
  }

  @Test
  void filesAreNotRetried() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Chunker.readAll(
                    ChunkerOptions.of("/nonexistent/x.avi")
                        .withLive(quick(Duration.ofSeconds(30)))));
    assertTrue(e.getMessage().contains("not found"), e.getMessage());
  }
}
