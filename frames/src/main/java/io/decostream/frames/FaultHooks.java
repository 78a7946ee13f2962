package io.decostream.frames;

import java.nio.charset.StandardCharsets;

/**
 * TEST HOOKS ONLY: fault injection for the bad-input corpus and crash-loop tests (issue 18 point
 * 7). Both are off unless a system property is set, which no launcher, script or config does:
 *
 * <ul>
 *   <li>{@code deco.fault.crashOnChunkMarker=TEXT}: the frames stage halts the JVM ({@code
 *       Runtime.halt(137)}, like kill -9) when a chunk's data contains TEXT's UTF-8 bytes, to prove
 *       that an input crashing the process is dead-lettered after {@link
 *       FramesConfig#maxCrashAttempts()} restarts instead of crash-looping.
 *   <li>{@code deco.fault.hangOnChunkMarker=TEXT}: the decode of a chunk whose data contains TEXT
 *       blocks (as a hung decoder would) until it is cut at maxDecodeMillis.
 * </ul>
 *
 * The properties are read at each call (cheap), so a test can set them after the stage started.
 */
public final class FaultHooks {

  public static final String CRASH_PROPERTY = "deco.fault.crashOnChunkMarker";
  public static final String HANG_PROPERTY = "deco.fault.hangOnChunkMarker";

  private FaultHooks() {}

  /** Halts the JVM with status 137 when the crash hook is set and {@code data} has its marker. */
  static void maybeCrash(byte[] data) {
    if (contains(data, System.getProperty(CRASH_PROPERTY))) {
      System.err.println("deco test hook " + CRASH_PROPERTY + ": halting the JVM (137)");
      System.err.flush();
      Runtime.getRuntime().halt(137);
    }
  }

  /** Blocks (up to an hour, interruptibly) when the hang hook is set and data has its marker. */
  static void maybeHang(byte[] data) throws InterruptedException {
    if (contains(data, System.getProperty(HANG_PROPERTY))) {
      Thread.sleep(3_600_000L);
    }
  }

  /** Whether {@code data} contains the UTF-8 bytes of a non-empty {@code marker}. */
  static boolean contains(byte[] data, String marker) {
    if (marker == null || marker.isEmpty() || data == null) {
      return false;
    }
    byte[] m = marker.getBytes(StandardCharsets.UTF_8);
    outer:
    for (int i = 0; i + m.length <= data.length; i++) {
      for (int j = 0; j < m.length; j++) {
        if (data[i + j] != m[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
