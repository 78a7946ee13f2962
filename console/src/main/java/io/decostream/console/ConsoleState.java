package io.decostream.console;

import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.WordGrounding;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import javax.imageio.ImageIO;

/**
 * What the console knows, in memory: per stream the recent frames (as PNG), the token grid of its
 * frames, captions, answers and the questions asked from the page; the recent grounding records and
 * dead letters. Bounded: old entries fall out, so a console runs for days on a busy cluster. Every
 * change returns the {@link Event} the page is told about. Thread-safe.
 */
public final class ConsoleState {

  /** A change the page is told about: an SSE event name and its JSON payload. */
  public record Event(String name, Map<String, Object> data) {}

  /** One frame kept for the page. */
  public record FrameImage(
      long index, long timestampMicros, int width, int height, byte[] png, long receivedAtMillis) {}

  /** How much is kept. */
  public record Limits(int framesPerStream, int itemsPerStream, int groundings, int deadLetters) {
    public Limits {
      if (framesPerStream < 1 || itemsPerStream < 1 || groundings < 1 || deadLetters < 1) {
        throw new IllegalArgumentException("every console limit must be at least 1");
      }
    }

    /** 64 frames and 50 answers/captions per stream, 50 grounding records, 100 dead letters. */
    public static Limits defaults() {
      return new Limits(64, 50, 50, 100);
    }
  }

  /** Frames shown in the window strip until an answer or caption says how many the worker uses. */
  static final int DEFAULT_WINDOW = 8;

  private final Limits limits;
  private final Map<String, StreamState> streams = new ConcurrentHashMap<>();
  private final LinkedHashMap<String, Grounding> groundings = new LinkedHashMap<>();
  private final Deque<Map<String, Object>> deadLetters = new ArrayDeque<>();

  public ConsoleState(Limits limits) {
    this.limits = java.util.Objects.requireNonNull(limits, "limits");
  }

  // ---------------------------------------------------------------- records in

  /** A frame from the frames topic; its image is kept as PNG (RGB24 frames are encoded). */
  public Event onFrame(Frame f) {
    byte[] png = png(f);
    FrameImage img =
        new FrameImage(
            f.getFrameIndex(),
            f.getTimestampMicros(),
            f.getWidth(),
            f.getHeight(),
            png,
            System.currentTimeMillis());
    StreamState s = stream(f.getStreamId());
    synchronized (s) {
      s.frames.put(img.index(), img);
      while (s.frames.size() > limits.framesPerStream()) {
        s.frames.pollFirstEntry();
      }
      s.framesSeen++;
      s.latestFrame = Math.max(s.latestFrame, img.index());
      s.updated = img.receivedAtMillis();
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stream", f.getStreamId());
    m.put("index", img.index());
    m.put("timestampMicros", img.timestampMicros());
    m.put("width", img.width());
    m.put("height", img.height());
    return new Event("frame", m);
  }

  /** A frame's tokens: the stream's current token grid (the budget section's real figure). */
  public Event onTokens(FrameTokens t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stream", t.getStreamId());
    m.put("frameIndex", t.getFrameIndex());
    m.put("tokensPerFrame", t.getGridHeight() * t.getGridWidth());
    m.put("gridHeight", t.getGridHeight());
    m.put("gridWidth", t.getGridWidth());
    m.put("sourceGridHeight", t.getSourceGridHeight());
    m.put("sourceGridWidth", t.getSourceGridWidth());
    m.put("pooling", t.getPooling());
    m.put("modelId", t.getModelId());
    m.put("stageMillis", new TreeMap<>(t.getStageMillis()));
    StreamState s = stream(t.getStreamId());
    synchronized (s) {
      if (s.tokens == null
          || t.getFrameIndex() >= ((Number) s.tokens.get("frameIndex")).longValue()) {
        s.tokens = m;
      }
      s.tokenHistory.addLast(
          Map.of(
              "frameIndex",
              t.getFrameIndex(),
              "tokensPerFrame",
              m.get("tokensPerFrame"),
              "arrivedAtMillis",
              System.currentTimeMillis()));
      trim(s.tokenHistory, limits.framesPerStream());
      s.updated = System.currentTimeMillis();
    }
    return new Event("tokens", m);
  }

  public Event onCaption(Caption c) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stream", c.getStreamId());
    m.put("captionId", c.getCaptionId());
    m.put("text", c.getText());
    m.put("firstFrame", c.getFirstFrameIndex());
    m.put("lastFrame", c.getLastFrameIndex());
    m.put("producedAtMillis", c.getProducedAtMillis());
    StreamState s = stream(c.getStreamId());
    synchronized (s) {
      s.captions.addLast(m);
      trim(s.captions, limits.itemsPerStream());
      s.window = (int) Math.max(1, c.getLastFrameIndex() - c.getFirstFrameIndex() + 1);
      s.updated = System.currentTimeMillis();
    }
    return new Event("caption", m);
  }

  public Event onAnswer(Answer a) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stream", a.getStreamId());
    m.put("questionId", a.getQuestionId());
    m.put("question", a.getQuestion());
    m.put("text", a.getText());
    m.put("error", a.getError());
    m.put("firstFrame", a.getFirstFrameIndex());
    m.put("lastFrame", a.getLastFrameIndex());
    m.put("frameCount", a.getFrameCount());
    m.put("tokensPerFrame", a.getTokensPerFrame());
    m.put("promptTokens", a.getPromptTokens());
    m.put("generatedTokens", a.getGeneratedTokens());
    m.put("timingsMillis", new TreeMap<>(a.getTimingsMillis()));
    m.put("answeredAtMillis", a.getAnsweredAtMillis());
    synchronized (groundings) {
      m.put("grounding", groundings.containsKey(a.getQuestionId()));
    }
    // m is shared with the page's views from here on: never changed again
    StreamState s = stream(a.getStreamId());
    synchronized (s) {
      s.pending.remove(a.getQuestionId());
      s.answers.removeIf(x -> a.getQuestionId().equals(x.get("questionId")));
      s.answers.addLast(m);
      trim(s.answers, limits.itemsPerStream());
      if (a.getFrameCount() > 0) {
        s.window = a.getFrameCount();
      }
      s.updated = System.currentTimeMillis();
    }
    return new Event("answer", m);
  }

  public Event onGrounding(Grounding g) {
    synchronized (groundings) {
      groundings.remove(g.getRefId());
      groundings.put(g.getRefId(), g);
      Iterator<String> it = groundings.keySet().iterator();
      while (groundings.size() > limits.groundings() && it.hasNext()) {
        it.next();
        it.remove();
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stream", g.getStreamId());
    m.put("refId", g.getRefId());
    m.put("kind", g.getKind());
    m.put("frames", g.getFrameIndices().size());
    m.put("words", g.getWords().stream().map(WordGrounding::getWord).toList());
    return new Event("grounding", m);
  }

  public Event onDeadLetter(DeadLetter d) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stream", d.getStreamId());
    m.put("stage", d.getStage());
    m.put("sourceTopic", d.getSourceTopic());
    m.put("reason", d.getReason());
    m.put("exceptionClass", d.getExceptionClass());
    m.put("failedAtMillis", d.getFailedAtMillis());
    synchronized (deadLetters) {
      deadLetters.addLast(m);
      trim(deadLetters, limits.deadLetters());
    }
    return new Event("deadletter", m);
  }

  /** A question the page asked (produced to the questions topic), shown until its answer comes. */
  public Event onAsked(Question q) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stream", q.getStreamId());
    m.put("questionId", q.getQuestionId());
    m.put("question", q.getText());
    m.put("grounding", q.getWantGrounding());
    m.put("askedAtMillis", q.getAskedAtMillis());
    StreamState s = stream(q.getStreamId());
    synchronized (s) {
      s.pending.put(q.getQuestionId(), m);
      while (s.pending.size() > limits.itemsPerStream()) {
        s.pending.remove(s.pending.keySet().iterator().next());
      }
    }
    return new Event("asked", m);
  }

  // ---------------------------------------------------------------- views out

  /** The streams, sorted by id, each as a summary. */
  public List<Map<String, Object>> streams() {
    List<Map<String, Object>> out = new ArrayList<>();
    streams.values().stream()
        .sorted(Comparator.comparing(s -> s.id))
        .forEach(
            s -> {
              synchronized (s) {
                out.add(summary(s));
              }
            });
    return out;
  }

  /**
   * Per stream, for the health panel: frames/s over the last 30 s of arrivals, and the newest
   * frame's latency through the pipeline (its FrameTokens' stageMillis are the wall-clock times at
   * which ingest, frames and encoder emitted it: the first to the last).
   */
  public List<Map<String, Object>> streamHealth() {
    List<Map<String, Object>> out = new ArrayList<>();
    long now = System.currentTimeMillis();
    for (Map<String, Object> view : streams()) {
      String id = (String) view.get("id");
      StreamState s = streams.get(id);
      if (s == null) {
        continue;
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("stream", id);
      synchronized (s) {
        long recent =
            s.tokenHistory.stream()
                .filter(h -> now - ((Number) h.get("arrivedAtMillis")).longValue() <= 30_000)
                .count();
        m.put("framesPerSecond", recent / 30.0);
        m.put("latencyMillis", latencyMillis(s.tokens));
      }
      out.add(m);
    }
    return out;
  }

  /** First to last stage time of a tokens view's stageMillis; -1 when there are fewer than two. */
  static long latencyMillis(Map<String, Object> tokens) {
    if (tokens == null) {
      return -1;
    }
    Map<?, ?> stages = (Map<?, ?>) tokens.get("stageMillis");
    if (stages == null || stages.size() < 2) {
      return -1;
    }
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (Object v : stages.values()) {
      long t = ((Number) v).longValue();
      min = Math.min(min, t);
      max = Math.max(max, t);
    }
    return max - min;
  }

  public boolean hasStream(String id) {
    return streams.containsKey(id);
  }

  /** Everything the page shows of one stream; empty when the console has seen nothing of it. */
  public Optional<Map<String, Object>> streamView(String id) {
    StreamState s = streams.get(id);
    if (s == null) {
      return Optional.empty();
    }
    Map<String, Object> m;
    synchronized (s) {
      m = summary(s);
      List<Map<String, Object>> frames = new ArrayList<>();
      for (FrameImage f : s.frames.values()) {
        frames.add(
            Map.of(
                "index", f.index(),
                "timestampMicros", f.timestampMicros(),
                "width", f.width(),
                "height", f.height()));
      }
      m.put("frames", frames);
      m.put("window", windowIndices(s));
      m.put("captions", new ArrayList<>(s.captions));
      List<Map<String, Object>> answers = new ArrayList<>();
      for (Map<String, Object> a : s.answers) {
        Map<String, Object> copy = new LinkedHashMap<>(a);
        synchronized (groundings) {
          copy.put("grounding", groundings.containsKey(String.valueOf(a.get("questionId"))));
        }
        answers.add(copy);
      }
      m.put("answers", answers);
      m.put("pending", new ArrayList<>(s.pending.values()));
      m.put("tokenHistory", new ArrayList<>(s.tokenHistory));
    }
    List<Map<String, Object>> dead = new ArrayList<>();
    synchronized (deadLetters) {
      for (Map<String, Object> d : deadLetters) {
        if (id.equals(d.get("stream")) || d.get("stream") == null) {
          dead.add(d);
        }
      }
    }
    m.put("deadLetters", dead);
    return Optional.of(m);
  }

  /** The kept frame of a stream; index -1 for its latest. */
  public Optional<FrameImage> frame(String stream, long index) {
    StreamState s = streams.get(stream);
    if (s == null) {
      return Optional.empty();
    }
    synchronized (s) {
      if (s.frames.isEmpty()) {
        return Optional.empty();
      }
      return Optional.ofNullable(index < 0 ? s.frames.lastEntry().getValue() : s.frames.get(index));
    }
  }

  /**
   * A grounding record as the page draws it: per frame its Text-to-Patch map over the patch grid
   * (the answer's mean and per word), raw as the worker wrote them (spec §7.5: normalise for
   * display only, which the page does per strip, min–max, as the cli's PNGs do).
   */
  public Optional<Map<String, Object>> grounding(String refId) {
    Grounding g;
    synchronized (groundings) {
      g = groundings.get(refId);
    }
    if (g == null) {
      return Optional.empty();
    }
    int n = g.getFrameIndices().size();
    int cells = g.getGridHeight() * g.getGridWidth();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("refId", g.getRefId());
    m.put("stream", g.getStreamId());
    m.put("kind", g.getKind());
    m.put("question", g.getQuestion());
    m.put("text", g.getText());
    m.put("frameIndices", g.getFrameIndices());
    m.put("gridHeight", g.getGridHeight());
    m.put("gridWidth", g.getGridWidth());
    m.put("tokensPerFrame", g.getTokensPerFrame());
    m.put("pooling", g.getPooling());
    m.put("maps", maps(Tensors.bytesOf(g.getTextToPatch()), n, cells, "textToPatch"));
    List<Map<String, Object>> words = new ArrayList<>();
    for (WordGrounding w : g.getWords()) {
      words.add(
          Map.of(
              "word",
              w.getWord(),
              "maps",
              maps(Tensors.bytesOf(w.getTextToPatch()), n, cells, "word '" + w.getWord() + "'")));
    }
    m.put("words", words);
    m.put("timingsMillis", new TreeMap<>(g.getTimingsMillis()));
    return Optional.of(m);
  }

  // ---------------------------------------------------------------- internals

  /**
   * The side of the stream's vision patch grid, from its latest FrameTokens (the grid a budget may
   * not exceed), or 0 when no tokens were seen for it yet.
   */
  public int patchGrid(String id) {
    StreamState s = streams.get(id == null ? "" : id);
    if (s == null) {
      return 0;
    }
    synchronized (s) {
      if (s.tokens == null) {
        return 0;
      }
      return Math.min(
          ((Number) s.tokens.get("sourceGridHeight")).intValue(),
          ((Number) s.tokens.get("sourceGridWidth")).intValue());
    }
  }

  private StreamState stream(String id) {
    String key = id == null ? "" : id;
    return streams.computeIfAbsent(key, StreamState::new);
  }

  private Map<String, Object> summary(StreamState s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", s.id);
    m.put("latestFrame", s.latestFrame);
    m.put("framesSeen", s.framesSeen);
    m.put("answers", s.answers.size());
    m.put("captions", s.captions.size());
    m.put("windowFrames", s.window);
    m.put("tokens", s.tokens);
    m.put("updatedAtMillis", s.updated);
    return m;
  }

  private static List<Long> windowIndices(StreamState s) {
    List<Long> out = new ArrayList<>();
    for (Long i : s.frames.descendingKeySet()) {
      if (out.size() >= s.window || i <= s.latestFrame - s.window) {
        break;
      }
      out.add(0, i);
    }
    return out;
  }

  /** [frames][gridHeight*gridWidth] floats of F32 bytes; IllegalArgumentException on a bad size. */
  static float[][] maps(byte[] f32, int frames, int cells, String what) {
    float[] all = Tensors.fromF32(f32);
    if (all.length != (long) frames * cells) {
      throw new IllegalArgumentException(
          what + " holds " + all.length + " values, expected " + frames + " x " + cells);
    }
    float[][] out = new float[frames][];
    for (int i = 0; i < frames; i++) {
      out[i] = java.util.Arrays.copyOfRange(all, i * cells, (i + 1) * cells);
    }
    return out;
  }

  static byte[] png(Frame f) {
    byte[] data = Tensors.bytesOf(f.getData());
    if (f.getFormat() == FrameFormat.PNG) {
      return data;
    }
    int w = f.getWidth();
    int h = f.getHeight();
    if (w <= 0 || h <= 0 || data.length != (long) w * h * 3) {
      throw new IllegalArgumentException(
          "frame "
              + f.getFrameIndex()
              + " of "
              + f.getStreamId()
              + ": RGB24 data has "
              + data.length
              + " bytes for "
              + w
              + "x"
              + h);
    }
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int i = 0, p = 0; i < w * h; i++, p += 3) {
      img.setRGB(
          i % w, i / w, ((data[p] & 255) << 16) | ((data[p + 1] & 255) << 8) | (data[p + 2] & 255));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(img, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void trim(Deque<?> d, int max) {
    while (d.size() > max) {
      d.pollFirst();
    }
  }

  private static final class StreamState {
    final String id;
    final java.util.TreeMap<Long, FrameImage> frames = new java.util.TreeMap<>();
    final Deque<Map<String, Object>> captions = new ArrayDeque<>();
    final Deque<Map<String, Object>> answers = new ArrayDeque<>();
    final LinkedHashMap<String, Map<String, Object>> pending = new LinkedHashMap<>();
    final Deque<Map<String, Object>> tokenHistory = new ArrayDeque<>();
    Map<String, Object> tokens;
    long latestFrame = -1;
    long framesSeen;
    int window = DEFAULT_WINDOW;
    long updated;

    StreamState(String id) {
      this.id = id;
    }
  }
}
