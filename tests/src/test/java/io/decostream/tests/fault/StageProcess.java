package io.decostream.tests.fault;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One {@code deco} command in its own OS process (the same JVM and classpath as the test), so the
 * fault suite can kill it for real: {@link #kill9()} is SIGKILL, {@link #terminate()} SIGTERM.
 * Output of every run is appended to {@code <logDir>/<name>.log}.
 */
public final class StageProcess implements AutoCloseable {
  private final String name;
  private final List<String> args;
  private final Path log;
  private final Path logDir;
  private final Map<String, String> env;
  private Process process;
  private int starts;

  /**
   * The process's java.io.tmpdir, deleted by {@link #close}: RocksDB and other natives unpack their
   * libraries there and delete them on a clean exit only, so every SIGKILL would otherwise leave
   * ~14 MB in the machine's /tmp.
   */
  private Path tmp;

  public StageProcess(String name, Path logDir, List<String> args) {
    this(name, logDir, args, Map.of());
  }

  /** As {@link #StageProcess(String, Path, List)} with extra environment variables. */
  public StageProcess(String name, Path logDir, List<String> args, Map<String, String> env) {
    this.name = name;
    this.args = List.copyOf(args);
    this.log = logDir.resolve(name + ".log");
    this.logDir = logDir;
    this.env = Map.copyOf(env);
  }

  public String name() {
    return name;
  }

  /** Starts (or restarts) the command; returns the wall-clock millis of the start. */
  public long start() throws IOException {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException(name + " is still running");
    }
    String javaExe = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd = new ArrayList<>();
    cmd.add(javaExe);
    // the launch rules of every deco path: offline DJL, no tracking; a small heap per stage
    cmd.add("-Dai.djl.offline=true");
    // the decode step (issue 20) and its loads by address, as ./deco starts it
    cmd.add("--add-modules=jdk.incubator.vector");
    cmd.add("--add-exports=java.base/jdk.internal.vm.vector=ALL-UNNAMED");
    cmd.add("-Xss4m");
    cmd.add("-Xmx1g");
    if (tmp == null) {
      tmp = Files.createTempDirectory("deco-stage-" + name + "-");
    }
    cmd.add("-Djava.io.tmpdir=" + tmp);
    // a native crash report goes with the logs, not into the working directory
    cmd.add("-XX:ErrorFile=" + logDir.toAbsolutePath().resolve(name + "-hs_err_%p.log"));
    // a timeline in each log: when the process started, restored and processed again after a kill
    cmd.add("-Dorg.slf4j.simpleLogger.showDateTime=true");
    cmd.add("-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS");
    cmd.add("-Dorg.slf4j.simpleLogger.log.org.apache.kafka.streams=info");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.decostream.cli.Deco");
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("OPT_OUT_TRACKING", "true");
    pb.environment().putAll(env);
    Files.createDirectories(log.getParent());
    Files.writeString(
        log,
        "\n===== "
            + java.time.LocalTime.now()
            + " start "
            + (++starts)
            + " of "
            + name
            + ": "
            + String.join(" ", args)
            + "\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    long at = System.currentTimeMillis();
    process = pb.start();
    return at;
  }

  /** The exit status of the latest start, or -1 while it runs (or before any start). */
  public int exitStatus() {
    return process == null || process.isAlive() ? -1 : process.exitValue();
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** SIGKILL, then waits for the process to be gone: no shutdown hook, no flush, no commit. */
  public void kill9() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException(name + " survived SIGKILL for 30 s");
    }
  }

  /** SIGTERM; returns the exit code, or -1 if it did not exit within {@code seconds}. */
  public int terminate(long seconds) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      return -1;
    }
    return process.exitValue();
  }

  /** Everything this process (all its starts) wrote so far. */
  public String log() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** The last {@code n} lines of this process's log (for failure messages). */
  public String tail(int n) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (isAlive()) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
    if (tmp != null && !isAlive()) {
      try (Stream<Path> files = Files.walk(tmp)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (IOException e) {
        // best effort: a leftover temp directory is not a test failure
      }
      tmp = null;
    }
  }
}
