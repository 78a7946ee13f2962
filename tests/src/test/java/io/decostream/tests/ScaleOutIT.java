package io.decostream.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.encoder.EncoderConfig;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.schemas.Answer;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.tests.fault.CameraInput;
import io.decostream.tests.fault.Ledger;
import io.decostream.tests.fault.OutputWatch;
import io.decostream.tests.fault.StageProcess;
import io.decostream.worker.WorkerConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 22 point 4, scale-out proven: the frames stage, two encoders and two workers, each its own
 * OS process ({@code deco frames|encoder|worker}) on one broker with {@value #PARTITIONS}
 * partitions per topic, while four cameras publish in real time and questions arrive every 2 s.
 * Mid-stream a third encoder and a third worker join their groups; then one of each is stopped with
 * SIGTERM and another of each is SIGKILLed and started again. A read_committed reader then checks
 * that every sampled frame of every stream is on the frame-tokens topic exactly once and every
 * question has exactly one answer, and the groups' assignments (Admin) show the streams' partitions
 * spread over more than one process of each stage before and after the join: one process doing all
 * the work fails the test.
 *
 * <p>The encoders get no {@code --state-dir}: they share one {@code DECO_STATE_DIR} and must each
 * claim a directory (and with it a member id) of their own, the SIGKILLed one its old one back.
 */
// about 3.5 min on a 2-core machine shared with other work; the limit leaves room for a machine
// several times busier (the stages then drain a backlog, which the quiet wait allows)
@Timeout(900)
class ScaleOutIT {
  static final int PARTITIONS = 6;
  static final int STREAMS = 4;
  static final String PREFIX = "scale.";
  static final Pattern ANNOUNCE = Pattern.compile("member (\\S+), \\S+, state in (\\S+)");

  @TempDir Path tmp;

  @Test
  void encodersAndWorkersJoinAndLeaveMidStreamWithoutLosingOrRepeatingWork() throws Exception {
    long t0 = System.currentTimeMillis();
    Path logs = Files.createDirectories(Path.of("target", "scale-out"));
    try (var old = Files.list(logs)) {
      for (Path f : old.toList()) {
        Files.delete(f);
      }
    }
    Path pack = tmp.resolve("pack");
    TinyPack.write(pack, 7);
    List<String> streams = streamsOnDistinctPartitions(STREAMS, PARTITIONS);
    Set<Integer> dataPartitions = new TreeSet<>();
    streams.forEach(s -> dataPartitions.add(partitionOf(s, PARTITIONS)));
    String encoderApp = EncoderConfig.defaults().applicationId();
    String workerApp = WorkerConfig.defaults().applicationId();

    List<StageProcess> all = new ArrayList<>();
    try (EmbeddedBroker broker = EmbeddedBroker.start();
        Admin admin =
            Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      String bootstrap = broker.bootstrapServers();
      Topics topics = Topics.of(TopicNames.withPrefix(PREFIX));
      TopicAdmin.ensureTopics(admin, topics, PARTITIONS, (short) 1);
      // one intra-op thread per model process: seven JVMs share the machine's cores
      Map<String, String> oneThread = Map.of("OMP_NUM_THREADS", "1");
      Map<String, String> encoderEnv =
          Map.of("DECO_STATE_DIR", tmp.resolve("encoders") + "", "OMP_NUM_THREADS", "1");
      List<String> model = List.of("--model", pack.toString());
      List<String> worker =
          List.of("--model", pack.toString(), "--caption-every", "8", "--max-new-tokens", "4");
      StageProcess frames =
          stage(all, "frames", "frames", logs, bootstrap, Map.of(), stateDir("frames"));
      StageProcess enc1 = stage(all, "encoder-1", "encoder", logs, bootstrap, encoderEnv, model);
      // encoder-2 is the one scaled in: it leaves its group on SIGTERM (worker-2, stopped the same
      // way without the flag, keeps its place until its session times out)
      StageProcess enc2 =
          stage(
              all,
              "encoder-2",
              "encoder",
              logs,
              bootstrap,
              encoderEnv,
              List.of("--model", pack.toString(), "--leave-group-on-stop"));
      StageProcess enc3 = stage(all, "encoder-3", "encoder", logs, bootstrap, encoderEnv, model);
      StageProcess wk1 = stage(all, "worker-1", "worker", logs, bootstrap, oneThread, w(worker, 1));
      StageProcess wk2 = stage(all, "worker-2", "worker", logs, bootstrap, oneThread, w(worker, 2));
      StageProcess wk3 = stage(all, "worker-3", "worker", logs, bootstrap, oneThread, w(worker, 3));
      try {
        for (StageProcess s : List.of(frames, enc1, enc2, wk1, wk2)) {
          s.start();
        }
        for (StageProcess s : List.of(frames, enc1, enc2, wk1, wk2)) {
          awaitRunning(s, 1);
        }
        System.out.printf("scale-out: 5 processes running at %.1f s%n", secs(t0));

        try (OutputWatch watch = new OutputWatch(bootstrap, topics)) {
          CameraInput input =
              new CameraInput(
                  bootstrap,
                  topics,
                  streams,
                  tmp,
                  watch,
                  SyntheticVideo.Spec.defaults(10).withSize(160, 120),
                  "sq-");
          input.start();
          await(
              () -> streams.stream().allMatch(watch::hasTokens) && !watch.answers.isEmpty(),
              180,
              "tokens of every stream and a first answer",
              all);
          System.out.printf("scale-out: every stream flowing at %.1f s%n", secs(t0));

          // two processes of each stage: the streams' partitions are spread over both
          Map<String, StageProcess> members = new HashMap<>();
          for (StageProcess s : List.of(enc1, enc2, wk1, wk2)) {
            members.put(member(s), s);
          }
          assertEquals(4, members.size(), "four processes, four member ids: " + members.keySet());
          assertNotEquals(stateDirOf(enc1), stateDirOf(enc2), "encoders share a state dir");
          awaitGroup(admin, encoderApp, topics.frames().name(), members(enc1, enc2), all);
          awaitGroup(admin, workerApp, topics.tokens().name(), members(wk1, wk2), all);
          Map<String, Set<Integer>> enc =
              awaitSpread(admin, encoderApp, topics.frames().name(), dataPartitions, 2, all);
          Map<String, Set<Integer>> wk =
              awaitSpread(admin, workerApp, topics.tokens().name(), dataPartitions, 2, all);
          System.out.println(
              "scale-out: 2+2 assignment " + named(enc, members) + named(wk, members));

          // a third of each joins mid-stream and gets partitions
          long beforeJoin = tokensSeen(watch);
          enc3.start();
          wk3.start();
          awaitRunning(enc3, 1);
          awaitRunning(wk3, 1);
          members.put(member(enc3), enc3);
          members.put(member(wk3), wk3);
          assertNotEquals(stateDirOf(enc3), stateDirOf(enc1));
          assertNotEquals(stateDirOf(enc3), stateDirOf(enc2));
          awaitGroup(admin, encoderApp, topics.frames().name(), members(enc1, enc2, enc3), all);
          awaitGroup(admin, workerApp, topics.tokens().name(), members(wk1, wk2, wk3), all);
          awaitOwns(admin, encoderApp, topics.frames().name(), member(enc3), all);
          awaitOwns(admin, workerApp, topics.tokens().name(), member(wk3), all);
          enc = awaitSpread(admin, encoderApp, topics.frames().name(), dataPartitions, 2, all);
          wk = awaitSpread(admin, workerApp, topics.tokens().name(), dataPartitions, 2, all);
          System.out.printf(
              "scale-out: 3+3 at %.1f s, assignment %s%s%n",
              secs(t0), named(enc, members), named(wk, members));
          await(() -> tokensSeen(watch) >= beforeJoin + 2 * STREAMS, 90, "frames after join", all);
          // stop members of a settled group (a stop in the middle of a hand-over is the fault
          // suite's business)
          awaitGroup(admin, encoderApp, topics.frames().name(), members(enc1, enc2, enc3), all);
          awaitGroup(admin, workerApp, topics.tokens().name(), members(wk1, wk2, wk3), all);

          // every process still up: one that died on its own (a native crash) is reported
          for (StageProcess p : List.of(frames, enc1, enc2, enc3, wk1, wk2, wk3)) {
            assertTrue(
                p.isAlive(),
                p.name() + " died on its own (exit " + p.exitStatus() + ")\n" + p.tail(40));
          }
          // one of each is SIGKILLed and started again: its old state dir is the only default
          // slot free, so it is the same member again (static membership: no wait for a session)
          String enc1Dir = stateDirOf(enc1);
          String enc1Member = member(enc1);
          long killAt = System.currentTimeMillis();
          enc1.kill9();
          wk3.kill9();
          enc1.start();
          wk3.start();
          awaitRunning(enc1, 2);
          awaitRunning(wk3, 2);
          assertEquals(enc1Dir, stateDirOf(enc1), "the restarted encoder took its own dir back");
          assertEquals(enc1Member, member(enc1), "and with it its member id");
          System.out.printf(
              "scale-out: encoder-1 and worker-3 killed and running again %.1f s later%n",
              (System.currentTimeMillis() - killAt) / 1000.0);

          // then one of each is stopped for good with SIGTERM (its work committed): gone within
          // 15 s (exit 143, the JVM's SIGTERM status, whether Streams closed cleanly or was busy
          // past its 4 s close; exactly-once holds either way)
          long stopAt = System.currentTimeMillis();
          assertTrue(enc2.terminate(15) >= 0, "encoder-2 ignored SIGTERM\n" + enc2.tail(30));
          long enc2Exited = System.currentTimeMillis();
          assertTrue(wk2.terminate(15) >= 0, "worker-2 ignored SIGTERM\n" + wk2.tail(30));
          String enc2Member = member(enc2);
          if (enc2.log().contains("left the group")) {
            await(
                () -> {
                  try {
                    return !assignment(admin, encoderApp, "-").containsKey(enc2Member);
                  } catch (Exception e) {
                    return false;
                  }
                },
                10,
                "encoder-2 out of its group at once (--leave-group-on-stop)",
                all);
            System.out.printf(
                "scale-out: encoder-2 out of its group %.1f s after it exited%n",
                (System.currentTimeMillis() - enc2Exited) / 1000.0);
          }
          assertTrue(
              assignment(admin, workerApp, "-").containsKey(member(wk2)),
              "worker-2, stopped without --leave-group-on-stop, keeps its place for its session");
          System.out.printf(
              "scale-out: SIGTERM closed encoder-2 %s, worker-2 %s, at %.1f s%n",
              closed(enc2), closed(wk2), secs(t0));
          // the stopped members' partitions move once their sessions end (static members)
          awaitGroup(admin, encoderApp, topics.frames().name(), members(enc1, enc3), all);
          awaitGroup(admin, workerApp, topics.tokens().name(), members(wk1, wk3), all);
          System.out.printf(
              "scale-out: groups back to 2+2 %.1f s after the stops%n",
              (System.currentTimeMillis() - stopAt) / 1000.0);
          long afterStop = tokensSeen(watch);
          await(() -> tokensSeen(watch) >= afterStop + 2 * STREAMS, 90, "frames after stop", all);

          Map<String, Integer> expected = input.stop();
          System.out.printf("scale-out: input stopped at %.1f s%n", secs(t0));
          awaitQuiet(watch, expected, input.asked);
          System.out.printf("scale-out: quiet at %.1f s%n", secs(t0));
          Ledger ledger = Ledger.of(watch, expected, input.asked, List.of());
          String table = ledger.markdown();
          System.out.printf("%nscale-out ledger (%.1f s)%n%s%n", secs(t0), table);
          Files.writeString(logs.resolve("table.md"), table);
          assertTrue(ledger.questions >= 10, "questions asked: " + ledger.questions);
          assertEquals(0, ledger.framesLost(), "frames lost\n" + table + missing(watch, expected));
          assertEquals(0, ledger.framesDuplicated(), "frames duplicated\n" + table);
          assertEquals(0, ledger.answersLost, "questions without an answer\n" + table);
          assertEquals(0, ledger.answersDuplicated, "questions answered twice\n" + table);
          assertEquals(
              0,
              ledger.captionsDuplicated,
              "captions written twice: " + ledger.repeatedCaptions + "\n" + table);
          assertEquals(0, ledger.deadLetters, "good input dead-lettered: " + watch.deadLetters);
        }
      } finally {
        for (StageProcess s : all) {
          s.close();
        }
      }
    }
  }

  /** {@code --state-dir} for a stage given one explicitly. */
  private List<String> stateDir(String name) {
    return List.of("--state-dir", tmp.resolve("state").resolve(name).toString());
  }

  /** The worker options, with its own state dir and member id (the flags, as an operator sets). */
  private List<String> w(List<String> options, int n) {
    List<String> a = new ArrayList<>(options);
    a.addAll(stateDir("worker-" + n));
    a.addAll(List.of("--instance-id", "worker-" + n));
    return a;
  }

  private static StageProcess stage(
      List<StageProcess> all,
      String name,
      String command,
      Path logs,
      String bootstrap,
      Map<String, String> env,
      List<String> extra) {
    List<String> args = new ArrayList<>();
    args.add(command);
    args.addAll(List.of("--bootstrap", bootstrap, "--topic-prefix", PREFIX));
    args.addAll(extra);
    StageProcess p = new StageProcess(name, logs, args, env);
    all.add(p);
    return p;
  }

  /** The first {@code n} of cam-0, cam-1, ... that land on different partitions. */
  static List<String> streamsOnDistinctPartitions(int n, int partitions) {
    List<String> out = new ArrayList<>();
    Set<Integer> used = new TreeSet<>();
    for (int i = 0; out.size() < n; i++) {
      String s = "cam-" + i;
      if (used.add(partitionOf(s, partitions))) {
        out.add(s);
      }
    }
    return out;
  }

  /** The partition a Java producer (and Kafka Streams' sinks) puts key {@code stream} on. */
  static int partitionOf(String stream, int partitions) {
    return Utils.toPositive(Utils.murmur2(stream.getBytes(StandardCharsets.UTF_8))) % partitions;
  }

  private static double secs(long t0) {
    return (System.currentTimeMillis() - t0) / 1000.0;
  }

  private static long tokensSeen(OutputWatch watch) {
    return watch.tokens.size();
  }

  /** Waits for the {@code start}-th "running" line of {@code s}. */
  private static void awaitRunning(StageProcess s, int start) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 180_000;
    while (System.currentTimeMillis() < deadline) {
      if (count(s.log(), ": running (") >= start) {
        return;
      }
      if (!s.isAlive()) {
        throw new AssertionError(s.name() + " exited\n" + s.tail(60));
      }
      Thread.sleep(200);
    }
    throw new AssertionError(s.name() + " not running within 180 s\n" + s.tail(60));
  }

  private static int count(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  /** The member id the process announced at its latest start. */
  private static String member(StageProcess s) {
    return lastAnnounce(s)[0];
  }

  /** The state dir the process announced at its latest start. */
  private static String stateDirOf(StageProcess s) {
    return lastAnnounce(s)[1];
  }

  private static String[] lastAnnounce(StageProcess s) {
    Matcher m = ANNOUNCE.matcher(s.log());
    String[] last = null;
    while (m.find()) {
      last = new String[] {m.group(1), m.group(2)};
    }
    if (last == null) {
      throw new AssertionError(s.name() + " did not announce its member id\n" + s.tail(30));
    }
    return last;
  }

  /**
   * The partitions of {@code topic} each member of group {@code app} holds, by member id (the
   * process's instance id; Kafka Streams appends its thread index).
   */
  static Map<String, Set<Integer>> assignment(Admin admin, String app, String topic)
      throws Exception {
    ConsumerGroupDescription g =
        admin.describeConsumerGroups(List.of(app)).all().get(10, TimeUnit.SECONDS).get(app);
    Map<String, Set<Integer>> out = new TreeMap<>();
    for (MemberDescription m : g.members()) {
      String id = m.groupInstanceId().orElse(m.consumerId()).replaceFirst("-\\d+$", "");
      Set<Integer> parts = out.computeIfAbsent(id, k -> new TreeSet<>());
      for (TopicPartition tp : m.assignment().topicPartitions()) {
        if (tp.topic().equals(topic)) {
          parts.add(tp.partition());
        }
      }
    }
    return out;
  }

  /**
   * Waits until every partition of the streams is assigned and they are spread over at least {@code
   * owners} members; returns the assignment.
   */
  private static Map<String, Set<Integer>> awaitSpread(
      Admin admin, String app, String topic, Set<Integer> data, int owners, List<StageProcess> all)
      throws Exception {
    long deadline = System.currentTimeMillis() + 120_000;
    Map<String, Set<Integer>> a = Map.of();
    while (System.currentTimeMillis() < deadline) {
      a = assignment(admin, app, topic);
      Set<Integer> assigned = new TreeSet<>();
      long holding = 0;
      for (Set<Integer> p : a.values()) {
        assigned.addAll(p);
        holding += p.stream().anyMatch(data::contains) ? 1 : 0;
      }
      if (assigned.size() == PARTITIONS && holding >= owners) {
        return a;
      }
      Thread.sleep(500);
    }
    throw new AssertionError(
        app + ": the streams' partitions " + data + " not spread over " + owners + ": " + a);
  }

  private static void awaitOwns(
      Admin admin, String app, String topic, String member, List<StageProcess> all)
      throws Exception {
    await(
        () -> {
          try {
            return !assignment(admin, app, topic).getOrDefault(member, Set.of()).isEmpty();
          } catch (Exception e) {
            return false;
          }
        },
        120,
        member + " holding partitions of " + topic,
        all);
  }

  private static Set<String> members(StageProcess... processes) {
    Set<String> m = new TreeSet<>();
    for (StageProcess p : processes) {
      m.add(member(p));
    }
    return m;
  }

  /**
   * Waits until group {@code app} is stable with exactly {@code members} and every partition of
   * {@code topic} assigned.
   */
  private static void awaitGroup(
      Admin admin, String app, String topic, Set<String> members, List<StageProcess> all)
      throws Exception {
    await(
        () -> {
          try {
            ConsumerGroupDescription g =
                admin.describeConsumerGroups(List.of(app)).all().get(10, TimeUnit.SECONDS).get(app);
            if (g.groupState() != GroupState.STABLE) {
              return false;
            }
            Map<String, Set<Integer>> a = assignment(admin, app, topic);
            Set<Integer> assigned = new TreeSet<>();
            a.values().forEach(assigned::addAll);
            return a.keySet().equals(members) && assigned.size() == PARTITIONS;
          } catch (Exception e) {
            return false;
          }
        },
        150,
        app + " stable with members " + members,
        all);
  }

  private static void await(BooleanSupplier done, int seconds, String what, List<StageProcess> all)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + seconds * 1000L;
    while (System.currentTimeMillis() < deadline) {
      if (done.getAsBoolean()) {
        return;
      }
      Thread.sleep(250);
    }
    StringBuilder tails = new StringBuilder();
    for (StageProcess s : all) {
      tails.append("\n--- ").append(s.name()).append('\n').append(s.tail(25));
    }
    throw new AssertionError("no " + what + " within " + seconds + " s" + tails);
  }

  private static String named(Map<String, Set<Integer>> a, Map<String, StageProcess> members) {
    StringBuilder sb = new StringBuilder();
    a.forEach(
        (m, p) ->
            sb.append(' ')
                .append(members.containsKey(m) ? members.get(m).name() : m)
                .append('=')
                .append(p));
    return sb.toString();
  }

  /** How the process's last stop went, from its own line (StageRunner). */
  private static String closed(StageProcess s) {
    return s.log().contains("processed records committed")
        ? "cleanly"
        : "past its 4 s close (its open transaction aborted)";
  }

  /** The frame indices of each stream without tokens, as ranges. */
  private static String missing(OutputWatch watch, Map<String, Integer> expected) {
    StringBuilder sb = new StringBuilder();
    expected.forEach(
        (stream, n) -> {
          Set<Long> have = new TreeSet<>();
          watch.tokens.stream()
              .filter(t -> t.getStreamId().equals(stream))
              .forEach(t -> have.add(t.getFrameIndex()));
          List<String> ranges = new ArrayList<>();
          long start = -1;
          for (long i = 0; i <= n; i++) {
            boolean gap = i < n && !have.contains(i);
            if (gap && start < 0) {
              start = i;
            } else if (!gap && start >= 0) {
              ranges.add(start + ".." + (i - 1));
              start = -1;
            }
          }
          sb.append(stream).append(" without tokens: ").append(ranges).append('\n');
        });
    return sb.toString();
  }

  /**
   * Waits until every published frame is encoded and every question answered, as long as the stages
   * make progress (a backlog on a busy machine is not a loss; a stall of 60 s is).
   */
  private static void awaitQuiet(
      OutputWatch watch, Map<String, Integer> expected, Set<String> asked)
      throws InterruptedException {
    int frames = expected.values().stream().mapToInt(Integer::intValue).sum();
    long deadline = System.currentTimeMillis() + 300_000;
    long lastProgress = System.currentTimeMillis();
    long seen = -1;
    while (System.currentTimeMillis() < deadline
        && System.currentTimeMillis() - lastProgress < 60_000) {
      long now = watch.tokens.size() + watch.answers.size();
      if (now != seen) {
        seen = now;
        lastProgress = System.currentTimeMillis();
      }
      long encoded =
          watch.tokens.stream()
              .map(t -> t.getStreamId() + "#" + t.getFrameIndex())
              .distinct()
              .count();
      long answered = watch.answers.stream().map(Answer::getQuestionId).distinct().count();
      if (encoded >= frames && answered >= asked.size()) {
        break;
      }
      Thread.sleep(500);
    }
    // a late duplicate would arrive now
    Thread.sleep(4000);
  }
}
