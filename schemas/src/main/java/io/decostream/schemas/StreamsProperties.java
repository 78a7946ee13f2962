package io.decostream.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The Kafka Streams settings every DeCo stage shares (one place, so the stages cannot drift apart).
 */
public final class StreamsProperties {
  private StreamsProperties() {}

  /**
   * The consumers' session timeout. A static member ({@link #staticMember}) that restarts within it
   * gets its partitions back without a rebalance, whatever its length; it only decides how long a
   * member that does not come back keeps its partitions unprocessed before another instance takes
   * them over. 30 s: longer than a supervisor needs to restart a crashed stage and reload its model
   * on the machines we measured (so a restart does not move partitions), short enough that a dead
   * instance's streams fail over within half a minute. (Kafka's 45 s default would only make the
   * fail-over slower; the broker's group.max.session.timeout.ms allows up to 30 min.)
   */
  public static final int SESSION_TIMEOUT_MS = 30_000;

  /**
   * The transaction timeout under exactly-once. Streams lowers the producer's 60 s default to 10 s;
   * we keep 60 s because a transaction stays open while the stage processes the records of one
   * commit, and a model call (an answer with grounding on a CPU) can take well over 10 s: a timed
   * out transaction is aborted by the broker, the stage is fenced and redoes the work, again and
   * again. The cost of the longer timeout is bounded: a stage restarted on its own state dir has
   * the same transactional id (Streams keeps its process id there) and aborts its dead
   * predecessor's open transaction at once when it starts; only a stage that lost its state dir
   * leaves readers waiting up to this long for the dead transaction to be aborted.
   */
  public static final int TRANSACTION_TIMEOUT_MS = 60_000;

  /**
   * application.id, bootstrap, an explicit state.dir (the configured one, else a new temp dir),
   * exactly_once_v2 (issue 18 point 1; its commit interval stays Streams' 100 ms: outputs become
   * visible to read_committed readers at each commit, which GuaranteeLatencyIT measures at tens of
   * ms per frame or answer, within this machine's noise), byte-array default serdes (stages
   * deserialize themselves so bad records become dead letters), a generous poll interval (a model
   * call can take seconds on a CPU), the session and transaction timeouts above, {@link
   * QuietRocksDb}, {@link KafkaLimits#streamsOverrides()}, then {@code extra}, which wins (e.g.
   * {@link #guarantee}, {@link #staticMember}, client security settings).
   */
  public static Properties of(
      String applicationId, String bootstrap, Path stateDir, Properties extra) {
    if (bootstrap == null || bootstrap.isBlank()) {
      throw new IllegalArgumentException("bootstrap servers must be given, e.g. localhost:9092");
    }
    if (applicationId == null || applicationId.isBlank()) {
      throw new IllegalArgumentException("application id must be given");
    }
    Properties p = new Properties();
    p.put("application.id", applicationId);
    p.put("bootstrap.servers", bootstrap);
    p.put("state.dir", stateDir(stateDir).toString());
    p.put("processing.guarantee", Guarantee.EXACTLY_ONCE_V2.config());
    p.put("default.key.serde", Serdes.ByteArraySerde.class.getName());
    p.put("default.value.serde", Serdes.ByteArraySerde.class.getName());
    p.put("consumer.max.poll.interval.ms", 600_000);
    p.put("consumer.session.timeout.ms", SESSION_TIMEOUT_MS);
    p.put("producer.transaction.timeout.ms", TRANSACTION_TIMEOUT_MS);
    p.put("rocksdb.config.setter", QuietRocksDb.class.getName());
    p.putAll(KafkaLimits.streamsOverrides());
    if (extra != null) {
      p.putAll(extra);
    }
    return p;
  }

  /**
   * The settings of a stage's warm-up (issue 22: the frames stage and the encoder run their own
   * topology in a TopologyTestDriver before they start): an application id of its own, state in
   * {@code stateDir}, and a bootstrap address that is never contacted.
   */
  public static Properties warmUp(String applicationId, Path stateDir) {
    Properties p = new Properties();
    p.put("application.id", applicationId + "-warmup");
    p.put("bootstrap.servers", "warmup.invalid:9092");
    p.put("state.dir", stateDir.toString());
    return p;
  }

  /** {@code processing.guarantee} set to {@code g}, to pass as (part of) {@code extra}. */
  public static Properties guarantee(Guarantee g) {
    Properties p = new Properties();
    p.put("processing.guarantee", g.config());
    return p;
  }

  /**
   * Static group membership (issue 18 point 2): {@code group.instance.id} = {@code instanceId};
   * Kafka Streams appends each stream thread's index itself.
   */
  public static Properties staticMember(String instanceId) {
    Properties p = new Properties();
    p.put("group.instance.id", InstanceId.validate(instanceId));
    return p;
  }

  private static Path stateDir(Path configured) {
    try {
      return configured != null
          ? Files.createDirectories(configured)
          : Files.createTempDirectory("deco-state-");
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot create the Kafka Streams state directory: " + e.getMessage(), e);
    }
  }
}
