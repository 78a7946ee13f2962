package io.decostream.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real RTSP server (GStreamer, started by the test) that allows only UDP, goes away and comes
 * back, or goes away for good (issue 18 point 5). Chunks go to an in-memory sink.
 */
@Timeout(120)
class RtspSourceIT {

  @TempDir static Path dir;

  private static final ExecutorService POOL = Executors.newCachedThreadPool();

  @AfterAll
  static void shutdown() {
    POOL.shutdownNow();
  }

  private static ChunkerOptions options(String url, LiveOptions live) {
    return ChunkerOptions.of(url).withLive(live);
  }

  private static LiveOptions live(LiveOptions.RtspTransport t, int giveUpSeconds) {
    return LiveOptions.defaults()
        .withRtspTransport(t)
        .withBackoff(Duration.ofMillis(250), Duration.ofSeconds(1))
        .withGiveUpAfter(Duration.ofSeconds(giveUpSeconds));
  }

  @Test
  void udpOnlyServerWorksInAutoModeAndRefusesExplicitTcp() throws Exception {
    try (RtspTestServer server = RtspTestServer.create(dir, "udp").start()) {
      Chunker auto =
          new Chunker(
              options(server.url(), live(LiveOptions.RtspTransport.AUTO, 20)).withMaxChunks(3));
      List<Chunk> chunks = new CopyOnWriteArrayList<>();
      auto.run(chunks::add);
      assertEquals(3, chunks.size());
      assertEquals("udp", auto.stats().rtspTransport(), "AUTO must have fallen back to UDP");
      for (int i = 0; i < 3; i++) {
        assertEquals(i, chunks.get(i).sequence());
        assertTrue(Chunker.countDecodableFrames(chunks.get(i).data(), "mpegts") > 0, "chunk " + i);
      }

      Chunker tcp =
          new Chunker(
              options(server.url(), live(LiveOptions.RtspTransport.TCP, 2)).withMaxChunks(3));
      long t0 = System.nanoTime();
      SourceLostException e = assertThrows(SourceLostException.class, () -> tcp.run(c -> {}));
      System.err.println("explicit tcp: " + e.getMessage());
      assertTrue(e.getMessage().contains(server.url()), e.getMessage());
      assertTrue(e.getMessage().contains("RTSP transport tcp only"), e.getMessage());
      assertEquals(0, tcp.emittedChunks());
      assertTrue((System.nanoTime() - t0) / 1e9 < 20, "gave up in time");
    }
  }

  @Test
  void reconnectsAfterTheServerWasAwayAndRecordsTheGap() throws Exception {
    try (RtspTestServer server = RtspTestServer.create(dir, "any").start()) {
      Chunker chunker =
          new Chunker(options(server.url(), live(LiveOptions.RtspTransport.AUTO, 30)));
      List<Chunk> chunks = new CopyOnWriteArrayList<>();
      Future<?> run =
          POOL.submit(
              () -> {
                chunker.run(chunks::add);
                return null;
              });
      waitFor(() -> chunks.size() >= 3, 30, "3 chunks before the server stops", run);
      server.stop();
      long stoppedAt = System.nanoTime();
      Thread.sleep(10_000);
      int before = chunks.size();
      server.start();
      waitFor(() -> chunks.size() >= before + 3, 40, "3 chunks after the restart", run);
      chunker.stop();
      run.get(20, TimeUnit.SECONDS);
      System.err.println("reconnect stats: " + chunker.stats());

      assertTrue(chunker.stats().reconnects() >= 1, chunker.stats().toString());
      long maxGap = 0;
      for (int i = 0; i < chunks.size(); i++) {
        assertEquals(
            i, chunks.get(i).sequence(), "sequence unique and increasing across reconnects");
        if (i > 0) {
          Chunk prev = chunks.get(i - 1);
          assertTrue(
              chunks.get(i).startMicros() >= prev.endMicros(),
              "start times increase: " + prev + " then " + chunks.get(i));
          maxGap = Math.max(maxGap, chunks.get(i).startMicros() - prev.endMicros());
        }
        assertTrue(Chunker.countDecodableFrames(chunks.get(i).data(), "mpegts") > 0);
      }
      // the server was away for 10 s (plus the reconnect): the start times show it
      assertTrue(maxGap >= 8_000_000L, "gap in the start times: " + maxGap + " us");
      assertTrue(maxGap <= 30_000_000L, "gap in the start times: " + maxGap + " us");
      assertTrue(chunker.stats().gapMicros() >= 8_000_000L, chunker.stats().toString());
      assertTrue((System.nanoTime() - stoppedAt) / 1e9 < 60);
    }
  }

  @Test
  void givesUpWithAClearErrorWhenTheServerNeverComesBack() throws Exception {
    givesUp("any", "tcp");
  }

  @Test
  void aLostUdpSessionIsDetectedAndGivenUpOnToo() throws Exception {
    givesUp("udp", "udp");
  }

  private void givesUp(String protocols, String transport) throws Exception {
    try (RtspTestServer server = RtspTestServer.create(dir, protocols).start()) {
      Chunker chunker = new Chunker(options(server.url(), live(LiveOptions.RtspTransport.AUTO, 4)));
      List<Chunk> chunks = new CopyOnWriteArrayList<>();
      Future<?> run =
          POOL.submit(
              () -> {
                chunker.run(chunks::add);
                return null;
              });
      waitFor(() -> chunks.size() >= 2, 30, "2 chunks before the server stops", run);
      assertEquals(transport, chunker.stats().rtspTransport());
      server.stop();
      long stoppedAt = System.nanoTime();
      java.util.concurrent.ExecutionException ee =
          assertThrows(
              java.util.concurrent.ExecutionException.class, () -> run.get(40, TimeUnit.SECONDS));
      double after = (System.nanoTime() - stoppedAt) / 1e9;
      SourceLostException lost = assertInstanceOf(ee.getCause());
      System.err.println("gave up after " + after + " s: " + lost.getMessage());
      assertTrue(
          lost.getMessage().startsWith("gave up on source " + server.url()), lost.getMessage());
      assertTrue(lost.unreachableFor().toMillis() >= 4000, lost.unreachableFor().toString());
      assertTrue(lost.attempts() >= 2, "backoff retried: " + lost.attempts());
      assertTrue(after >= 4 && after < 25, "gave up " + after + " s after the server stopped");
      for (int i = 0; i < chunks.size(); i++) {
        assertEquals(i, chunks.get(i).sequence());
      }
    }
  }

  private static SourceLostException assertInstanceOf(Throwable t) {
    assertNotNull(t);
    assertTrue(t instanceof SourceLostException, "expected SourceLostException, got " + t);
    return (SourceLostException) t;
  }

  private static void waitFor(
      java.util.function.BooleanSupplier cond, int seconds, String what, Future<?> run)
      throws Exception {
    long due = System.nanoTime() + seconds * 1_000_000_000L;
    while (!cond.getAsBoolean()) {
      if (run.isDone()) {
        run.get(); // surfaces the chunker's exception
        throw new AssertionError("chunker ended before " + what);
      }
      if (System.nanoTime() > due) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }
}
