package io.decostream.broker;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real single-node Kafka broker in this JVM: one combined KRaft node (broker + controller) built
 * from Kafka's own server jars, formatted and started exactly as {@code kafka.Kafka} would (storage
 * format, then {@link KafkaRaftServer}). Used by the demo ({@code deco broker}) and the integration
 * tests.
 *
 * <p>Both listeners bind 127.0.0.1 only. The client port is either fixed ({@link Config#port()}) or
 * a free one; the controller port is always a free one. Free ports are found by binding port 0 and
 * releasing it, so another process could grab one in between: start retries a few times.
 *
 * <p>Broker limits follow design.md: message.max.bytes and replica.fetch.max.bytes are {@link
 * #MAX_MESSAGE_BYTES} (the same 8 MiB as {@code io.decostream.schemas.KafkaLimits}; this module
 * does not depend on schemas so the broker stays a pure Kafka module). Topic auto-creation is off
 * (issue 18 point 3): a client asking for a missing topic must not get one with the wrong partition
 * count (the frames changelog then never matched its source again); the project creates its topics
 * explicitly ({@code deco broker} at start, {@code deco topics create}), and Kafka Streams creates
 * its internal topics through the admin API, which auto-creation does not govern.
 *
 * <p>Besides the PLAINTEXT client listener, {@link Config#withListener} adds listeners with another
 * security protocol (e.g. SASL_SSL for the security tests); their settings (keystores, SASL
 * mechanisms, JAAS) go in {@link Config#extraProps()}.
 */
public final class EmbeddedBroker implements AutoCloseable {

  /** Largest record batch the broker accepts: 8 MiB, equal to KafkaLimits.MAX_MESSAGE_BYTES. */
  public static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

  /** The loopback host both listeners bind and advertise. */
  public static final String HOST = "127.0.0.1";

  private static final int NODE_ID = 1;
  private static final int START_ATTEMPTS = 3;
  private static final long READY_TIMEOUT_MS = 60_000;

  /**
   * How to start the broker.
   *
   * @param port client (PLAINTEXT) port on 127.0.0.1; 0 picks a free one
   * @param logDir data directory; empty for a temporary one deleted on close (a given directory is
   *     kept, and reused when it was formatted before)
   * @param extraProps additional broker properties, applied last (they win)
   * @param listeners additional client listeners on 127.0.0.1 besides PLAINTEXT
   */
  public record Config(
      int port, Optional<Path> logDir, Map<String, String> extraProps, List<Listener> listeners) {
    public Config {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0 (free port) or 1-65535, got " + port);
      }
      Objects.requireNonNull(logDir, "logDir (use Optional.empty() for a temporary directory)");
      extraProps = Map.copyOf(Objects.requireNonNull(extraProps, "extraProps"));
      listeners = List.copyOf(Objects.requireNonNull(listeners, "listeners"));
      java.util.Set<String> names = new java.util.HashSet<>(List.of("PLAINTEXT", "CONTROLLER"));
      for (Listener l : listeners) {
        if (!names.add(l.name())) {
          throw new IllegalArgumentException("listener name " + l.name() + " used twice");
        }
      }
    }

    /** No additional listeners. */
    public Config(int port, Optional<Path> logDir, Map<String, String> extraProps) {
      this(port, logDir, extraProps, List.of());
    }

    /** Free port, temporary directory, no extra properties. */
    public static Config defaults() {
      return new Config(0, Optional.empty(), Map.of());
    }

    /** A copy listening on the given client port. */
    public Config withPort(int newPort) {
      return new Config(newPort, logDir, extraProps, listeners);
    }

    /** A copy keeping its data in {@code dir}. */
    public Config withLogDir(Path dir) {
      return new Config(port, Optional.of(dir), extraProps, listeners);
    }

    /** A copy with additional broker properties. */
    public Config withExtraProps(Map<String, String> props) {
      Map<String, String> merged = new HashMap<>(extraProps);
      merged.putAll(props);
      return new Config(port, logDir, merged, listeners);
    }

    /** A copy with one more client listener. */
    public Config withListener(Listener listener) {
      List<Listener> more = new java.util.ArrayList<>(listeners);
      more.add(Objects.requireNonNull(listener, "listener"));
      return new Config(port, logDir, extraProps, more);
    }
  }

  /**
   * An additional client listener.
   *
   * @param name listener name, e.g. SASL_SSL (upper case letters, digits, '_')
   * @param protocol security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
   * @param port port on 127.0.0.1; 0 picks a free one
   */
  public record Listener(String name, String protocol, int port) {
    public Listener {
      if (name == null || !name.matches("[A-Z][A-Z0-9_]*")) {
        throw new IllegalArgumentException(
            "listener name must be upper case letters, digits and '_', got '" + name + "'");
      }
      if (!List.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL").contains(protocol)) {
        throw new IllegalArgumentException(
            "listener protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got '"
                + protocol
                + "'");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0 (free port) or 1-65535, got " + port);
      }
    }
  }

  private final KafkaRaftServer server;
  private final Path logDir;
  private final boolean deleteOnClose;
  private final int port;
  private final Map<String, Integer> listenerPorts;
  private boolean closed;

  private EmbeddedBroker(
      KafkaRaftServer server,
      Path logDir,
      boolean deleteOnClose,
      int port,
      Map<String, Integer> listenerPorts) {
    this.server = server;
    this.logDir = logDir;
    this.deleteOnClose = deleteOnClose;
    this.port = port;
    this.listenerPorts = Map.copyOf(listenerPorts);
  }

  /** Starts a broker on a free port with a temporary log directory. */
  public static EmbeddedBroker start() {
    return start(Config.defaults());
  }

  /** Starts a broker and returns once it accepts clients (metadata ready, broker unfenced). */
  public static EmbeddedBroker start(Config config) {
    Objects.requireNonNull(config, "config");
    RuntimeException last = null;
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      try {
        return startOnce(config);
      } catch (PortTakenException e) {
        if (config.port() != 0 && e.port == config.port()) {
          throw new IllegalStateException(
              "cannot start Kafka broker: port "
                  + HOST
                  + ":"
                  + config.port()
                  + " is already in use",
              e.getCause());
        }
        last = e; // a free port we picked was taken meanwhile: pick new ones
      }
    }
    throw new IllegalStateException(
        "cannot start Kafka broker after "
            + START_ATTEMPTS
            + " attempts: free ports kept being taken",
        last);
  }

  private static EmbeddedBroker startOnce(Config config) {
    int clientPort = config.port() != 0 ? config.port() : freePort();
    requireFree(clientPort); // fail fast, before anything is created, when a fixed port is busy
    java.util.Set<Integer> taken = new java.util.HashSet<>(List.of(clientPort));
    int controllerPort = freePort(taken);
    Map<String, Integer> listenerPorts = new java.util.LinkedHashMap<>();
    for (Listener l : config.listeners()) {
      int p = l.port() != 0 ? l.port() : freePort(taken);
      if (l.port() != 0) {
        requireFree(p);
      }
      taken.add(p);
      listenerPorts.put(l.name(), p);
    }
    boolean temporary = config.logDir().isEmpty();
    Path dir;
    try {
      dir =
          temporary
              ? Files.createTempDirectory("deco-kafka-")
              : Files.createDirectories(config.logDir().get());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create Kafka log directory", e);
    }
    KafkaRaftServer server = null;
    try {
      KafkaConfig kafkaConfig =
          new KafkaConfig(
              brokerProps(config, dir, clientPort, controllerPort, listenerPorts), false);
      format(dir);
      server = new KafkaRaftServer(kafkaConfig, Time.SYSTEM);
      server.startup();
      EmbeddedBroker broker = new EmbeddedBroker(server, dir, temporary, clientPort, listenerPorts);
      broker.awaitReady();
      return broker;
    } catch (RuntimeException | Error e) {
      stopQuietly(server);
      if (temporary) {
        deleteRecursively(dir);
      }
      Throwable bind = findBindException(e);
      if (bind != null) {
        throw new PortTakenException(config.port() != 0 ? clientPort : -1, bind);
      }
      throw e;
    }
  }

  /**
   * The broker properties: a combined KRaft node on loopback with single-node replication settings.
   */
  static Map<String, Object> brokerProps(
      Config config, Path dir, int clientPort, int controllerPort) {
    return brokerProps(config, dir, clientPort, controllerPort, Map.of());
  }

  /** As above, with the ports of the additional listeners by name. */
  static Map<String, Object> brokerProps(
      Config config,
      Path dir,
      int clientPort,
      int controllerPort,
      Map<String, Integer> listenerPorts) {
    Map<String, Object> p = new HashMap<>();
    p.put("process.roles", "broker,controller");
    p.put("node.id", Integer.toString(NODE_ID));
    p.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
    StringBuilder listeners = new StringBuilder("PLAINTEXT://" + HOST + ":" + clientPort);
    StringBuilder advertised = new StringBuilder(listeners);
    StringBuilder protocols = new StringBuilder("PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    for (Listener l : config.listeners()) {
      Integer lp = listenerPorts.get(l.name());
      if (lp == null) {
        throw new IllegalArgumentException("no port chosen for listener " + l.name());
      }
      String at = "," + l.name() + "://" + HOST + ":" + lp;
      listeners.append(at);
      advertised.append(at);
      protocols.append(',').append(l.name()).append(':').append(l.protocol());
    }
    listeners.append(",CONTROLLER://" + HOST + ":" + controllerPort);
    p.put("listeners", listeners.toString());
    p.put("advertised.listeners", advertised.toString());
    p.put("listener.security.protocol.map", protocols.toString());
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("log.dirs", dir.toString());
    p.put("metadata.log.dir", dir.toString());
    // one node: every internal topic has one replica (stack.md gotcha 7)
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "1");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "1");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    // topics are created explicitly, with their partitions (class comment; issue 18 point 3)
    p.put("auto.create.topics.enable", "false");
    // message size limit shared with producers, consumers and topics (design.md, KafkaLimits)
    p.put("message.max.bytes", Integer.toString(MAX_MESSAGE_BYTES));
    p.put("replica.fetch.max.bytes", Integer.toString(MAX_MESSAGE_BYTES));
    // small machine: the log cleaner's default 128 MiB dedupe buffer is far more than needed
    p.put("log.cleaner.dedupe.buffer.size", "2097152");
    p.put("num.network.threads", "2");
    p.put("num.io.threads", "4");
    p.putAll(config.extraProps());
    return p;
  }

  private static void format(Path dir) {
    try {
      new Formatter()
          .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
          .setNodeId(NODE_ID)
          .setClusterId(clusterId(dir))
          .setDirectories(List.of(dir.toString()))
          .setMetadataLogDirectory(dir.toString())
          .setControllerListenerName("CONTROLLER")
          .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
          .setIgnoreFormatted(true) // a kept directory from an earlier run is reused as is
          .run();
    } catch (Exception e) {
      throw new IllegalStateException(
          "cannot format Kafka storage in " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * The cluster id of a kept directory (its {@code meta.properties}), so that a broker restarted on
   * its own data comes back as the same cluster with its topics and records; a fresh random id for
   * a new directory. (Formatting a kept directory with a new id fails: "Invalid cluster.id".)
   */
  static String clusterId(Path dir) {
    Path meta = dir.resolve("meta.properties");
    if (Files.isRegularFile(meta)) {
      java.util.Properties p = new java.util.Properties();
      try (var in = Files.newInputStream(meta)) {
        p.load(in);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + meta, e);
      }
      String id = p.getProperty("cluster.id");
      if (id != null && !id.isBlank()) {
        return id.trim();
      }
    }
    return Uuid.randomUuid().toString();
  }

  /**
   * Waits until the broker is registered and unfenced, so topics with one replica can be created.
   */
  private void awaitReady() {
    long deadline = System.currentTimeMillis() + READY_TIMEOUT_MS;
    Map<String, Object> props =
        Map.of(
            AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
            AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000,
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000);
    try (Admin admin = Admin.create(props)) {
      Exception last = null;
      while (System.currentTimeMillis() < deadline) {
        try {
          Collection<Node> nodes = admin.describeCluster().nodes().get(10, TimeUnit.SECONDS);
          if (nodes.stream().anyMatch(n -> n.id() == NODE_ID)) {
            return;
          }
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
          last = e;
        }
        Thread.sleep(100);
      }
      throw new IllegalStateException(
          "Kafka broker at " + bootstrapServers() + " not ready after " + READY_TIMEOUT_MS + " ms",
          last);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the Kafka broker", e);
    }
  }

  /** "127.0.0.1:PORT" for clients' bootstrap.servers. */
  public String bootstrapServers() {
    return HOST + ":" + port;
  }

  /** "127.0.0.1:PORT" of an additional listener ({@link Config#withListener}). */
  public String bootstrapServers(String listenerName) {
    Integer p = listenerPorts.get(listenerName);
    if (p == null) {
      throw new IllegalArgumentException(
          "no listener " + listenerName + "; the broker has " + listenerPorts.keySet());
    }
    return HOST + ":" + p;
  }

  /** The client port. */
  public int port() {
    return port;
  }

  /** The data directory (deleted on close when it was temporary). */
  public Path logDir() {
    return logDir;
  }

  /** Stops the broker and deletes a temporary log directory. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopQuietly(server);
    if (deleteOnClose) {
      deleteRecursively(logDir);
    }
  }

  private static void stopQuietly(KafkaRaftServer server) {
    if (server == null) {
      return;
    }
    try {
      server.shutdown();
      server.awaitShutdown();
    } catch (RuntimeException e) {
      // shutting down a half-started server can fail; nothing more to release
    }
  }

  private static int freePort(java.util.Set<Integer> notThese) {
    int p = freePort();
    while (notThese.contains(p)) {
      p = freePort();
    }
    return p;
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free port on " + HOST, e);
    }
  }

  private static void requireFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
    } catch (BindException e) {
      throw new PortTakenException(port, e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot probe port " + port, e);
    }
  }

  private static Throwable findBindException(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof BindException) {
        return c;
      }
      if (c.getMessage() != null && c.getMessage().contains("Address already in use")) {
        return c;
      }
    }
    return null;
  }

  static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    } catch (IOException | UncheckedIOException e) {
      throw new IllegalStateException("cannot delete Kafka log directory " + dir, e);
    }
  }

  /** A listener port was taken (by someone else) while starting. */
  private static final class PortTakenException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int port;

    PortTakenException(int port, Throwable cause) {
      super("port " + port + " taken", cause);
      this.port = port;
    }
  }
}
