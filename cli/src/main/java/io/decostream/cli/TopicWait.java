package io.decostream.cli;

import io.decostream.schemas.TopicAdmin;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Collection;
import java.util.SortedSet;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.KafkaException;

/**
 * Waits until topics exist (issue 18 point 3): a stage or publisher started before its topics
 * neither exits nor creates them (with a wrong partition count); it says which are missing and how
 * to create them, and retries.
 */
final class TopicWait {
  private TopicWait() {}

  /**
   * Returns true once every one of {@code names} exists, false when {@code stop} says so first.
   * Prints a line when the missing set changes and every 30 s while it stays.
   */
  static boolean await(
      String who,
      Admin admin,
      Collection<String> names,
      String createHint,
      Duration retry,
      PrintStream out,
      BooleanSupplier stop)
      throws InterruptedException {
    String last = null;
    long lastLine = 0;
    while (!stop.getAsBoolean()) {
      SortedSet<String> missing = missingOrNull(admin, names);
      if (missing != null && missing.isEmpty()) {
        return true;
      }
      String key = missing == null ? "(no broker)" : String.join(", ", missing);
      long now = System.nanoTime();
      if (!key.equals(last) || now - lastLine > 30_000_000_000L) {
        long every = Math.max(1, retry.toSeconds());
        out.println(
            missing == null
                ? who + ": waiting for the broker (retrying every " + every + " s)"
                : who
                    + ": waiting for topic(s) "
                    + key
                    + ": create them with `"
                    + createHint
                    + "` (retrying every "
                    + every
                    + " s)");
        out.flush();
        last = key;
        lastLine = now;
      }
      Thread.sleep(retry.toMillis());
    }
    return false;
  }

  /** The missing ones of {@code names}; null when the broker cannot tell now. */
  static SortedSet<String> missingOrNull(Admin admin, Collection<String> names) {
    try {
      return TopicAdmin.missing(admin, names, 5_000);
    } catch (KafkaException e) {
      return null;
    }
  }
}
