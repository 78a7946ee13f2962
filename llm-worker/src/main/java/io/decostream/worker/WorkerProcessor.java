package io.decostream.worker;

import io.decostream.metrics.StageMetrics;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.rgae.TextToPatch;
import io.decostream.projector.WindowWeights;
import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.CrashGuard;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.Topics;
import io.decostream.schemas.WordGrounding;
import io.decostream.worker.WorkerDeadLetters.Source;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps each stream's window of frames and answers questions / writes captions over it.
 *
 * <p>Both inputs arrive here on the same partition for one stream: the tokens as the encoder wrote
 * them, the questions through the worker's repartition topic (see {@link WorkerTopology}), so a
 * question sees exactly the frames of its stream that came before it on its partition. A question
 * for a stream with no frames yet is answered at once with {@code error = "no frames yet for stream
 * X"} rather than held (an answer always comes back, and the asker can ask again, with a new id)
 * and also becomes a dead letter saying so. Generation failures become the answer's error too;
 * records that are not what their topic promises become dead letters, each logged.
 *
 * <p>A question (stream, id) already answered within {@link WorkerConfig#dedupRetention} is not
 * answered again (issue 18 point 1). A record whose generation was started {@link
 * WorkerConfig#crashAttemptLimit} times without finishing, because the process died, is
 * dead-lettered instead (issue 18 point 7; {@link CrashGuard}).
 */
final class WorkerProcessor implements Processor<byte[], byte[], String, Object> {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerProcessor.class);

  /**
   * Directory of the crash guard's files, beside the task directories: each start is forced to disk
   * (a model call runs for a whole generation, so one sync per question or caption costs little).
   */
  static final String ATTEMPTS_DIRECTORY = "llm-worker-attempts";

  private final WorkerConfig config;
  private final AnswerBackend backend;
  private final Topics topics;
  private final LiveWindows live; // the topology's, shared by its tasks; null when off
  private final Set<String> liveStreams = new HashSet<>(); // streams this task cached
  private ProcessorContext<String, Object> context;
  private KeyValueStore<String, byte[]> window;
  private KeyValueStore<String, Long> answered;
  private KeyValueStore<String, byte[]> pending;
  private CrashGuard guard;
  private final GenerationScheduler scheduler;
  private final StreamClock streamTime;

  /** Generations this task's scheduler finished, forwarded by the stream thread (issue 22). */
  private final ConcurrentLinkedQueue<GenerationScheduler.Done> finished =
      new ConcurrentLinkedQueue<>();

  /** How often the stream thread forwards finished generations (wall-clock punctuator). */
  static final Duration FORWARD_EVERY = Duration.ofMillis(20);

  /**
   * Generations submitted and not yet forwarded; the punctuator runs only while there are some (an
   * idle worker's tasks would otherwise have something to commit every interval).
   */
  private int inFlight;

  private Cancellable forwarder;

  /** Hands {@code job} to the scheduler, with the punctuator that will forward its result. */
  private void submit(PendingJob job) {
    inFlight++;
    if (scheduler.maxBatch() > 0) {
      ensureForwarder();
    }
    scheduler.submit(this, job, finished::add);
  }

  private void ensureForwarder() {
    if (forwarder == null) {
      forwarder =
          context.schedule(FORWARD_EVERY, PunctuationType.WALL_CLOCK_TIME, t -> forwardFinished());
    }
  }

  WorkerProcessor(WorkerConfig config, AnswerBackend backend, Topics topics) {
    this(config, backend, topics, null, new GenerationScheduler(backend, 0), new StreamClock());
  }

  /**
   * @param live the topology's live windows (null = every answer re-prefills its window)
   * @param scheduler the topology's generation scheduler (issue 22 point 3), shared by its tasks
   * @param streamTime the topology's stream time, advanced by every record processed
   */
  WorkerProcessor(
      WorkerConfig config,
      AnswerBackend backend,
      Topics topics,
      LiveWindows live,
      GenerationScheduler scheduler,
      StreamClock streamTime) {
    this.config = config;
    this.backend = backend;
    this.topics = topics;
    this.live = live;
    this.scheduler = scheduler;
    this.streamTime = streamTime;
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    this.window = context.getStateStore(WorkerTopology.WINDOW_STORE);
    this.answered = context.getStateStore(WorkerTopology.ANSWERED_STORE);
    this.guard =
        CrashGuard.open(
            CrashGuard.fileFor(
                context.stateDir().toPath(), ATTEMPTS_DIRECTORY, context.taskId().toString()),
            true);
    // Forget answered questions older than the retention, on the records' own time (see
    // WorkerConfig.dedupRetention): a few bytes each, one scan per retention / 24.
    long retention = config.dedupRetention().toMillis();
    context.schedule(
        Duration.ofMillis(Math.max(1_000, retention / 24)),
        PunctuationType.STREAM_TIME,
        this::forgetAnsweredBefore);
    // issue 22 point 3: generations finish on the scheduler's thread; the stream thread forwards
    // them (and deletes their pending entries) in its own transaction
    this.pending = context.getStateStore(WorkerTopology.PENDING_STORE);
    resubmitPending();
  }

  @Override
  public void close() {
    // results of this task's generations are no longer ours to write: the partition's next owner
    // resubmits them from the pending store
    scheduler.cancel(this);
    finished.clear();
    if (guard != null) {
      guard.close();
    }
    if (live != null) {
      // this task's streams may be processed elsewhere next: their windows would go stale
      live.drop(liveStreams);
      liveStreams.clear();
    }
  }

  /** Deletes dedup entries older than the retention at stream time {@code now}. */
  private void forgetAnsweredBefore(long now) {
    long oldest = now - config.dedupRetention().toMillis();
    List<String> expired = new ArrayList<>();
    try (KeyValueIterator<String, Long> it = answered.all()) {
      while (it.hasNext()) {
        KeyValue<String, Long> kv = it.next();
        if (kv.value == null || kv.value < oldest) {
          expired.add(kv.key);
        }
      }
    }
    expired.forEach(answered::delete);
    if (!expired.isEmpty()) {
      LOG.debug("forgot {} answered question(s) older than {}", expired.size(), oldest);
    }
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    long t0 = System.nanoTime();
    streamTime.observe(record.timestamp());
    RecordMetadata md = context.recordMetadata().orElse(null);
    String topic = md != null ? md.topic() : "";
    try {
      if (topic.equals(topics.tokens().name())) {
        processTokens(record, md);
      } else {
        // the only other input is the question repartition topic, fed by QuestionRouter
        processQuestion(record, md);
      }
      forwardFinished();
    } finally {
      // per-stage latency histogram (issue 21 point 3): captions and answers included
      StageMetrics.recordLatency(WorkerTopology.STAGE, t0);
    }
  }

  private void processTokens(Record<byte[], byte[]> record, RecordMetadata md) {
    String topic = topics.tokens().name();
    Source source = Source.of(md);
    FrameTokens t;
    try {
      t = topics.tokens().valueSerde().deserializer().deserialize(topic, record.value());
      if (t == null) {
        throw new IllegalArgumentException("empty value (tombstone)");
      }
      validate(t);
    } catch (RuntimeException e) {
      deadLetter(record, source, null, "not a valid FrameTokens record: " + e.getMessage(), e);
      return;
    }
    int w;
    try {
      w = config.windowFor(t.getGridHeight() * t.getGridWidth(), backend);
    } catch (RuntimeException e) {
      deadLetter(
          record,
          source,
          t.getStreamId(),
          "frame "
              + t.getFrameIndex()
              + " of stream "
              + t.getStreamId()
              + " cannot be used: "
              + e.getMessage(),
          e);
      return;
    }
    boolean captions =
        config.captionEvery() > 0 && (t.getFrameIndex() + 1) % config.captionEvery() == 0;
    CrashGuard.Coordinates at = coordinates(md);
    // a caption runs the model on a tokens record, and so does a live window's prefill of the
    // frame (issue 20 point 1; only a hot stream's with hot streams only, issue 22): only then can
    // it crash the process
    boolean runsModel = captions || (live != null && live.prefills(t.getStreamId()));
    if (runsModel && at != null) {
      int crashed = guard.enter(at);
      if (crashed >= config.crashAttemptLimit()) {
        guard.done(at);
        deadLetter(
            record,
            source,
            t.getStreamId(),
            crashedReason("frame " + t.getFrameIndex() + " of stream " + t.getStreamId(), crashed),
            null);
        return;
      }
    }
    boolean captionPending = addFrame(t, record.value(), w, captions, at);
    StageMetrics.frame(WorkerTopology.STAGE, t.getStreamId(), 1);
    if (runsModel && at != null && !captionPending) {
      guard.done(at); // else the caption's end releases it
    }
  }

  private void processQuestion(Record<byte[], byte[]> record, RecordMetadata md) {
    Source source = Source.original(record, md);
    Question q;
    try {
      q =
          topics
              .questions()
              .valueSerde()
              .deserializer()
              .deserialize(topics.questions().name(), record.value());
      if (q == null) {
        throw new IllegalArgumentException("empty value (tombstone)");
      }
    } catch (RuntimeException e) {
      // QuestionRouter let only Questions through; a record written to the repartition topic by
      // something else still ends up with its reason
      deadLetter(record, source, null, "not a Question record: " + e.getMessage(), e);
      return;
    }
    String dedupKey = dedupKey(q);
    Long before = answered.get(dedupKey);
    if (before != null && record.timestamp() - before < config.dedupRetention().toMillis()) {
      LOG.info(
          "question '{}' of stream {} ({}-{}@{}) was already answered; a duplicate is not answered"
              + " again",
          WorkerDeadLetters.oneLine(q.getQuestionId(), 200),
          WorkerDeadLetters.oneLine(q.getStreamId(), 200),
          source.topic(),
          source.partition(),
          source.offset());
      return;
    }
    if (pending.get(pendingKey(PendingWork.QUESTION, dedupKey)) != null) {
      LOG.info(
          "question '{}' of stream {} ({}-{}@{}) is being answered; a duplicate is not answered"
              + " again",
          WorkerDeadLetters.oneLine(q.getQuestionId(), 200),
          WorkerDeadLetters.oneLine(q.getStreamId(), 200),
          source.topic(),
          source.partition(),
          source.offset());
      return;
    }
    List<FrameTokens> frames = frames(q.getStreamId());
    if (frames.isEmpty()) {
      // An answer always comes back (the asker waits for one); the dead letter tells the operator.
      String error = "no frames yet for stream " + q.getStreamId();
      forwardAnswer(errorAnswer(q, error));
      deadLetter(
          record,
          source,
          q.getStreamId(),
          "question '"
              + q.getQuestionId()
              + "' asks about stream '"
              + q.getStreamId()
              + "', which has no frames here yet (unknown stream, or none encoded yet); answered"
              + " with the error '"
              + error
              + "'",
          null);
      answered.put(dedupKey, record.timestamp());
      return;
    }
    CrashGuard.Coordinates at = coordinates(md);
    if (at != null) {
      int crashed = guard.enter(at);
      if (crashed >= config.crashAttemptLimit()) {
        guard.done(at);
        String reason =
            crashedReason(
                "question '" + q.getQuestionId() + "' of stream " + q.getStreamId(), crashed);
        forwardAnswer(errorAnswer(q, "not answered: " + reason));
        deadLetter(record, source, q.getStreamId(), reason, null);
        answered.put(dedupKey, record.timestamp());
        return;
      }
    }
    enqueueAnswer(q, record.value(), frames, at, record.timestamp());
  }

  /**
   * Dedup key: the stream id, NUL, the question id. Stream ids have no control characters
   * (QuestionRouter refuses them), so the split is unambiguous.
   */
  static String dedupKey(Question q) {
    return q.getStreamId() + '\0' + q.getQuestionId();
  }

  private static CrashGuard.Coordinates coordinates(RecordMetadata md) {
    return md == null ? null : new CrashGuard.Coordinates(md.topic(), md.partition(), md.offset());
  }

  private String crashedReason(String what, int crashed) {
    return what
        + " crashed the worker "
        + crashed
        + " time(s): its processing started and the process died before it finished; not tried"
        + " again (WorkerConfig.crashAttemptLimit = "
        + config.crashAttemptLimit()
        + ")";
  }

  /** Checks a FrameTokens record before it enters a window: index, grid and tensor must agree. */
  private static void validate(FrameTokens t) {
    if (t.getFrameIndex() < 0) {
      throw new IllegalArgumentException("negative frame index " + t.getFrameIndex());
    }
    if (t.getGridHeight() < 1 || t.getGridWidth() < 1) {
      throw new IllegalArgumentException(
          "token grid " + t.getGridHeight() + "x" + t.getGridWidth() + " is empty");
    }
    List<Integer> shape = t.getTokens().getShape();
    if (shape.size() != 2
        || shape.get(0) != t.getGridHeight() * t.getGridWidth()
        || shape.get(1) < 1) {
      throw new IllegalArgumentException(
          "tokens tensor shape "
              + shape
              + " does not match the "
              + t.getGridHeight()
              + "x"
              + t.getGridWidth()
              + " grid (expected ["
              + t.getGridHeight() * t.getGridWidth()
              + ", Dv])");
    }
    Tensors.decode(t.getTokens()); // validates the data length against the shape
  }

  /**
   * Window store key: stream, then the zero-padded index, so a prefix scan returns frames in order.
   */
  private static String key(String stream, long frameIndex) {
    return String.format("%s|%019d", stream, frameIndex);
  }

  /** The stream's window keys, oldest first; exact even when a stream id contains '|'. */
  private List<KeyValue<String, byte[]>> windowEntries(String stream) {
    String prefix = stream + "|";
    int keyLength = prefix.length() + 19;
    List<KeyValue<String, byte[]>> out = new ArrayList<>();
    try (KeyValueIterator<String, byte[]> it = window.prefixScan(prefix, new StringSerializer())) {
      while (it.hasNext()) {
        KeyValue<String, byte[]> kv = it.next();
        // "a|b|0..." also starts with "a|": only keys of exactly prefix + 19 digits belong to
        // stream "a".
        if (kv.key.length() == keyLength) {
          out.add(kv);
        }
      }
    }
    return out;
  }

  /** Adds a frame and evicts everything older than the last W frames of its stream. */
  private boolean addFrame(
      FrameTokens t, byte[] raw, int w, boolean captions, CrashGuard.Coordinates at) {
    String stream = t.getStreamId();
    window.put(key(stream, t.getFrameIndex()), raw);
    List<KeyValue<String, byte[]>> entries = windowEntries(stream);
    for (int i = 0; i < entries.size() - w; i++) {
      window.delete(entries.get(i).key);
    }
    if (live != null) {
      // the frame is in the store whatever happens here: a failed live window only costs speed
      try {
        liveStreams.add(stream);
        live.onFrame(
            stream,
            new LiveWindows.Frame(t),
            t.getGridHeight() * t.getGridWidth(),
            w,
            () -> liveFrames(frames(stream)));
      } catch (RuntimeException e) {
        LOG.warn(
            "live window of stream {} could not take frame {}: {}",
            WorkerDeadLetters.oneLine(stream, 200),
            t.getFrameIndex(),
            e.toString());
      }
    }
    // Captions every N frames of stream time: after frames 0..N-1, N..2N-1, ...
    return captions && enqueueCaption(stream, at);
  }

  private static List<LiveWindows.Frame> liveFrames(List<FrameTokens> frames) {
    List<LiveWindows.Frame> out = new ArrayList<>(frames.size());
    frames.forEach(f -> out.add(new LiveWindows.Frame(f)));
    return out;
  }

  private List<FrameTokens> frames(String stream) {
    List<FrameTokens> out = new ArrayList<>();
    for (KeyValue<String, byte[]> kv : windowEntries(stream)) {
      out.add(
          topics
              .tokens()
              .valueSerde()
              .deserializer()
              .deserialize(topics.tokens().name(), kv.value));
    }
    // Frames of one prompt must share a token grid and width (a stream whose budget or model
    // changed mid-window): MixedGrids brings what it can to the latest frame's grid.
    return MixedGrids.toLatestGrid(out);
  }

  private Answer.Builder answerBuilder(Question q) {
    return Answer.newBuilder()
        .setQuestionId(q.getQuestionId())
        .setStreamId(q.getStreamId())
        .setQuestion(q.getText())
        .setText("")
        .setFirstFrameIndex(-1)
        .setLastFrameIndex(-1)
        .setFrameCount(0)
        .setTokensPerFrame(0)
        .setPromptTokens(0)
        .setGeneratedTokens(0);
  }

  private Answer errorAnswer(Question q, String error) {
    return answerBuilder(q).setError(error).setAnsweredAtMillis(System.currentTimeMillis()).build();
  }

  private void forwardAnswer(Answer a) {
    context.forward(
        new Record<String, Object>(a.getStreamId(), a, System.currentTimeMillis()),
        WorkerTopology.ANSWERS_SINK);
  }

  private Grounding ground(
      String stream,
      String refId,
      String kind,
      String prompt,
      String question,
      List<FrameTokens> frames,
      Generation g) {
    if (g.result.tokenIds().length == 0) {
      LOG.info(
          "nothing to ground for {} {} of stream {}: no tokens were generated",
          kind,
          refId,
          stream);
      return null;
    }
    try {
      long t0 = System.nanoTime();
      AnswerBackend.Explained e =
          backend.explain(g.features(), g.tokensPerFrame, prompt, g.result.tokenIds());
      List<QueryToPatch> qtp = new ArrayList<>(frames.size());
      for (FrameTokens f : frames) {
        qtp.add(queryToPatch(f));
      }
      FrameTokens first = frames.get(0);
      int gh = first.getSourceGridHeight();
      int gw = first.getSourceGridWidth();
      List<Long> indices = new ArrayList<>();
      frames.forEach(f -> indices.add(f.getFrameIndex()));
      List<WordGrounding> words = new ArrayList<>();
      for (int w = 0; w < e.words().size(); w++) {
        List<Integer> toks = new ArrayList<>();
        for (int i : e.wordTokens()[w]) {
          toks.add(i);
        }
        words.add(
            WordGrounding.newBuilder()
                .setWord(e.words().get(w))
                .setTokenIndices(toks)
                .setTextToPatch(
                    ByteBuffer.wrap(
                        Tensors.toF32(flatten(TextToPatch.perFrame(e.perWord()[w], qtp)))))
                .setTextToQuery(ByteBuffer.wrap(Tensors.toF32(e.perWord()[w])))
                .build());
      }
      Map<String, Double> timings = new LinkedHashMap<>();
      timings.put("explain", e.millis());
      StageMetrics.modelTime(WorkerTopology.STAGE, "grounding", e.millis());
      timings.put("total", (System.nanoTime() - t0) / 1e6);
      Grounding out =
          Grounding.newBuilder()
              .setRefId(refId)
              .setStreamId(stream)
              .setKind(kind)
              .setFrameIndices(indices)
              .setGridHeight(gh)
              .setGridWidth(gw)
              .setTextToPatch(
                  ByteBuffer.wrap(Tensors.toF32(flatten(TextToPatch.perFrame(e.mean(), qtp)))))
              .setTextToQuery(ByteBuffer.wrap(Tensors.toF32(e.mean())))
              .setText(g.result.text())
              .setQuestion(question)
              .setTokensPerFrame(g.tokensPerFrame)
              .setPooling(first.getPooling())
              .setTokens(e.tokens())
              .setWords(words)
              .setTimingsMillis(timings)
              .setProducedAtMillis(System.currentTimeMillis())
              .build();
      return out;
    } catch (RuntimeException ex) {
      LOG.warn("grounding of {} {} of stream {} failed: {}", kind, refId, stream, ex.toString());
      return null;
    }
  }

  /** Query-to-Patch of one frame from what its FrameTokens record says (spec §7.6). */
  static QueryToPatch queryToPatch(FrameTokens f) {
    int sh = f.getSourceGridHeight();
    int sw = f.getSourceGridWidth();
    int oh = f.getGridHeight();
    int ow = f.getGridWidth();
    switch (f.getPooling()) {
      case "none":
        return QueryToPatch.identity(sh * sw);
      case "avg":
        return QueryToPatch.adaptiveAvg(sh, sw, oh, ow);
      case "max":
        if (f.getQueryToPatch() != null) {
          return QueryToPatch.of(
              oh * ow,
              sh * sw,
              WindowWeights.expand(Tensors.decode(f.getQueryToPatch()), sh, sw, oh, ow));
        }
        // an encoder that did not ship the weights: the windows at least bound where relevance can
        // go
        return QueryToPatch.adaptiveAvg(sh, sw, oh, ow);
      default:
        throw new IllegalArgumentException(
            "unknown pooling '" + f.getPooling() + "' of frame " + f.getFrameIndex());
    }
  }

  private static float[] flatten(float[][] maps) {
    int n = 0;
    for (float[] m : maps) {
      n += m.length;
    }
    float[] out = new float[n];
    int o = 0;
    for (float[] m : maps) {
      System.arraycopy(m, 0, out, o, m.length);
      o += m.length;
    }
    return out;
  }

  // ------------------------------------------------------------ generations (issue 22 point 3)

  /** A record to forward: sink, key, value. */
  private record Out(String sink, String key, Object value) {}

  /**
   * A question or caption handed to the scheduler: its pending entry's key, what the stream thread
   * does once it finished (forward, remember it answered, release its crash-guard entry).
   */
  private abstract class PendingJob implements GenerationScheduler.Job {
    final String key;
    final PendingWork work;
    final String stream;

    /** The frames it answers over: pinned at enqueue, or the newest ones ({@link #repins}). */
    List<FrameTokens> frames;

    final boolean tryLive;
    final int tokensPerFrame;
    long startNanos;
    long startMillis;
    boolean fromLive;

    /** Why it is not run again (it crashed the worker too often), or null. */
    String crashed;

    PendingJob(
        String key, PendingWork work, String stream, List<FrameTokens> frames, boolean tryLive) {
      this.key = key;
      this.work = work;
      this.stream = stream;
      this.frames = frames;
      this.tryLive = tryLive;
      this.tokensPerFrame = frames.get(0).getGridHeight() * frames.get(0).getGridWidth();
    }

    abstract String prompt();

    abstract int maxNewTokens();

    abstract Sampling sampling();

    /**
     * Whether, when the live window slid past its pinned frames while it waited, it is answered
     * over the window's newest frames instead (a question: it is about the stream as it is), rather
     * than re-prefilling its own (a caption: it describes the frames up to the one it was made
     * for).
     */
    abstract boolean repins();

    /** The records of a finished generation (on the scheduler's thread). */
    abstract List<Out> outputs(Generation g);

    /** The records of a failed one (on the stream thread). */
    abstract List<Out> failed(RuntimeException e);

    /** The dedup entry written with the outputs, or null. */
    String answeredKey() {
      return null;
    }

    @Override
    public GenerationScheduler.Admitted admit() {
      startNanos = System.nanoTime();
      startMillis = System.currentTimeMillis();
      if (live != null && (tryLive || repins())) {
        try {
          AnswerBackend.Started s =
              tryLive
                  ? live.start(stream, indices(frames), prompt(), maxNewTokens(), sampling())
                  : null;
          // a question that waited: the window slid past its pinned frames, or the stream had no
          // window when it was asked (a cold stream made hot meanwhile, or a resubmitted question)
          if (s == null && repins()) {
            LiveWindows.Repinned r =
                live.startNewest(stream, tokensPerFrame, prompt(), maxNewTokens(), sampling());
            if (r != null) {
              List<FrameTokens> newest = new ArrayList<>(r.frames().size());
              r.frames().forEach(f -> newest.add(f.tokens()));
              frames = newest;
              s = r.started();
            }
          }
          if (s != null) {
            fromLive = true;
            return GenerationScheduler.Admitted.stepping(s);
          }
        } catch (RuntimeException e) {
          LOG.warn(
              "live window of stream {} could not start a generation, re-prefilling the window:"
                  + " {}",
              WorkerDeadLetters.oneLine(stream, 200),
              e.toString());
        }
      }
      // the full path over the same frames, run whole here (it gives the same tokens)
      List<float[]> features = new ArrayList<>(frames.size());
      for (FrameTokens f : frames) {
        features.add(Tensors.decode(f.getTokens()));
      }
      AnswerBackend.Generated g =
          backend.generate(features, tokensPerFrame, prompt(), maxNewTokens(), sampling());
      return GenerationScheduler.Admitted.finished(
          outputs(generation(g, tokensPerFrame, startNanos, frames, false, features)));
    }

    @Override
    public Object finish(AnswerBackend.Generated result) {
      return outputs(generation(result, tokensPerFrame, startNanos, frames, true, null));
    }
  }

  private final class AnswerJob extends PendingJob {
    final Question q;
    final Sampling sampling;
    final int maxNew;

    AnswerJob(String key, PendingWork work, Question q, List<FrameTokens> frames, boolean live) {
      super(key, work, q.getStreamId(), frames, live);
      this.q = q;
      this.maxNew =
          q.getMaxNewTokens() != null && q.getMaxNewTokens() > 0
              ? q.getMaxNewTokens()
              : config.maxNewTokens();
      this.sampling = config.sampling().override(q.getTemperature(), q.getTopP(), q.getSeed());
    }

    @Override
    String prompt() {
      return q.getText();
    }

    @Override
    int maxNewTokens() {
      return maxNew;
    }

    @Override
    Sampling sampling() {
      return sampling;
    }

    @Override
    boolean repins() {
      return true;
    }

    @Override
    String answeredKey() {
      return dedupKey(q);
    }

    @Override
    List<Out> outputs(Generation g) {
      Map<String, Double> timings = g.timings;
      timings.put("queue", (double) Math.max(0, startMillis - q.getAskedAtMillis()));
      // the frames named are the frames the prompt held (a live window may hold more or fewer
      // than the store's W while it slides)
      Answer a =
          answerBuilder(q)
              .setText(g.result.text())
              .setFirstFrameIndex(g.frames.get(0).getFrameIndex())
              .setLastFrameIndex(g.frames.get(g.frames.size() - 1).getFrameIndex())
              .setFrameCount(g.frames.size())
              .setTokensPerFrame(g.tokensPerFrame)
              .setPromptTokens(g.result.promptTokens())
              .setGeneratedTokens(g.result.generatedTokens())
              .setTimingsMillis(timings)
              .setTemperature(sampling.temperature())
              .setTopP(sampling.topP())
              .setSeed(sampling.seed())
              .setLiveWindow(g.live)
              .setAnsweredAtMillis(System.currentTimeMillis())
              .build();
      List<Out> out = new ArrayList<>(2);
      out.add(new Out(WorkerTopology.ANSWERS_SINK, a.getStreamId(), a));
      if (q.getWantGrounding()) {
        // R-GAE runs the full path over exactly the frames the answer used
        Grounding gr =
            ground(
                q.getStreamId(),
                q.getQuestionId(),
                "answer",
                q.getText(),
                q.getText(),
                g.frames,
                g);
        if (gr != null) {
          out.add(new Out(WorkerTopology.GROUNDING_SINK, q.getStreamId(), gr));
        }
      }
      return out;
    }

    @Override
    List<Out> failed(RuntimeException e) {
      Answer a =
          answerBuilder(q)
              .setError("generation failed: " + e.getMessage())
              .setAnsweredAtMillis(System.currentTimeMillis())
              .build();
      return List.of(new Out(WorkerTopology.ANSWERS_SINK, a.getStreamId(), a));
    }
  }

  private final class CaptionJob extends PendingJob {
    CaptionJob(
        String key, PendingWork work, String stream, List<FrameTokens> frames, boolean live) {
      super(key, work, stream, frames, live);
    }

    @Override
    String prompt() {
      return config.captionPrompt();
    }

    @Override
    int maxNewTokens() {
      return config.maxNewTokens();
    }

    @Override
    Sampling sampling() {
      // captions decode greedily: a caption is a summary, not a question asking to be surprised
      return Sampling.GREEDY;
    }

    @Override
    boolean repins() {
      return false;
    }

    @Override
    List<Out> outputs(Generation g) {
      FrameTokens first = g.frames.get(0);
      FrameTokens last = g.frames.get(g.frames.size() - 1);
      Caption c =
          Caption.newBuilder()
              .setCaptionId(stream + "@" + last.getFrameIndex())
              .setStreamId(stream)
              .setText(g.result.text())
              .setFirstFrameIndex(first.getFrameIndex())
              .setLastFrameIndex(last.getFrameIndex())
              .setFirstTimestampMicros(first.getTimestampMicros())
              .setLastTimestampMicros(last.getTimestampMicros())
              .setPromptTokens(g.result.promptTokens())
              .setGeneratedTokens(g.result.generatedTokens())
              .setTimingsMillis(g.timings)
              .setProducedAtMillis(System.currentTimeMillis())
              .build();
      List<Out> out = new ArrayList<>(2);
      out.add(new Out(WorkerTopology.CAPTIONS_SINK, stream, c));
      if (config.groundCaptions()) {
        Grounding gr =
            ground(stream, c.getCaptionId(), "caption", config.captionPrompt(), "", g.frames, g);
        if (gr != null) {
          out.add(new Out(WorkerTopology.GROUNDING_SINK, stream, gr));
        }
      }
      return out;
    }

    @Override
    List<Out> failed(RuntimeException e) {
      // The frame is already in the window; a failed caption is skipped (logged), the stream goes
      // on.
      LOG.warn(
          "caption of stream {} over frames {}..{} failed: {}",
          stream,
          frames.get(0).getFrameIndex(),
          frames.get(frames.size() - 1).getFrameIndex(),
          e.toString());
      return List.of();
    }
  }

  static String pendingKey(byte kind, String id) {
    return (char) kind + "\0" + id;
  }

  private static List<Long> indices(List<FrameTokens> frames) {
    List<Long> out = new ArrayList<>(frames.size());
    frames.forEach(f -> out.add(f.getFrameIndex()));
    return out;
  }

  /**
   * Pins the frames a question asked now is answered over, records it as pending (committed with
   * the question's offset) and hands it to the scheduler: the stream thread goes on at once.
   */
  private void enqueueAnswer(
      Question q, byte[] raw, List<FrameTokens> frames, CrashGuard.Coordinates at, long timestamp) {
    List<FrameTokens> used = frames;
    boolean fromLive = false;
    if (live != null) {
      List<FrameTokens> pinned = pin(q.getStreamId(), frames, true);
      if (pinned != null) {
        used = pinned;
        fromLive = true;
      }
    }
    PendingWork work =
        new PendingWork(
            PendingWork.QUESTION,
            at == null ? "" : at.topic(),
            at == null ? -1 : at.partition(),
            at == null ? -1 : at.offset(),
            timestamp,
            indices(used),
            raw);
    String key = pendingKey(PendingWork.QUESTION, dedupKey(q));
    pending.put(key, work.encode());
    submit(new AnswerJob(key, work, q, used, fromLive));
  }

  /**
   * The stream's live window brought up to date, as frames from the store; null = full path. {@code
   * question}: a question (it counts towards making the stream hot), not a caption.
   */
  private List<FrameTokens> pin(String stream, List<FrameTokens> frames, boolean question) {
    try {
      liveStreams.add(stream);
      int tpf = frames.get(0).getGridHeight() * frames.get(0).getGridWidth();
      List<LiveWindows.Frame> p =
          live.pin(stream, tpf, config.windowFor(tpf, backend), () -> liveFrames(frames), question);
      if (p == null) {
        return null;
      }
      List<FrameTokens> out = new ArrayList<>(p.size());
      p.forEach(f -> out.add(f.tokens()));
      return out;
    } catch (RuntimeException e) {
      LOG.warn(
          "live window of stream {} could not answer, re-prefilling the window: {}",
          WorkerDeadLetters.oneLine(stream, 200),
          e.toString());
      return null;
    }
  }

  /**
   * A caption over the stream's window up to the frame that triggered it: from the live window when
   * it holds exactly that (not while it rebuilds after a slide: it still holds the frames before
   * the slide), else the full path over the store's frames. Returns whether it is pending (it then
   * releases the frame's crash-guard entry when it ends).
   */
  private boolean enqueueCaption(String stream, CrashGuard.Coordinates at) {
    List<FrameTokens> frames = frames(stream);
    if (frames.isEmpty()) {
      return false;
    }
    List<FrameTokens> used = frames;
    boolean fromLive = false;
    if (live != null && !live.rebuilding(stream)) {
      List<FrameTokens> pinned = pin(stream, frames, false);
      if (pinned != null
          && pinned.get(pinned.size() - 1).getFrameIndex()
              == frames.get(frames.size() - 1).getFrameIndex()) {
        used = pinned;
        fromLive = true;
      }
    }
    long last = used.get(used.size() - 1).getFrameIndex();
    PendingWork work =
        new PendingWork(
            PendingWork.CAPTION,
            at == null ? "" : at.topic(),
            at == null ? -1 : at.partition(),
            at == null ? -1 : at.offset(),
            0,
            indices(used),
            new byte[0]);
    String key = pendingKey(PendingWork.CAPTION, stream + '\0' + last);
    pending.put(key, work.encode());
    submit(new CaptionJob(key, work, stream, used, fromLive));
    return true;
  }

  /**
   * Forwards what the scheduler finished for this task, each in this task's transaction with the
   * deletion of its pending entry (and, for an answer, its dedup entry).
   */
  private void forwardFinished() {
    GenerationScheduler.Done d;
    while ((d = finished.poll()) != null) {
      inFlight--;
      PendingJob job = (PendingJob) d.job();
      if (pending.get(job.key) == null) {
        continue; // already written (a resubmitted duplicate)
      }
      List<Out> out;
      if (job.crashed != null) {
        out = new ArrayList<>();
        if (job instanceof AnswerJob aj) {
          Answer a =
              answerBuilder(aj.q)
                  .setError("not answered: " + job.crashed)
                  .setAnsweredAtMillis(System.currentTimeMillis())
                  .build();
          out.add(new Out(WorkerTopology.ANSWERS_SINK, a.getStreamId(), a));
        }
        PendingWork w = job.work;
        DeadLetter dl =
            WorkerDeadLetters.of(
                new Source(w.topic(), w.partition(), w.offset()),
                null,
                w.payload(),
                job.stream,
                job.crashed,
                null);
        out.add(new Out(WorkerTopology.DEAD_LETTER_SINK, job.stream, dl));
        StageMetrics.deadLetter(WorkerTopology.STAGE, job.crashed);
      } else if (d.failure() != null) {
        out = job.failed(d.failure());
      } else {
        @SuppressWarnings("unchecked")
        List<Out> o = (List<Out>) d.outcome();
        out = o;
      }
      for (Out o : out) {
        context.forward(
            new Record<String, Object>(o.key(), o.value(), System.currentTimeMillis()), o.sink());
      }
      pending.delete(job.key);
      String answeredKey = job.answeredKey();
      if (answeredKey != null) {
        answered.put(answeredKey, job.work.timestamp());
      }
      CrashGuard.Coordinates at = job.work.coordinates();
      if (at != null) {
        guard.done(at);
      }
    }
    if (inFlight <= 0 && forwarder != null) {
      inFlight = 0;
      forwarder.cancel();
      forwarder = null;
    }
  }

  /**
   * On (re)start and after a rebalance: the generations this task's store still holds pending
   * (their inputs committed, their outputs not) are handed to the scheduler again, over the frames
   * they named where the window still holds them. The full path runs them (the live windows are
   * rebuilt as frames arrive), which gives the same tokens.
   */
  private void resubmitPending() {
    List<KeyValue<String, byte[]>> all = new ArrayList<>();
    try (KeyValueIterator<String, byte[]> it = pending.all()) {
      it.forEachRemaining(all::add);
    }
    for (KeyValue<String, byte[]> kv : all) {
      try {
        resubmit(kv.key, PendingWork.decode(kv.value));
      } catch (RuntimeException e) {
        LOG.warn("pending generation {} cannot be resubmitted, dropped: {}", kv.key, e.toString());
        pending.delete(kv.key);
      }
    }
    if (!all.isEmpty()) {
      LOG.info("resubmitted {} pending generation(s) of task {}", all.size(), context.taskId());
    }
  }

  private void resubmit(String key, PendingWork work) {
    Question q = null;
    String stream;
    if (work.kind() == PendingWork.QUESTION) {
      q =
          topics
              .questions()
              .valueSerde()
              .deserializer()
              .deserialize(topics.questions().name(), work.payload());
      stream = q.getStreamId();
    } else {
      int sep = key.indexOf('\0', 2);
      stream = key.substring(2, sep);
    }
    List<FrameTokens> frames = resubmitFrames(work, frames(stream));
    if (frames.isEmpty()) {
      throw new IllegalStateException("stream " + stream + " has no frames left");
    }
    CrashGuard.Coordinates at = work.coordinates();
    if (at != null) {
      int crashed = guard.enter(at);
      if (crashed >= config.crashAttemptLimit()) {
        String what =
            q != null
                ? "question '" + q.getQuestionId() + "' of stream " + stream
                : "caption of stream " + stream;
        String reason = crashedReason(what, crashed);
        PendingJob dead =
            q != null
                ? new AnswerJob(key, work, q, frames, false)
                : new CaptionJob(key, work, stream, frames, false);
        dead.crashed = reason;
        // handed back as a failure: the stream thread writes the error answer and the dead letter
        inFlight++;
        ensureForwarder();
        finished.add(
            new GenerationScheduler.Done(this, dead, null, new IllegalStateException(reason)));
        return;
      }
    }
    PendingJob job =
        q != null
            ? new AnswerJob(key, work, q, frames, false)
            : new CaptionJob(key, work, stream, frames, false);
    submit(job);
  }

  /**
   * The frames a resubmitted generation runs over: those it named, where the window still holds
   * them all. Where the window slid past some of them (generations queued behind a backlog when the
   * task moved), a question takes the window as it is now (its answer names the frames it used, and
   * the answered store keeps it single); a caption takes the named frames still there, never newer
   * ones: its range must stay its own, or it would repeat the caption of a later window.
   */
  static List<FrameTokens> resubmitFrames(PendingWork work, List<FrameTokens> window) {
    List<FrameTokens> named = new ArrayList<>();
    for (FrameTokens f : window) {
      if (work.frames().contains(f.getFrameIndex())) {
        named.add(f);
      }
    }
    if (named.size() == work.frames().size() || work.kind() == PendingWork.CAPTION) {
      return named;
    }
    return window;
  }

  private static final class Generation {
    final AnswerBackend.Generated result;
    final int tokensPerFrame;
    final Map<String, Double> timings;
    final List<FrameTokens> frames;
    final boolean live;
    private List<float[]> features;

    Generation(
        AnswerBackend.Generated result,
        int tokensPerFrame,
        Map<String, Double> timings,
        List<FrameTokens> frames,
        boolean live,
        List<float[]> features) {
      this.result = result;
      this.tokensPerFrame = tokensPerFrame;
      this.timings = timings;
      this.frames = frames;
      this.live = live;
      this.features = features;
    }

    List<float[]> features() {
      if (features == null) {
        List<float[]> out = new ArrayList<>(frames.size());
        frames.forEach(f -> out.add(Tensors.decode(f.getTokens())));
        features = out;
      }
      return features;
    }
  }

  /**
   * Generates over the stream's window: from its live window when there is one that can answer
   * (only the prompt's text is prefilled, issue 20 point 1), else by re-prefilling {@code frames}
   * (the reference path).
   */
  private static Generation generation(
      AnswerBackend.Generated g,
      int tpf,
      long t0,
      List<FrameTokens> frames,
      boolean live,
      List<float[]> features) {
    Map<String, Double> timings = new LinkedHashMap<>();
    timings.put("projector", g.projectorMillis());
    timings.put("prefill", g.prefillMillis());
    timings.put("decode", g.decodeMillis());
    timings.put("total", (System.nanoTime() - t0) / 1e6);
    // model time by part (issue 21 point 3)
    StageMetrics.modelTime(WorkerTopology.STAGE, "projector", g.projectorMillis());
    StageMetrics.modelTime(WorkerTopology.STAGE, "prefill", g.prefillMillis());
    StageMetrics.modelTime(WorkerTopology.STAGE, "decode", g.decodeMillis());
    return new Generation(g, tpf, timings, frames, live, features);
  }

  private void deadLetter(
      Record<byte[], byte[]> record,
      Source source,
      String streamId,
      String reason,
      Throwable cause) {
    DeadLetter dl =
        WorkerDeadLetters.of(source, record.key(), record.value(), streamId, reason, cause);
    context.forward(
        new Record<String, Object>(
            dl.getStreamId() != null ? dl.getStreamId() : "", dl, System.currentTimeMillis()),
        WorkerTopology.DEAD_LETTER_SINK);
    StageMetrics.deadLetter(WorkerTopology.STAGE, reason);
  }
}
