package io.decostream.cli;

import io.decostream.metrics.StageMetrics;
import io.decostream.schemas.Topics;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.MemberToRemove;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.errors.MissingSourceTopicException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

/**
 * Runs one Streams stage as a supervised process (issue 18 points 2 and 3).
 *
 * <ul>
 *   <li>Before starting Streams it waits until every DeCo topic the stage reads or writes exists,
 *       retrying every {@link #retry} with a line saying which topics and how to create them:
 *       topics are created explicitly with their partitions, never by a stage.
 *   <li>When Streams dies because its source topics vanished or its broker was replaced by a fresh
 *       one (another cluster id: a broker lost and restarted without its data), it waits for the
 *       topics again and starts a fresh KafkaStreams instance; any other fatal error ends the stage
 *       with status 1.
 *   <li>{@link #stop()} (SIGTERM, Ctrl-C) closes Streams within {@link #CLOSE_TIMEOUT}: a clean
 *       close commits what the stage processed (the open transaction under exactly-once) and says
 *       so; a stage stuck longer in a model call is left to exit, and its uncommitted work is done
 *       again (or its transaction aborted) by the next start.
 * </ul>
 */
final class StageRunner {
  /**
   * How long a stop may take to close Streams: with the JVM's own exit the stage is gone within the
   * 5 s issue 18 asks for.
   */
  static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(4);

  /**
   * A stage property (not a Streams one; removed before Streams sees the properties): stop by
   * leaving the group, so a process taken away for good (scaling in, issue 22 point 4) hands its
   * partitions over at once instead of after the static member's session timeout.
   */
  static final String LEAVE_GROUP_ON_STOP = "deco.leave.group.on.stop";

  private final String stage;
  private final Supplier<Topology> topology;
  private final Properties streamsProperties;
  private final boolean leaveGroupOnStop;
  private final Supplier<Admin> admin;
  private final Set<String> decoTopics;
  private final String createHint;
  private final PrintStream out;
  Duration retry = Duration.ofSeconds(2);

  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean stopping;
  private volatile boolean cleanStop;
  private volatile KafkaStreams current;
  private volatile AutoCloseable streamsMetrics;
  private volatile Throwable lastError;
  private volatile int starts;

  /**
   * @param stage the stage's name in log lines
   * @param topology builds the stage's topology (a fresh one for every KafkaStreams instance)
   * @param streamsProperties the complete Streams properties
   * @param admin makes the admin client used to look for topics
   * @param topics the DeCo topics: those the topology names are waited for
   * @param createHint the command that creates the topics, for the waiting line
   */
  StageRunner(
      String stage,
      Supplier<Topology> topology,
      Properties streamsProperties,
      Supplier<Admin> admin,
      Topics topics,
      String createHint,
      PrintStream out) {
    this.stage = stage;
    this.topology = topology;
    Properties p = new Properties();
    p.putAll(streamsProperties);
    this.leaveGroupOnStop = Boolean.parseBoolean(String.valueOf(p.remove(LEAVE_GROUP_ON_STOP)));
    this.streamsProperties = p;
    this.admin = admin;
    this.decoTopics = new TreeSet<>();
    topics.all().forEach(t -> decoTopics.add(t.name()));
    this.createHint = createHint;
    this.out = out;
  }

  /**
   * Runs the stage until {@link #stop()} is called from a JVM shutdown hook (SIGTERM, Ctrl-C): what
   * the stage commands do. Returns 0 after a stop, 1 after a fatal error.
   */
  int runUntilSignalled() throws InterruptedException {
    Thread hook = new Thread(this::stop, stage + "-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    out.println(stage + ": started (Ctrl-C or SIGTERM stops it)");
    int status = run();
    if (status != 0) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // already exiting
      }
      return status;
    }
    if (!cleanStop) {
      // Streams is still busy (a model call): do not let the caller free the model under it; the
      // JVM exits when the shutdown hook returns
      new CountDownLatch(1).await();
    }
    return 0;
  }

  /** The supervisor loop: see the class comment. Returns 0 after {@link #stop()}, 1 on error. */
  int run() throws InterruptedException {
    try (Admin a = admin.get()) {
      Set<String> needed = topicsOf(topology.get());
      while (!stopping) {
        if (!awaitTopics(a, needed)) {
          break;
        }
        KafkaStreams streams = new KafkaStreams(topology.get(), streamsProperties);
        lastError = null;
        streams.setUncaughtExceptionHandler(
            e -> {
              lastError = e;
              return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            });
        synchronized (this) {
          if (stopping) {
            streams.close(Duration.ZERO);
            break;
          }
          current = streams;
          starts++;
          // the client's metrics (consumer lag, commit rate, ...) on /metrics (issue 21 point 3)
          streamsMetrics = StageMetrics.bind(streams, stage);
          streams.start();
        }
        String cluster = clusterIdOrNull(a);
        long started = System.nanoTime();
        boolean announced = false;
        while (!stopping) {
          KafkaStreams.State s = streams.state();
          if (s == KafkaStreams.State.RUNNING && !announced) {
            out.printf(
                "%s: running (%.1f s after start)%n", stage, (System.nanoTime() - started) / 1e9);
            announced = true;
          }
          if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING) {
            break;
          }
          Thread.sleep(100);
        }
        if (stopping) {
          break;
        }
        Throwable cause = lastError;
        streams.close(CLOSE_TIMEOUT);
        unbindMetrics();
        SortedSet<String> gone = missingOrNull(a, needed);
        String now = clusterIdOrNull(a);
        boolean replaced = cluster != null && now != null && !cluster.equals(now);
        if (hasCause(cause, MissingSourceTopicException.class)
            || (gone != null && !gone.isEmpty())
            || replaced) {
          // A static member that rejoins a stable group is handed its cached assignment, here the
          // failed one ("source topics missing"): leave the group so the next start rebalances.
          leaveGroup(a);
          out.println(
              stage
                  + (replaced
                      ? ": stopped because its broker was replaced (cluster "
                          + cluster
                          + " is now "
                          + now
                          + "): "
                          + cause
                      : ": stopped because its topics are gone ("
                          + (gone == null || gone.isEmpty()
                              ? String.valueOf(cause)
                              : String.join(", ", gone))
                          + ")")
                  + "; waiting for its topics, then starting again");
          continue;
        }
        System.err.println(
            stage
                + ": stopped with state "
                + streams.state()
                + (cause == null ? "" : ": " + cause)
                + " (see the log above)");
        return 1;
      }
    }
    // a stop: wait for the closing thread so that the caller frees nothing Streams still uses
    stopped.await(CLOSE_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS);
    return 0;
  }

  /**
   * Stops the stage: closes Streams within {@link #CLOSE_TIMEOUT} (committing what it processed)
   * and prints how it went. Returns whether Streams closed in time.
   */
  boolean stop() {
    KafkaStreams streams;
    synchronized (this) {
      if (stopping) {
        return cleanStop;
      }
      stopping = true;
      streams = current;
    }
    long t0 = System.nanoTime();
    boolean clean =
        streams == null
            || (leaveGroupOnStop
                ? streams.close(
                    CloseOptions.groupMembershipOperation(
                            CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                        .withTimeout(CLOSE_TIMEOUT))
                : streams.close(CLOSE_TIMEOUT));
    unbindMetrics();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    cleanStop = clean;
    if (clean) {
      out.println(
          stage
              + ": stopped in "
              + ms
              + " ms; processed records committed"
              + (leaveGroupOnStop ? "; left the group" : "")
              + (streams == null ? " (Streams had not started)" : ""));
    } else {
      out.println(
          stage
              + ": Streams did not close within "
              + CLOSE_TIMEOUT.toSeconds()
              + " s (busy in a record); exiting anyway: uncommitted work is redone at the next"
              + " start, under exactly-once its open transaction is aborted");
    }
    out.flush();
    stopped.countDown();
    return clean;
  }

  private void unbindMetrics() {
    AutoCloseable m = streamsMetrics;
    streamsMetrics = null;
    if (m != null) {
      try {
        m.close();
      } catch (Exception e) {
        // removing meters of a closed client: nothing to recover
      }
    }
  }

  /** The cluster's id, null when the broker cannot tell now. */
  private static String clusterIdOrNull(Admin a) {
    try {
      return a.describeCluster().clusterId().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return null;
    }
  }

  /** Removes this stage's static members (one per stream thread) from its group. */
  private void leaveGroup(Admin a) {
    Object instance = streamsProperties.get("group.instance.id");
    if (instance == null) {
      return; // a dynamic member left the group when Streams closed
    }
    int threads =
        Integer.parseInt(String.valueOf(streamsProperties.getOrDefault("num.stream.threads", "1")));
    List<MemberToRemove> members = new ArrayList<>();
    for (int i = 1; i <= threads; i++) {
      members.add(new MemberToRemove(instance + "-" + i));
    }
    try {
      a.removeMembersFromConsumerGroup(
              String.valueOf(streamsProperties.get("application.id")),
              new RemoveMembersFromConsumerGroupOptions(members))
          .all()
          .get(10, TimeUnit.SECONDS);
    } catch (Exception notMember) {
      // no such member or group (a fresh broker): nothing cached to forget
      if (notMember instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Whether a stop leaves the group (tests). */
  boolean leavesGroupOnStop() {
    return leaveGroupOnStop;
  }

  /** The properties Streams is started with (tests). */
  Properties streamsProperties() {
    return streamsProperties;
  }

  /** How many KafkaStreams instances were started (tests). */
  int starts() {
    return starts;
  }

  /** The current KafkaStreams instance, null before the first start (tests). */
  KafkaStreams current() {
    return current;
  }

  private boolean awaitTopics(Admin a, Set<String> needed) throws InterruptedException {
    return TopicWait.await(stage, a, needed, createHint, retry, out, () -> stopping);
  }

  private static SortedSet<String> missingOrNull(Admin a, Collection<String> needed) {
    return TopicWait.missingOrNull(a, needed);
  }

  /** The DeCo topics {@code t} reads or writes (internal topics are Streams' own business). */
  Set<String> topicsOf(Topology t) {
    Set<String> names = new TreeSet<>();
    for (TopologyDescription.Subtopology sub : t.describe().subtopologies()) {
      for (TopologyDescription.Node n : sub.nodes()) {
        if (n instanceof TopologyDescription.Source src && src.topicSet() != null) {
          names.addAll(src.topicSet());
        } else if (n instanceof TopologyDescription.Sink sink && sink.topic() != null) {
          names.add(sink.topic());
        }
      }
    }
    names.retainAll(decoTopics);
    return names;
  }

  private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    List<Throwable> seen = new ArrayList<>();
    for (Throwable c = t; c != null && !seen.contains(c); c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
      seen.add(c);
    }
    return false;
  }
}
