package io.decostream.console;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.schemas.AvroSerde;
import io.decostream.schemas.BudgetControl;
import io.decostream.schemas.BudgetSpec;
import io.decostream.schemas.KafkaLimits;
import io.decostream.schemas.Question;
import io.decostream.schemas.TopicNames;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live web console (issue 21 point 1): reads the output topics into {@link ConsoleState},
 * serves the page (HTML, JS and CSS bundled in this jar: nothing from a CDN, it works offline) and
 * its JSON API, pushes changes as server-sent events, and produces the page's questions to the
 * questions topic keyed by stream id.
 *
 * <pre>
 * GET  /                                       the page
 * GET  /api/streams                            the streams, as summaries
 * GET  /api/streams/{id}                       one stream: frames kept, window, captions, answers, token grid
 * GET  /api/streams/{id}/frame/latest.png      its latest frame
 * GET  /api/streams/{id}/frame/{index}.png     a kept frame
 * GET  /api/grounding/{refId}                  an answer's R-GAE maps (per frame, per word) for the heatmaps
 * GET  /api/events                             server-sent events: frame, tokens, caption, answer, grounding, ...
 * POST /api/ask (application/json)             {"stream", "question", "grounding"}: 202 with the question id,
 *                                              400 with {"error"} for an empty or oversized question
 * POST /api/streams/{id}/budget (application/json)  {"budget": "avg:6"}: a BudgetControl to the control
 *                                              topic keyed by the stream id, 202 with the budget and its
 *                                              tokens per frame; 400 with {"error"} for a budget the
 *                                              encoder would refuse (BudgetSpec)
 * </pre>
 */
public final class ConsoleServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConsoleServer.class);

  /** Largest request body read (a question is at most 4096 bytes; JSON escaping adds some). */
  static final int MAX_BODY_BYTES = 64 * 1024;

  private static final String WEB = "/io/decostream/console/web/";
  private static final Map<String, String> ASSETS =
      Map.of(
          "/", "index.html",
          "/index.html", "index.html",
          "/app.js", "app.js",
          "/heatmap.js", "heatmap.js",
          "/app.css", "app.css");

  /**
   * What the console reads and where it listens.
   *
   * @param bootstrap Kafka bootstrap servers
   * @param topics the pipeline's topic names
   * @param host address to bind (127.0.0.1: this machine only; 0.0.0.0: every interface)
   * @param port TCP port, 0 for a free one
   * @param clientProperties extra Kafka client properties (security, timeouts), given to the
   *     console's consumer and producer
   * @param historyPerPartition records read back from the end of each partition at start
   * @param limits how much the console keeps in memory
   */
  public record Config(
      String bootstrap,
      TopicNames topics,
      String host,
      int port,
      Map<String, String> clientProperties,
      int historyPerPartition,
      ConsoleState.Limits limits) {
    public Config {
      if (bootstrap == null || bootstrap.isBlank()) {
        throw new IllegalArgumentException("the console needs Kafka bootstrap servers");
      }
      Objects.requireNonNull(topics, "topics");
      if (host == null || host.isBlank()) {
        throw new IllegalArgumentException("the console needs an address to bind, e.g. 127.0.0.1");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException(
            "web port " + port + " is not a TCP port (0..65535, 0 = a free one)");
      }
      clientProperties = Map.copyOf(Objects.requireNonNull(clientProperties, "clientProperties"));
      if (historyPerPartition < 0) {
        throw new IllegalArgumentException("history per partition must be 0 or more");
      }
      Objects.requireNonNull(limits, "limits");
    }

    /**
     * Bound to 127.0.0.1, the default limits and a history of 64 records per partition (16 s of a 1
     * fps camera and then some, even with several streams on one partition).
     */
    public static Config of(String bootstrap, TopicNames topics, int port) {
      return new Config(
          bootstrap, topics, "127.0.0.1", port, Map.of(), 64, ConsoleState.Limits.defaults());
    }

    public Config withHost(String h) {
      return new Config(bootstrap, topics, h, port, clientProperties, historyPerPartition, limits);
    }

    public Config withClientProperties(Map<String, String> p) {
      return new Config(bootstrap, topics, host, port, p, historyPerPartition, limits);
    }
  }

  private final Config config;
  private final ObjectMapper json = new ObjectMapper();
  private final ConsoleState state;
  private final EventHub hub;
  private final KafkaProducer<String, Question> producer;
  private final KafkaProducer<String, BudgetControl> budgetProducer;
  private final TopicTail tail;
  private final StageHealth health;
  private final Server server;
  private final ServerConnector connector;

  private ConsoleServer(Config config) throws Exception {
    this.config = config;
    this.state = new ConsoleState(config.limits());
    this.hub = new EventHub(json);
    Map<String, Object> p = new HashMap<>(KafkaLimits.producerOverrides());
    p.putAll(config.clientProperties());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrap());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "deco-console-questions");
    // a page waits for its POST: say within seconds that the cluster or topic is not there
    p.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
    this.producer =
        new KafkaProducer<>(p, new StringSerializer(), AvroSerde.of(Question.class).serializer());
    Map<String, Object> bp = new HashMap<>(p);
    bp.put(ProducerConfig.CLIENT_ID_CONFIG, p.get(ProducerConfig.CLIENT_ID_CONFIG) + "-budgets");
    this.budgetProducer =
        new KafkaProducer<>(
            bp, new StringSerializer(), AvroSerde.of(BudgetControl.class).serializer());
    this.health = new StageHealth(config.bootstrap(), config.clientProperties());
    QueuedThreadPool pool = new QueuedThreadPool(64, 4);
    pool.setName("deco-console-http");
    pool.setDaemon(true);
    server = new Server(pool);
    connector = new ServerConnector(server);
    connector.setHost(config.host());
    connector.setPort(config.port());
    server.addConnector(connector);
    server.setHandler(new Routes());
    server.setStopTimeout(2_000);
    TopicTail started = null;
    try {
      server.start();
      started =
          new TopicTail(
              config.bootstrap(),
              config.topics(),
              config.clientProperties(),
              config.historyPerPartition(),
              state,
              hub::publish);
    } catch (Exception e) {
      producer.close();
      budgetProducer.close();
      server.stop();
      throw e;
    }
    this.tail = started;
  }

  /** Starts the console: the HTTP server listens when this returns. */
  public static ConsoleServer start(Config config) throws Exception {
    return new ConsoleServer(Objects.requireNonNull(config, "config"));
  }

  /** The port listened on (the free one chosen when the config said 0). */
  public int port() {
    return connector.getLocalPort();
  }

  /** The page's address, e.g. http://127.0.0.1:8080/ (0.0.0.0 binds show as 127.0.0.1). */
  public String url() {
    String h = config.host();
    if (h.equals("0.0.0.0") || h.equals("::")) {
      h = "127.0.0.1";
    }
    return "http://" + (h.contains(":") ? "[" + h + "]" : h) + ":" + port() + "/";
  }

  /** The state the console holds (tests read it). */
  public ConsoleState state() {
    return state;
  }

  /** True once the history of every topic found was read. */
  public boolean caughtUp() {
    return tail.caughtUp();
  }

  @Override
  public void close() throws Exception {
    hub.close();
    try {
      tail.close();
    } finally {
      try {
        server.stop();
      } finally {
        try {
          producer.close(java.time.Duration.ofSeconds(5));
        } finally {
          try {
            budgetProducer.close(java.time.Duration.ofSeconds(5));
          } finally {
            health.close();
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- HTTP

  private final class Routes extends Handler.Abstract {
    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      String path = Request.getPathInContext(request);
      String method = request.getMethod();
      try {
        if (method.equals("GET") && ASSETS.containsKey(path)) {
          asset(ASSETS.get(path), response, callback);
        } else if (method.equals("GET") && path.equals("/api/streams")) {
          sendJson(response, callback, 200, state.streams());
        } else if (method.equals("GET") && path.equals("/api/health")) {
          // the stages' health: group state and lag per stage, frames/s and latency per stream
          Map<String, Object> h = new java.util.LinkedHashMap<>();
          h.put("stages", health.stages());
          h.put("streams", state.streamHealth());
          sendJson(response, callback, 200, h);
        } else if (method.equals("GET") && path.equals("/api/events")) {
          events(response, callback);
        } else if (path.equals("/api/ask")) {
          if (!method.equals("POST")) {
            sendError(response, callback, 405, "ask with POST");
          } else {
            ask(request, response, callback);
          }
        } else if (path.startsWith("/api/streams/") && path.endsWith("/budget")) {
          if (!method.equals("POST")) {
            sendError(response, callback, 405, "change a budget with POST");
          } else {
            String id =
                decode(
                    path.substring("/api/streams/".length(), path.length() - "/budget".length()));
            budget(id, request, response, callback);
          }
        } else if (method.equals("GET") && path.startsWith("/api/streams/")) {
          streamRoute(path.substring("/api/streams/".length()), response, callback);
        } else if (method.equals("GET") && path.startsWith("/api/grounding/")) {
          String ref = decode(path.substring("/api/grounding/".length()));
          Optional<Map<String, Object>> g = state.grounding(ref);
          if (g.isPresent()) {
            sendJson(response, callback, 200, g.get());
          } else {
            sendError(response, callback, 404, "no grounding record for '" + ref + "' (yet)");
          }
        } else {
          sendError(response, callback, 404, "nothing at " + path);
        }
      } catch (IllegalArgumentException e) {
        sendError(response, callback, 400, e.getMessage());
      } catch (Exception e) {
        LOG.warn("console request {} {} failed: {}", method, path, e.toString());
        sendError(response, callback, 500, "the console failed: " + e.getMessage());
      }
      return true;
    }
  }

  /** /api/streams/{id}, /api/streams/{id}/frame/latest.png, /api/streams/{id}/frame/{i}.png. */
  private void streamRoute(String rest, Response response, Callback callback) throws IOException {
    int slash = rest.indexOf('/');
    String id = decode(slash < 0 ? rest : rest.substring(0, slash));
    String tail = slash < 0 ? "" : rest.substring(slash);
    if (tail.isEmpty()) {
      Optional<Map<String, Object>> s = state.streamView(id);
      if (s.isPresent()) {
        sendJson(response, callback, 200, s.get());
      } else {
        sendError(response, callback, 404, "no stream '" + id + "' seen yet");
      }
      return;
    }
    if (tail.startsWith("/frame/") && tail.endsWith(".png")) {
      String which = tail.substring("/frame/".length(), tail.length() - ".png".length());
      long index;
      if (which.equals("latest")) {
        index = -1;
      } else {
        try {
          index = Long.parseLong(which);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("frame '" + which + "' is not a frame index");
        }
        if (index < 0) {
          throw new IllegalArgumentException("frame index must be 0 or more");
        }
      }
      Optional<ConsoleState.FrameImage> f = state.frame(id, index);
      if (f.isEmpty()) {
        sendError(
            response,
            callback,
            404,
            "frame " + which + " of '" + id + "' is not kept (only the latest frames are)");
        return;
      }
      response.setStatus(200);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, "image/png");
      // a frame index names one image forever; latest changes every frame
      response
          .getHeaders()
          .put(HttpHeader.CACHE_CONTROL, index < 0 ? "no-store" : "max-age=3600, immutable");
      response.getHeaders().put("X-Frame-Index", String.valueOf(f.get().index()));
      response.write(true, ByteBuffer.wrap(f.get().png()), callback);
      return;
    }
    sendError(response, callback, 404, "nothing at /api/streams/" + rest);
  }

  /**
   * The JSON object of a POST, or null when an error was sent: JSON only, so a browser must ask
   * (CORS preflight) before another site's page may post here, and the console never allows it;
   * only its own page can put questions and budgets on the topics.
   */
  private Map<String, Object> jsonBody(
      Request request, Response response, Callback callback, String what, String sizeHint)
      throws IOException {
    // the body is read (bounded) before any refusal: a response sent with the request's body
    // unread leaves the connection unusable, and a client that reuses it (the JDK's, a browser's
    // keep-alive) gets its next request dropped
    byte[] body;
    try (InputStream in = Content.Source.asInputStream(request)) {
      body = in.readNBytes(MAX_BODY_BYTES + 1);
    }
    String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
    if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
      sendError(response, callback, 415, "send the " + what + " as application/json");
      return null;
    }
    if (body.length > MAX_BODY_BYTES) {
      // the rest of an oversized body is never read: the connection is closed, and said so
      response.getHeaders().put(HttpHeader.CONNECTION, "close");
      sendError(
          response,
          callback,
          413,
          "the request is larger than " + MAX_BODY_BYTES + " bytes; " + sizeHint);
      return null;
    }
    Map<String, Object> fields;
    try {
      fields = json.readValue(body, new TypeReference<Map<String, Object>>() {});
    } catch (IOException e) {
      throw new IllegalArgumentException("the request is not a JSON object: " + e.getMessage());
    }
    return fields;
  }

  /** Issue 21 points 1 and 4: the page's budget control, checked as the encoder checks it. */
  private void budget(String id, Request request, Response response, Callback callback)
      throws Exception {
    Map<String, Object> fields =
        jsonBody(
            request,
            response,
            callback,
            "budget",
            "a budget is at most " + BudgetSpec.MAX_SPEC_CHARS + " characters");
    if (fields == null) {
      return;
    }
    int grid = state.patchGrid(id);
    BudgetRequest b = BudgetRequest.fromJson(id, fields, grid);
    BudgetControl control =
        BudgetControl.newBuilder()
            .setStreamId(b.streamId())
            .setCompressor(b.spec())
            .setRequestedAtMillis(System.currentTimeMillis())
            .setRequestedBy("console")
            .build();
    try {
      budgetProducer
          .send(new ProducerRecord<>(config.topics().control(), b.streamId(), control))
          .get(15, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      sendError(
          response,
          callback,
          503,
          "the budget could not be sent to "
              + config.topics().control()
              + ": "
              + cause.getMessage());
      return;
    }
    LOG.info("console: budget {} for stream {} sent", b.checked().spec(), b.streamId());
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    out.put("stream", b.streamId());
    out.put("budget", b.checked().spec());
    out.put(
        "tokensPerFrame",
        b.checked().isAnyGrid() ? (grid > 0 ? grid * grid : null) : b.checked().tokens());
    out.put("patchGrid", grid > 0 ? grid : null);
    sendJson(response, callback, 202, out);
  }

  private void ask(Request request, Response response, Callback callback) throws Exception {
    Map<String, Object> fields =
        jsonBody(request, response, callback, "question", "a question is at most 4096");
    if (fields == null) {
      return;
    }
    AskRequest ask = AskRequest.fromJson(fields);
    Question q =
        Question.newBuilder()
            .setQuestionId(UUID.randomUUID().toString())
            .setStreamId(ask.streamId())
            .setText(ask.question())
            .setAskedAtMillis(System.currentTimeMillis())
            .setWantGrounding(ask.grounding())
            .build();
    try {
      producer
          .send(new ProducerRecord<>(config.topics().questions(), ask.streamId(), q))
          .get(15, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      sendError(
          response,
          callback,
          503,
          "the question could not be sent to "
              + config.topics().questions()
              + ": "
              + cause.getMessage());
      return;
    }
    hub.publish(state.onAsked(q));
    sendJson(
        response,
        callback,
        202,
        Map.of(
            "questionId",
            q.getQuestionId(),
            "stream",
            q.getStreamId(),
            "question",
            q.getText(),
            "grounding",
            q.getWantGrounding()));
  }

  private void events(Response response, Callback callback) {
    response.setStatus(200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    try (OutputStream out = Content.Sink.asOutputStream(response)) {
      hub.stream(out);
      callback.succeeded();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      callback.failed(e);
    } catch (IOException | RuntimeException e) {
      // the page went away
      callback.failed(e);
    }
  }

  private void asset(String name, Response response, Callback callback) throws IOException {
    byte[] bytes;
    try (InputStream in = ConsoleServer.class.getResourceAsStream(WEB + name)) {
      if (in == null) {
        throw new IllegalStateException("the console's " + name + " is missing from its jar");
      }
      bytes = in.readAllBytes();
    }
    String type =
        name.endsWith(".html")
            ? "text/html; charset=utf-8"
            : name.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
    response.setStatus(200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }

  private void sendJson(Response response, Callback callback, int status, Object body)
      throws IOException {
    byte[] bytes = json.writeValueAsBytes(body);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json; charset=utf-8");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }

  private void sendError(Response response, Callback callback, int status, String message) {
    try {
      sendJson(response, callback, status, Map.of("error", message == null ? "" : message));
    } catch (IOException e) {
      callback.failed(e);
    }
  }

  /** Jetty hands the path already percent-decoded: nothing more to do. */
  private static String decode(String s) {
    return s;
  }

  /** The topics the console reads (for the page's footer and logs). */
  public List<String> topicsRead() {
    TopicNames t = config.topics();
    return List.of(
        t.frames(), t.tokens(), t.captions(), t.answers(), t.grounding(), t.deadLetters());
  }
}
