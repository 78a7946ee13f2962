package io.decostream.worker;

import static io.decostream.worker.WorkerTopologyTest.tokens;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.schemas.Answer;
import io.decostream.schemas.CrashGuard;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Question;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 in the worker: one answer per question id (point 1), questions from any client routed by
 * the stream id in their value (point 4), every malformed question a logged dead letter with its
 * reason, and an input that crashed the process recognised and dead-lettered (point 7).
 */
class WorkerReliabilityTest {
  static final String APP = "worker-test";
  static final long T0 = 1_700_000_000_000L;

  @TempDir Path state;
  final Topics topics = Topics.of(TopicNames.defaults());

  /** FakeLlm that counts its calls and, for the text "boom", dies like a native crash would. */
  static final class CountingLlm implements AnswerBackend {
    final WorkerTopologyTest.FakeLlm inner = new WorkerTopologyTest.FakeLlm();
    int calls;

    @Override
    public int contextLength() {
      return inner.contextLength();
    }

    @Override
    public int maxFrames(int tokensPerFrame, int reserved) {
      return inner.maxFrames(tokensPerFrame, reserved);
    }

    @Override
    public Generated generate(List<float[]> frames, int tpf, String prompt, int maxNewTokens) {
      calls++;
      if (prompt.equals("boom") || prompt.equals(WorkerConfig.defaults().captionPrompt())) {
        // A JVM that segfaults never returns: an Error escaping process() leaves the record as
        // unfinished as a dead process does.
        throw new SimulatedCrash();
      }
      return inner.generate(frames, tpf, prompt, maxNewTokens);
    }
  }

  static final class SimulatedCrash extends Error {
    private static final long serialVersionUID = 1L;

    SimulatedCrash() {
      super("simulated native crash in generation");
    }
  }

  final CountingLlm llm = new CountingLlm();

  TopologyTestDriver driver(WorkerConfig config) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, APP);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    return new TopologyTestDriver(WorkerTopology.build(config.withMaxBatch(0), llm), p);
  }

  static WorkerConfig config() {
    return WorkerConfig.defaults().withCaptionEvery(0);
  }

  record Io(
      TestInputTopic<String, FrameTokens> tokens,
      TestInputTopic<String, Question> questions,
      TestInputTopic<byte[], byte[]> rawQuestions,
      TestOutputTopic<String, Answer> answers,
      TestOutputTopic<String, DeadLetter> dead) {}

  Io io(TopologyTestDriver d) {
    return new Io(
        d.createInputTopic(
            topics.tokens().name(),
            Serdes.String().serializer(),
            topics.tokens().valueSerde().serializer()),
        d.createInputTopic(
            topics.questions().name(),
            Serdes.String().serializer(),
            topics.questions().valueSerde().serializer()),
        d.createInputTopic(
            topics.questions().name(),
            Serdes.ByteArray().serializer(),
            Serdes.ByteArray().serializer()),
        d.createOutputTopic(
            topics.answers().name(),
            Serdes.String().deserializer(),
            topics.answers().valueSerde().deserializer()),
        d.createOutputTopic(
            topics.deadLetters().name(),
            Serdes.String().deserializer(),
            topics.deadLetters().valueSerde().deserializer()));
  }

  static void frames(Io io, String stream, int n, long at) {
    for (int i = 0; i < n; i++) {
      io.tokens.pipeInput(stream, tokens(stream, i, 12), at);
    }
  }

  static Question question(String stream, String id) {
    return WorkerTopologyTest.question(stream, id);
  }

  static Question question(String stream, String id, String text) {
    Question q = WorkerTopologyTest.question(stream, id);
    q.setText(text);
    return q;
  }

  // ---- point 1: one answer per question id ----

  @Test
  void theSameQuestionIdPipedTwiceIsAnsweredOnceAndOtherIdsEachOnce() {
    try (TopologyTestDriver d = driver(config())) {
      Io io = io(d);
      frames(io, "cam", 3, T0);
      io.questions.pipeInput("cam", question("cam", "q1"), T0 + 1_000);
      io.questions.pipeInput("cam", question("cam", "q1"), T0 + 2_000);
      io.questions.pipeInput("cam", question("cam", "q2"), T0 + 3_000);
      List<Answer> answers = io.answers.readValuesToList();
      assertEquals(
          List.of("q1", "q2"), answers.stream().map(Answer::getQuestionId).toList(), "one each");
      assertEquals(2, llm.calls, "the duplicate never reached the model");
      assertTrue(answers.stream().allMatch(a -> a.getError() == null));
      assertTrue(io.dead.isEmpty(), "a duplicate is not bad input");
    }
  }

  @Test
  void aQuestionIdIsAnsweredAgainOnceTheRetentionHasPassed() {
    WorkerConfig c = config().withDedupRetention(Duration.ofHours(1));
    try (TopologyTestDriver d = driver(c)) {
      Io io = io(d);
      frames(io, "cam", 3, T0);
      KeyValueStore<String, Long> store = d.getKeyValueStore(WorkerTopology.ANSWERED_STORE);
      String key = WorkerProcessor.dedupKey(question("cam", "q1"));
      io.questions.pipeInput("cam", question("cam", "q1"), T0);
      assertEquals(T0, store.get(key));
      io.questions.pipeInput("cam", question("cam", "q1"), T0 + Duration.ofMinutes(59).toMillis());
      assertEquals(1, io.answers.readValuesToList().size(), "within the hour: a duplicate");
      long later = T0 + Duration.ofMinutes(61).toMillis();
      io.questions.pipeInput("cam", question("cam", "q1"), later);
      List<Answer> again = io.answers.readValuesToList();
      assertEquals(1, again.size(), "after the hour: answered again");
      assertNull(again.get(0).getError());
      assertEquals(later, store.get(key), "the store holds the latest answer's time");
      // Stream time moves on (frames arrive): the punctuator forgets entries older than the hour.
      io.tokens.pipeInput("cam", tokens("cam", 3, 12), later + Duration.ofMinutes(59).toMillis());
      assertNotNull(store.get(key), "59 minutes later it is still remembered");
      io.tokens.pipeInput("cam", tokens("cam", 4, 12), later + Duration.ofMinutes(64).toMillis());
      assertNull(store.get(key), "an hour later it is gone: the store stays bounded");
    }
  }

  @Test
  void theSameIdAboutAnotherStreamIsAnotherQuestion() {
    try (TopologyTestDriver d = driver(config())) {
      Io io = io(d);
      frames(io, "a", 2, T0);
      frames(io, "b", 2, T0);
      io.questions.pipeInput("a", question("a", "q"), T0 + 1);
      io.questions.pipeInput("b", question("b", "q"), T0 + 2);
      assertEquals(
          List.of("a", "b"),
          io.answers.readValuesToList().stream().map(Answer::getStreamId).toList());
    }
  }

  // ---- point 4: the value's stream id decides, not the key ----

  @Test
  void aQuestionKeyedOtherwiseOrNotAtAllIsAnsweredFromItsOwnStream() {
    try (TopologyTestDriver d = driver(config())) {
      Io io = io(d);
      frames(io, "cam", 3, T0);
      frames(io, "other", 5, T0);
      io.questions.pipeInput("other", question("cam", "q1"), T0 + 1);
      io.questions.pipeInput((String) null, question("cam", "q2"), T0 + 2);
      List<Answer> answers = io.answers.readValuesToList();
      assertEquals(2, answers.size());
      for (Answer a : answers) {
        assertNull(a.getError());
        assertEquals("cam", a.getStreamId());
        assertEquals("0 1 2", a.getText(), "cam's window, not the key's stream's");
      }
      assertTrue(io.dead.isEmpty());
    }
  }

  @Test
  void theRepartitionTopicIsNamedAfterTheApplication() {
    assertEquals(
        "deco-llm-worker-questions-by-stream-repartition",
        WorkerTopology.questionsByStreamTopic(WorkerConfig.defaults().applicationId()));
    String description = WorkerTopology.build(config(), llm).describe().toString();
    assertTrue(
        description.contains("topics: [" + WorkerTopology.QUESTIONS_BY_STREAM + "-repartition]"),
        description);
  }

  // ---- point 7: malformed questions, unknown streams, logged dead letters ----

  @Test
  void everyMalformedQuestionIsALoggedDeadLetterWithItsReason() {
    String marker = "PAYLOAD-MARKER-";
    String big = marker + "x".repeat(100 * 1024);
    Question wrongType =
        question("cam", "ok-but-raw", "fine"); // serialized below, then truncated: not Avro
    byte[] truncated =
        java.util.Arrays.copyOf(
            topics.questions().valueSerde().serializer().serialize("t", wrongType), 5);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream saved = System.err;
    List<DeadLetter> dl;
    try (TopologyTestDriver d = driver(config())) {
      Io io = io(d);
      frames(io, "cam", 2, T0);
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      try {
        io.rawQuestions.pipeInput("cam".getBytes(StandardCharsets.UTF_8), null, T0); // tombstone
        io.rawQuestions.pipeInput(
            "cam".getBytes(StandardCharsets.UTF_8),
            (marker + " not avro at all").getBytes(StandardCharsets.UTF_8),
            T0);
        io.rawQuestions.pipeInput("cam".getBytes(StandardCharsets.UTF_8), truncated, T0);
        io.rawQuestions.pipeInput("cam".getBytes(StandardCharsets.UTF_8), new byte[0], T0);
        io.questions.pipeInput("cam", question("cam", "empty", ""), T0);
        io.questions.pipeInput("cam", question("cam", "blank", " \n\t "), T0);
        io.questions.pipeInput("cam", question("cam", "huge", big), T0);
        io.questions.pipeInput("cam", question("cam", "just-over", "y".repeat(4097)), T0);
        io.questions.pipeInput("cam", question("cam", "bell", "what\u0007 is here?"), T0);
        io.questions.pipeInput("cam", question("cam", "esc", "\u001b[2Jwhat?"), T0);
        io.questions.pipeInput("cam", question("cam", "c1", "what\u0085?"), T0);
        io.questions.pipeInput("cam", question("", "no-stream", "what?"), T0);
        io.questions.pipeInput("cam", question("cam\nfake", "ctl-stream", "what?"), T0);
        io.questions.pipeInput("cam", question("cam", "", "what?"), T0);
      } finally {
        System.setErr(saved);
      }
      assertTrue(io.answers.isEmpty(), "none of them is answered");
      dl = io.dead.readValuesToList();
      // Good questions still pass, with tab and line breaks in their text and 4096 bytes.
      io.questions.pipeInput("cam", question("cam", "ok", "what\tis\r\nhere?"), T0);
      io.questions.pipeInput("cam", question("cam", "max", "z".repeat(4096)), T0);
      assertEquals(2, io.answers.readValuesToList().size());
    }
    List<String> expected =
        List.of(
            "tombstone",
            "not a Question record",
            "not a Question record",
            "not a Question record",
            "question 'empty' for stream 'cam' has no text",
            "question 'blank' for stream 'cam' has no text",
            "has " + big.length() + " bytes of text; the limit is 4096",
            "question 'just-over' for stream 'cam' has 4097 bytes of text; the limit is 4096",
            "contains control character U+0007 at index 4",
            "contains control character U+001B at index 0",
            "contains control character U+0085 at index 4",
            "question 'no-stream' names no stream",
            "its stream id contains control character U+000A at index 3",
            "question has no id");
    assertEquals(expected.size(), dl.size(), dl.toString());
    for (int i = 0; i < expected.size(); i++) {
      DeadLetter x = dl.get(i);
      assertTrue(x.getReason().contains(expected.get(i)), i + ": " + x.getReason());
      assertEquals("llm-worker", x.getStage());
      assertEquals(topics.questions().name(), x.getSourceTopic());
      assertEquals(i + 0L, x.getOffset(), "the dead letter names the asker's record");
    }
    assertEquals("cam", dl.get(4).getStreamId());
    assertNotNull(dl.get(6).getValue(), "the original bytes travel along");
    String log = err.toString(StandardCharsets.UTF_8);
    List<String> lines = log.lines().filter(l -> l.contains("dead letter: ")).toList();
    assertEquals(expected.size(), lines.size(), log);
    for (int i = 0; i < expected.size(); i++) {
      String line = lines.get(i);
      assertTrue(line.contains("WARN"), line);
      assertTrue(line.contains(topics.questions().name() + "-0@" + i), line);
    }
    assertFalse(log.contains(marker), "no payload in the log");
    assertFalse(log.contains("\nfake"), "a stream id cannot forge a log line");
  }

  @Test
  void aQuestionAboutAnUnknownStreamGetsAnErrorAnswerAndADeadLetter() {
    try (TopologyTestDriver d = driver(config())) {
      Io io = io(d);
      frames(io, "cam", 2, T0);
      io.questions.pipeInput("nope", question("nope", "q"), T0);
      Answer a = io.answers.readValue();
      assertEquals("q", a.getQuestionId());
      assertEquals("no frames yet for stream nope", a.getError());
      DeadLetter dl = io.dead.readValue();
      assertEquals("nope", dl.getStreamId());
      assertTrue(dl.getReason().contains("which has no frames here yet"), dl.getReason());
      assertEquals(topics.questions().name(), dl.getSourceTopic());
      assertEquals(0L, dl.getOffset());
      assertEquals(0, llm.calls);
    }
  }

  // ---- point 7: an input that crashes the process ----

  /** Runs one "process": frames, then {@code q}; returns the outputs, or null when it crashed. */
  Io run(WorkerConfig c, Question q, List<Answer> answers, List<DeadLetter> dead) {
    try (TopologyTestDriver d = driver(c)) {
      Io io = io(d);
      frames(io, "cam", 3, T0);
      try {
        io.questions.pipeInput("cam", q, T0 + 1);
      } catch (SimulatedCrash e) {
        return null;
      }
      answers.addAll(io.answers.readValuesToList());
      dead.addAll(io.dead.readValuesToList());
      return io;
    }
  }

  @Test
  void aQuestionThatCrashedTheWorkerTwiceIsDeadLetteredOnTheThirdStart() {
    Question boom = question("cam", "q-boom", "boom");
    List<Answer> answers = new ArrayList<>();
    List<DeadLetter> dead = new ArrayList<>();
    assertNull(run(config(), boom, answers, dead), "first run dies");
    assertNull(run(config(), boom, answers, dead), "second run dies");
    assertEquals(2, llm.calls);
    assertNotNull(run(config(), boom, answers, dead), "third run lives");
    assertEquals(2, llm.calls, "the third run did not call the model again");
    assertEquals(1, dead.size());
    assertTrue(
        dead.get(0).getReason().contains("question 'q-boom' of stream cam crashed the worker 2"),
        dead.get(0).getReason());
    assertEquals(topics.questions().name(), dead.get(0).getSourceTopic());
    assertEquals(1, answers.size(), "the asker still gets a reply");
    assertTrue(answers.get(0).getError().startsWith("not answered: "), answers.get(0).getError());
  }

  @Test
  void aMarkerLeftByACrashedRunIsCountedAndClearedByAGoodRun() throws Exception {
    // What a crashed run leaves: the question's repartition record entered once, never done.
    Path taskDir = state.resolve(APP).resolve("0_0");
    Path file = CrashGuard.fileFor(taskDir, WorkerProcessor.ATTEMPTS_DIRECTORY, "0_0");
    CrashGuard.Coordinates first =
        new CrashGuard.Coordinates(WorkerTopology.questionsByStreamTopic(APP), 0, 0);
    assertEquals(0, CrashGuard.open(file, true).enter(first));
    assertTrue(Files.exists(file));
    assertEquals(1, CrashGuard.open(file, true).attempts(first), "forced to disk, read back");

    // One crash is below the limit of 2: the question is tried again and answered.
    List<Answer> answers = new ArrayList<>();
    List<DeadLetter> dead = new ArrayList<>();
    assertNotNull(run(config(), question("cam", "q"), answers, dead));
    assertEquals(1, answers.size());
    assertNull(answers.get(0).getError());
    assertTrue(dead.isEmpty());
    assertFalse(Files.exists(file), "finished: nothing in flight");

    // Two crashes recorded: the same record is dead-lettered without running the model.
    CrashGuard g = CrashGuard.open(file, true);
    g.enter(first);
    g.enter(first);
    int before = llm.calls;
    answers.clear();
    assertNotNull(run(config().withCrashAttemptLimit(2), question("cam", "q"), answers, dead));
    assertEquals(before, llm.calls);
    assertEquals(1, dead.size());
    assertTrue(dead.get(0).getReason().contains("crashed the worker 2 time(s)"));
    assertFalse(Files.exists(file));
  }

  @Test
  void anOrderlyExitDuringARecordDoesNotCountAsACrash() {
    Path file =
        CrashGuard.fileFor(
            state.resolve(APP).resolve("0_0"), WorkerProcessor.ATTEMPTS_DIRECTORY, "0_0");
    CrashGuard.Coordinates c = new CrashGuard.Coordinates("t", 0, 7);
    CrashGuard g = CrashGuard.open(file, true);
    g.enter(c);
    g.enter(c); // a second start after a crash: 2 recorded
    g.orderlyExit(); // SIGTERM while the record is in flight: this start is taken back
    assertEquals(1, CrashGuard.open(file, true).attempts(c), "the earlier crash still counts");
    g.enter(new CrashGuard.Coordinates("t", 0, 8));
    assertEquals(
        1, CrashGuard.open(file, true).attempts(c), "nothing is counted once the exit has begun");
    g.close();
    CrashGuard h = CrashGuard.open(file, true);
    h.enter(new CrashGuard.Coordinates("t", 0, 9));
    assertEquals(
        0, h.attempts(c), "a later offset of the same partition passed it: the line was stale");
    h.done(new CrashGuard.Coordinates("t", 0, 9));
    assertFalse(Files.exists(file));
    h.close();
  }

  @Test
  void aFrameWhoseCaptionCrashedTheWorkerIsDeadLetteredAndTheStreamGoesOn() {
    WorkerConfig c = WorkerConfig.defaults().withCaptionEvery(3).withCrashAttemptLimit(1);
    try (TopologyTestDriver d = driver(c)) {
      Io io = io(d);
      io.tokens.pipeInput("cam", tokens("cam", 0, 12), T0);
      io.tokens.pipeInput("cam", tokens("cam", 1, 12), T0);
      assertThrows(
          SimulatedCrash.class, () -> io.tokens.pipeInput("cam", tokens("cam", 2, 12), T0));
    }
    try (TopologyTestDriver d = driver(c)) {
      Io io = io(d);
      frames(io, "cam", 3, T0); // the same three records again, as after a restart
      DeadLetter dl = io.dead.readValue();
      assertTrue(
          dl.getReason().contains("frame 2 of stream cam crashed the worker 1 time(s)"),
          dl.getReason());
      assertEquals(topics.tokens().name(), dl.getSourceTopic());
      assertEquals(2L, dl.getOffset());
      io.questions.pipeInput("cam", question("cam", "q"), T0 + 1);
      assertEquals("0 1", io.answers.readValue().getText(), "the crashing frame is not in");
    }
  }

  @Test
  void configRefusesNonsense() {
    assertThrows(IllegalArgumentException.class, () -> config().withDedupRetention(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> config().withMaxQuestionBytes(0));
    assertThrows(IllegalArgumentException.class, () -> config().withCrashAttemptLimit(0));
    assertEquals(Duration.ofHours(24), WorkerConfig.defaults().dedupRetention());
    assertEquals(4096, WorkerConfig.defaults().maxQuestionBytes());
    assertEquals(2, WorkerConfig.defaults().crashAttemptLimit());
  }

  /**
   * A caption queued behind a backlog when its task moved is resubmitted by the next owner after
   * the window slid past its oldest frames: it must caption what is left of its own frames, not the
   * window as it is now, which is exactly a later caption's range (ScaleOutIT saw that repeated).
   */
  @Test
  void aResubmittedGenerationKeepsToItsFramesWhereTheWindowSlidPastSome() {
    List<FrameTokens> window = new ArrayList<>();
    for (long i = 8; i <= 23; i++) {
      window.add(tokens("cam", i, 2));
    }
    List<Long> first = new ArrayList<>();
    for (long i = 0; i <= 15; i++) {
      first.add(i);
    }
    PendingWork caption = new PendingWork(PendingWork.CAPTION, "t", 0, 7, 0, first, new byte[0]);
    List<FrameTokens> used = WorkerProcessor.resubmitFrames(caption, window);
    assertEquals(8, used.get(0).getFrameIndex());
    assertEquals(15, used.get(used.size() - 1).getFrameIndex(), "no frame newer than its own");
    assertEquals(8, used.size());

    PendingWork question = new PendingWork(PendingWork.QUESTION, "t", 0, 7, 0, first, new byte[0]);
    assertEquals(window, WorkerProcessor.resubmitFrames(question, window), "the window as it is");

    List<Long> held = List.of(20L, 21L, 22L, 23L);
    for (PendingWork w :
        List.of(
            new PendingWork(PendingWork.CAPTION, "t", 0, 7, 0, held, new byte[0]),
            new PendingWork(PendingWork.QUESTION, "t", 0, 7, 0, held, new byte[0]))) {
      assertEquals(window.subList(12, 16), WorkerProcessor.resubmitFrames(w, window));
    }
    PendingWork gone =
        new PendingWork(PendingWork.CAPTION, "t", 0, 7, 0, List.of(1L, 2L), new byte[0]);
    assertTrue(WorkerProcessor.resubmitFrames(gone, window).isEmpty(), "nothing left to caption");
  }
}
