package io.decostream.cli;

import io.decostream.schemas.Guarantee;
import io.decostream.schemas.InstanceId;
import io.decostream.schemas.StreamsProperties;
import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

/** Options every Streams stage command (frames, encoder, worker) shares (issue 18 points 1, 2). */
final class StageOptions {
  /** Environment variable of the root under which each stage keeps its state directory. */
  static final String STATE_ROOT_ENV = "DECO_STATE_DIR";

  @Option(
      names = "--guarantee",
      paramLabel = "exactly_once_v2|at_least_once",
      converter = GuaranteeConverter.class,
      defaultValue = "${env:DECO_GUARANTEE:-exactly_once_v2}",
      description =
          "Processing guarantee (env DECO_GUARANTEE; default ${DEFAULT-VALUE}). at_least_once"
              + " answers a little sooner but repeats work after a crash.")
  Guarantee guarantee;

  @Option(
      names = "--instance-id",
      paramLabel = "ID",
      defaultValue = "${env:DECO_INSTANCE_ID}",
      description =
          "Static group member id (env DECO_INSTANCE_ID; default: one created once and kept in the"
              + " state directory, so a restart on the same state directory is the same member and"
              + " gets its partitions back at once). Each process of a stage needs its own: a"
              + " second process with the same id fences the first out of the group. Leave it"
              + " unset when running several processes, or derive it from a stable name (a"
              + " StatefulSet pod's).")
  String instanceId;

  @Option(
      names = "--leave-group-on-stop",
      defaultValue = "${env:DECO_LEAVE_GROUP_ON_STOP:-false}",
      description =
          "On SIGTERM, also leave the group (env DECO_LEAVE_GROUP_ON_STOP): the other processes"
              + " of the stage take this one's partitions at once. For scaling in; without it a"
              + " stopped process keeps its partitions for the session timeout (30 s), which is"
              + " what a restart wants (it gets them back without a rebalance).")
  boolean leaveGroupOnStop;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      defaultValue = "${env:DECO_METRICS_PORT:-0}",
      description = MetricsEndpoint.DESCRIPTION)
  int metricsPort;

  @Option(
      names = "--state-dir",
      paramLabel = "DIR",
      description =
          "Kafka Streams state directory, kept across restarts; it also keeps the process's"
              + " group member id, so each process of a stage needs its own (default: the first"
              + " one no other running process holds of $DECO_STATE_DIR/<application id>, then"
              + " <application id>-2, -3, ...; DECO_STATE_DIR defaults to ~/.local/state/deco).")
  Path stateDir;

  /** The given state directory, else {@code $DECO_STATE_DIR/<applicationId>} (not claimed). */
  Path stateDir(String applicationId) {
    return stateDir != null ? stateDir : stateRoot().resolve(applicationId);
  }

  /**
   * The state directory this process runs on, locked for it until it exits (issue 22 point 4:
   * several processes of one stage on one machine never share one; see {@link StateDirs}).
   */
  Path claimStateDir(String applicationId) {
    return StateDirs.claim(stateDir, stateRoot(), applicationId);
  }

  private static Path stateRoot() {
    String root = System.getenv(STATE_ROOT_ENV);
    return root != null && !root.isBlank()
        ? Path.of(root)
        : Path.of(System.getProperty("user.home"), ".local", "state", "deco");
  }

  /** The given instance id, else the one kept in {@code stateDir} (created on first use). */
  String instanceId(Path stateDir, String applicationId) {
    if (instanceId != null && !instanceId.isBlank()) {
      return InstanceId.validate(instanceId.trim());
    }
    return InstanceId.persisted(stateDir, applicationId);
  }

  /**
   * The Streams properties a stage adds to its defaults: the client properties, the guarantee and
   * its static membership; with {@code --leave-group-on-stop} also {@link
   * StageRunner#LEAVE_GROUP_ON_STOP}, which the runner takes out before Streams sees them.
   */
  Properties extra(Properties client, String instance) {
    Properties p = new Properties();
    p.putAll(client);
    p.putAll(StreamsProperties.guarantee(guarantee));
    p.putAll(StreamsProperties.staticMember(instance));
    if (leaveGroupOnStop) {
      p.put(StageRunner.LEAVE_GROUP_ON_STOP, "true");
    }
    return p;
  }

  static final class GuaranteeConverter implements ITypeConverter<Guarantee> {
    @Override
    public Guarantee convert(String value) {
      return Guarantee.parse(value);
    }
  }
}
