package io.decostream.worker;

import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.nn.rgae.TextToPatch;
import io.decostream.projector.WindowWeights;
import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.DeadLetters;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.Topics;
import io.decostream.schemas.WordGrounding;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
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
 * <p>Both inputs arrive here (tokens and questions are co-partitioned by stream id), so a question
 * sees exactly the frames of its stream that came before it on its partition. A question for a
 * stream with no frames yet is answered at once with {@code error = "no frames yet for stream X"}
 * rather than held: an answer always comes back, and the asker can ask again. Generation failures
 * become the answer's error too; records that are not what their topic promises become dead
 * letters.
 */
final class WorkerProcessor implements Processor<byte[], byte[], String, Object> {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerProcessor.class);
  private final WorkerConfig config;
  private final AnswerBackend backend;
  private final Topics topics;
  private ProcessorContext<String, Object> context;
  private KeyValueStore<String, byte[]> window;

  WorkerProcessor(WorkerConfig config, AnswerBackend backend, Topics topics) {
    this.config = config;
    this.backend = backend;
    this.topics = topics;
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
    this.window = context.getStateStore(WorkerTopology.WINDOW_STORE);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    RecordMetadata md = context.recordMetadata().orElse(null);
    String topic = md != null ? md.topic() : "";
    if (topic.equals(topics.questions().name())) {
      Question q;
      try {
        q = topics.questions().valueSerde().deserializer().deserialize(topic, record.value());
        if (q == null) {
          throw new IllegalArgumentException("empty value (tombstone)");
        }
      } catch (RuntimeException e) {
        deadLetter(record, md, "not a Question record: " + e.getMessage(), e);
        return;
      }
      // a question meets its stream's window only on the partition of the stream's key: a question
      // keyed otherwise
      // would find no frames (or another stream's), so it is refused with the reason instead
      String key =
          record.key() == null
              ? null
              : new String(record.key(), java.nio.charset.StandardCharsets.UTF_8);
      if (!q.getStreamId().equals(key)) {
        deadLetter(
            record,
            md,
            "question "
                + q.getQuestionId()
                + " is keyed "
                + (key == null ? "with no key" : "'" + key + "'")
                + " but asks about stream '"
                + q.getStreamId()
                + "': questions must be keyed by their stream id",
            null);
        return;
      }
      answer(q);
    } else {
      FrameTokens t;
      try {
        t = topics.tokens().valueSerde().deserializer().deserialize(topic, record.value());
        if (t == null) {
          throw new IllegalArgumentException("empty value (tombstone)");
        }
        validate(t);
      } catch (RuntimeException e) {
        deadLetter(record, md, "not a valid FrameTokens record: " + e.getMessage(), e);
        return;
      }
      int w;
      try {
        w = config.windowFor(t.getGridHeight() * t.getGridWidth(), backend);
      } catch (RuntimeException e) {
        deadLetter(
            record,
            md,
            "frame "
                + t.getFrameIndex()
                + " of stream "
                + t.getStreamId()
                + " cannot be used: "
                + e.getMessage(),
            e);
        return;
      }
      addFrame(t, record.value(), w);
    }
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
  private void addFrame(FrameTokens t, byte[] raw, int w) {
    String stream = t.getStreamId();
    window.put(key(stream, t.getFrameIndex()), raw);
    List<KeyValue<String, byte[]>> entries = windowEntries(stream);
    for (int i = 0; i < entries.size() - w; i++) {
      window.delete(entries.get(i).key);
    }
    // Captions every N frames of stream time: after frames 0..N-1, N..2N-1, ...
    if (config.captionEvery() > 0 && (t.getFrameIndex() + 1) % config.captionEvery() == 0) {
      caption(stream);
    }
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
    // Frames of one prompt must share a token grid and width (a stream whose compressor or model
    // changed
    // mid-window): keep the newest run of frames shaped like the latest one.
    if (!out.isEmpty()) {
      FrameTokens last = out.get(out.size() - 1);
      int i = out.size() - 1;
      while (i > 0
          && out.get(i - 1).getGridHeight() == last.getGridHeight()
          && out.get(i - 1).getGridWidth() == last.getGridWidth()
          && out.get(i - 1).getTokens().getShape().equals(last.getTokens().getShape())) {
        i--;
      }
      out = out.subList(i, out.size());
    }
    return out;
  }

  private void answer(Question q) {
    long start = System.currentTimeMillis();
    List<FrameTokens> frames = frames(q.getStreamId());
    Answer.Builder a =
        Answer.newBuilder()
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
    Generation g = null;
    if (frames.isEmpty()) {
      // An answer always comes back: here it says why there is none.
      a.setError("no frames yet for stream " + q.getStreamId());
    } else {
      int maxNew =
          q.getMaxNewTokens() != null && q.getMaxNewTokens() > 0
              ? q.getMaxNewTokens()
              : config.maxNewTokens();
      try {
        g = generate(frames, q.getText(), maxNew);
        Map<String, Double> timings = g.timings;
        timings.put("queue", (double) Math.max(0, start - q.getAskedAtMillis()));
        a.setText(g.result.text())
            .setFirstFrameIndex(frames.get(0).getFrameIndex())
            .setLastFrameIndex(frames.get(frames.size() - 1).getFrameIndex())
            .setFrameCount(frames.size())
            .setTokensPerFrame(g.tokensPerFrame)
            .setPromptTokens(g.result.promptTokens())
            .setGeneratedTokens(g.result.generatedTokens())
            .setTimingsMillis(timings);
      } catch (RuntimeException e) {
        a.setError("generation failed: " + e.getMessage());
        g = null;
      }
    }
    a.setAnsweredAtMillis(System.currentTimeMillis());
    context.forward(
        new Record<String, Object>(q.getStreamId(), a.build(), System.currentTimeMillis()),
        WorkerTopology.ANSWERS_SINK);
    if (q.getWantGrounding() && g != null) {
      ground(q.getStreamId(), q.getQuestionId(), "answer", q.getText(), q.getText(), frames, g);
    }
  }

  /**
   * R-GAE maps of a generated text (issue 4, spec §7.5–§7.6) on the grounding topic: the backend's
   * Text-to-Query rows averaged over the tokens and per word, split per frame and mapped through
   * each frame's Query-to-Patch matrix (avg windows / identity from the grids, max from the weights
   * the encoder shipped). Best effort: a failure is logged, the answer is already out.
   */
  private void ground(
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
      return;
    }
    try {
      long t0 = System.nanoTime();
      AnswerBackend.Explained e =
          backend.explain(g.features, g.tokensPerFrame, prompt, g.result.tokenIds());
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
      context.forward(
          new Record<String, Object>(stream, out, System.currentTimeMillis()),
          WorkerTopology.GROUNDING_SINK);
    } catch (RuntimeException ex) {
      LOG.warn("grounding of {} {} of stream {} failed: {}", kind, refId, stream, ex.toString());
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

  private void caption(String stream) {
    List<FrameTokens> frames = frames(stream);
    if (frames.isEmpty()) {
      return;
    }
    Generation g;
    try {
      g = generate(frames, config.captionPrompt(), config.maxNewTokens());
    } catch (RuntimeException e) {
      // The frame is already in the window; a failed caption is skipped (logged), the stream goes
      // on.
      LOG.warn(
          "caption of stream {} over frames {}..{} failed: {}",
          stream,
          frames.get(0).getFrameIndex(),
          frames.get(frames.size() - 1).getFrameIndex(),
          e.toString());
      return;
    }
    FrameTokens first = frames.get(0);
    FrameTokens last = frames.get(frames.size() - 1);
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
    context.forward(
        new Record<String, Object>(stream, c, System.currentTimeMillis()),
        WorkerTopology.CAPTIONS_SINK);
    if (config.groundCaptions()) {
      ground(stream, c.getCaptionId(), "caption", config.captionPrompt(), "", frames, g);
    }
  }

  private record Generation(
      AnswerBackend.Generated result,
      int tokensPerFrame,
      Map<String, Double> timings,
      List<float[]> features) {}

  private Generation generate(List<FrameTokens> frames, String prompt, int maxNewTokens) {
    long t0 = System.nanoTime();
    List<float[]> features = new ArrayList<>(frames.size());
    for (FrameTokens f : frames) {
      features.add(Tensors.decode(f.getTokens()));
    }
    int tpf = frames.get(0).getGridHeight() * frames.get(0).getGridWidth();
    AnswerBackend.Generated g = backend.generate(features, tpf, prompt, maxNewTokens);
    Map<String, Double> timings = new LinkedHashMap<>();
    timings.put("projector", g.projectorMillis());
    timings.put("prefill", g.prefillMillis());
    timings.put("decode", g.decodeMillis());
    timings.put("total", (System.nanoTime() - t0) / 1e6);
    return new Generation(g, tpf, timings, features);
  }

  private void deadLetter(
      Record<byte[], byte[]> record, RecordMetadata md, String reason, Throwable cause) {
    DeadLetter dl =
        DeadLetters.of(
            WorkerTopology.STAGE,
            md != null ? md.topic() : "",
            md != null ? md.partition() : -1,
            md != null ? md.offset() : -1,
            record.key(),
            record.value(),
            reason,
            cause);
    context.forward(
        new Record<String, Object>(
            dl.getStreamId() != null ? dl.getStreamId() : "", dl, System.currentTimeMillis()),
        WorkerTopology.DEAD_LETTER_SINK);
  }
}
