package io.decostream.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.decostream.broker.EmbeddedBroker;
import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.nn.weights.Precision;
import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Question;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Run the whole pipeline in one JVM on an in-process Kafka broker: publish a video, ask questions,",
      "print answers and captions as they arrive, and end with a summary."
    })
public final class DemoCommand implements Callable<Integer> {
  @Option(
      names = "--video",
      description = "Video file to publish (default: a ShapesWorld clip made with FFmpeg).")
  Path video;

  @Option(
      names = "--seconds",
      defaultValue = "16",
      description = "Length of the synthetic clip (default ${DEFAULT-VALUE}).")
  double seconds;

  @Option(
      names = "--scene-seed",
      defaultValue = "7",
      description = "Seed of the ShapesWorld clip (default ${DEFAULT-VALUE}).")
  long sceneSeed;

  @Option(
      names = "--model",
      description =
          "Model pack directory (HF llava_next_video checkpoint; default: the shipped "
              + "ShapesWorld model in models/shapes-demo, else a tiny random pack).")
  Path model;

  @Mixin WeightOptions precision;

  @Option(names = "--question", description = "A question to ask (repeatable).")
  List<String> questions = new ArrayList<>();

  @Option(
      names = "--stream",
      defaultValue = "demo-cam",
      description = "Stream id (default ${DEFAULT-VALUE}).")
  String stream;

  @Option(
      names = "--tokens",
      description =
          "Token compressor: avg:12 (DeCo, 144 tokens/frame of a 24x24 grid), max:12, "
              + "avg:8, none (every patch) (default: the model's own pooling)")
  String compressor;

  @Option(
      names = "--fps",
      defaultValue = "1.0",
      description = "Frames sampled per second of video (default ${DEFAULT-VALUE}).")
  double fps;

  @Option(
      names = "--caption-every",
      defaultValue = "4",
      description = "A caption every N frames (default ${DEFAULT-VALUE}).")
  int captionEvery;

  @Option(
      names = "--max-new-tokens",
      defaultValue = "16",
      description = "Tokens generated per answer (default ${DEFAULT-VALUE}).")
  int maxNewTokens;

  @Option(
      names = "--grounding-dir",
      description =
          "Where the R-GAE pictures of the answers go (default: "
              + "deco-demo-grounding in the system temp directory).")
  Path groundingDir;

  @Option(names = "--no-grounding", description = "Do not ask for grounding maps.")
  boolean noGrounding;

  @Option(
      names = "--realtime",
      description = "Publish at the video's own pace instead of as fast as possible.")
  boolean realtime;

  @Option(names = "--summary-json", description = "Also write the summary as JSON to this file.")
  Path summaryJson;

  @Option(
      names = "--timeout",
      defaultValue = "600",
      description = "Overall time limit in seconds (default ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Option(
      names = "--serve",
      description =
          "After the summary keep the pipeline running with the web console on (its address is"
              + " printed as 'console: http://127.0.0.1:PORT/') until SIGTERM or Ctrl-C.")
  boolean serve;

  @Option(
      names = "--web-port",
      defaultValue = "0",
      description = "With --serve: the console's port (default: a free one).")
  int webPort;

  @Option(
      names = "--partitions",
      defaultValue = Clients.PARTITIONS_OPTION_DEFAULT,
      description =
          "Partitions of each DeCo topic the demo creates (env "
              + Clients.PARTITIONS_ENV
              + "; default ${DEFAULT-VALUE}, as deco broker and deco topics create).")
  int partitions;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      defaultValue = "${env:DECO_METRICS_PORT:--1}",
      description = MetricsEndpoint.DESCRIPTION)
  int metricsPort;

  @Override
  public Integer call() throws Exception {
    Precision weights = precision.weights(); // a bad --precision fails before any work
    Path work = Files.createTempDirectory("deco-demo-");
    io.decostream.shapes.Scene scene =
        video == null ? io.decostream.shapes.SceneGenerator.generate(sceneSeed, seconds) : null;
    Map<String, String> truth = chooseQuestions(scene);
    long t0 = System.currentTimeMillis();
    step("starting an in-process Kafka broker (KRaft)");
    try (EmbeddedBroker broker = EmbeddedBroker.start()) {
      String bootstrap = broker.bootstrapServers();
      System.out.println("      broker at " + bootstrap);
      Topics topics = Topics.of(TopicNames.defaults());
      Clients.ensureTopics(bootstrap, topics, partitions);
      Path pack = modelPack(work);
      Path clip = clip(work, scene);

      step("starting frames, encoder and llm-worker stages");
      MetricsEndpoint.start(metricsPort, System.out);
      Pipeline.Options options =
          new Pipeline.Options(
                  pack, fps, compressor, captionEvery, maxNewTokens, work.resolve("state"))
              .withWeights(weights);
      try (Pipeline pipeline = Pipeline.start(bootstrap, topics.names(), options);
          OutputCollector out = new OutputCollector(bootstrap, topics)) {
        pipeline.awaitRunning(Duration.ofSeconds(120));
        out.onRecord(DemoCommand::print);
        double videoSeconds = publish(bootstrap, topics, clip);
        Duration timeout = Duration.ofSeconds(timeoutSeconds);
        int frames = awaitEncoded(out, videoSeconds, timeout);
        List<String> ids = ask(bootstrap, topics);
        boolean all = awaitAnswers(out, ids, timeout);
        if (!noGrounding) {
          writeGroundingPictures(bootstrap, topics, out, ids, timeout);
        }
        report(out, ids, truth, System.currentTimeMillis() - t0);
        if (serve) {
          // issue 21 point 1: the stages keep running with the web console on until SIGTERM
          WebCommand.serve(
              io.decostream.console.ConsoleServer.Config.of(bootstrap, topics.names(), webPort));
        }
        return all && frames > 0 ? 0 : 1;
      }
    } finally {
      deleteQuietly(work);
    }
  }

  /**
   * The questions to ask and, for the ShapesWorld clip, their true answers (empty for a --video
   * file). Without --question: one ShapesWorld question per type about the clip's last second, or
   * two generic ones for a --video file.
   */
  private Map<String, String> chooseQuestions(io.decostream.shapes.Scene scene) {
    Map<String, String> truth = new LinkedHashMap<>();
    if (scene != null) {
      if (questions.isEmpty()) {
        // the ShapesWorld questions that may be asked of the clip's last second, one per type, with
        // their answers
        int last = (int) Math.ceil(seconds - 1e-9) - 1;
        io.decostream.shapes.Window w =
            io.decostream.shapes.Window.latest(
                last, io.decostream.shapes.ShapesWorld.MAX_WINDOW_FRAMES);
        for (io.decostream.shapes.QaPair qa :
            io.decostream.shapes.Questions.samplePerType(
                scene, w, new java.util.SplittableRandom(sceneSeed))) {
          truth.put(qa.question(), qa.answer());
        }
        questions = new ArrayList<>(truth.keySet());
      }
    } else if (questions.isEmpty()) {
      questions = List.of("what is moving in the video?", "what color is the circle?");
    }
    return truth;
  }

  /** --model, else the shipped ShapesWorld model, else a tiny random pack written to work. */
  private Path modelPack(Path work) {
    Path pack = model != null ? model : shippedModel();
    if (pack == null) {
      pack = work.resolve("tiny-model");
      step(
          "no shipped model found; writing a tiny random llava_next_video model pack (answers will be noise) to "
              + pack);
      TinyPack.write(pack, 42);
    } else {
      step("model " + pack);
    }
    return pack;
  }

  /** --video, else the ShapesWorld scene rendered to an H.264 clip in work. */
  private Path clip(Path work, io.decostream.shapes.Scene scene) {
    if (video != null) {
      return video;
    }
    Path clip = work.resolve("shapes.mp4");
    step(
        String.format(
            "making a %.0f s ShapesWorld clip with FFmpeg (H.264, 336x336, scene seed %d)",
            seconds, sceneSeed));
    io.decostream.ingest.ShapesVideoWriter.write(
        clip, scene, new io.decostream.shapes.VideoSpec(336, 336, 8, seconds));
    return clip;
  }

  /** Publishes the clip as the demo stream (what `deco publish` does); its length in seconds. */
  private double publish(String bootstrap, Topics topics, Path clip) throws Exception {
    step("publishing " + clip + " as stream '" + stream + "'");
    PublishConfig pc =
        new PublishConfig(
            bootstrap,
            stream,
            clip.toString(),
            1.0,
            realtime,
            false,
            topics.names(),
            OptionalLong.empty());
    try (Publisher publisher = new Publisher(pc)) {
      Publisher.Result r = publisher.run(Publisher.printEvery(4, System.out, stream));
      System.out.printf(
          "      published %d chunks, %.1f s of video%n", r.chunks(), r.videoSeconds());
      return r.videoSeconds();
    }
  }

  /**
   * Waits until the sampled frames are encoded, so the questions see the whole clip; the number of
   * frames encoded.
   */
  private int awaitEncoded(OutputCollector out, double videoSeconds, Duration timeout)
      throws InterruptedException {
    step("waiting for every frame to be encoded");
    // Sampling at fps yields about floor(seconds * fps) frames; then wait for stragglers
    // briefly.
    int expected = Math.max(1, (int) Math.floor(videoSeconds * fps - 1e-6));
    out.await(c -> c.tokens.size() >= expected, timeout);
    int frames = out.awaitTokensSettled(Duration.ofSeconds(2), Duration.ofSeconds(30));
    System.out.println("      " + frames + " frames encoded");
    return frames;
  }

  /** Sends each question on the questions topic (what `deco ask` does); their ids, in order. */
  private List<String> ask(String bootstrap, Topics topics) {
    step("asking " + questions.size() + " question(s)");
    List<String> ids = new ArrayList<>();
    try (KafkaProducer<String, Question> producer =
        Clients.producer(bootstrap, topics.questions())) {
      for (String q : questions) {
        String id = UUID.randomUUID().toString();
        ids.add(id);
        producer.send(
            new ProducerRecord<>(
                topics.questions().name(),
                stream,
                Question.newBuilder()
                    .setQuestionId(id)
                    .setStreamId(stream)
                    .setText(q)
                    .setAskedAtMillis(System.currentTimeMillis())
                    .setMaxNewTokens(maxNewTokens)
                    .setWantGrounding(!noGrounding)
                    .build()));
      }
    }
    return ids;
  }

  /** Waits for an answer to every question; false (and a note on stderr) on time-out. */
  private boolean awaitAnswers(OutputCollector out, List<String> ids, Duration timeout)
      throws InterruptedException {
    boolean all =
        out.await(
            c ->
                ids.stream()
                    .allMatch(id -> c.answers.stream().anyMatch(a -> a.getQuestionId().equals(id))),
            timeout);
    if (!all) {
      System.err.println("not every question was answered within " + timeoutSeconds + " s");
    }
    return all;
  }

  /** The closing summary: printed, marked against the ShapesWorld truth, and --summary-json. */
  private void report(
      OutputCollector out, List<String> ids, Map<String, String> truth, long wallMillis)
      throws java.io.IOException {
    Map<String, Object> summary = summary(out, ids, wallMillis);
    markExpected(summary, truth);
    printSummary(summary);
    if (summaryJson != null) {
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .writeValue(summaryJson.toFile(), summary);
      System.out.println("summary written to " + summaryJson);
    }
  }

  /**
   * Waits for the answers' grounding records and draws them over the frames (issue 4 "Pictures").
   */
  private void writeGroundingPictures(
      String bootstrap, Topics topics, OutputCollector out, List<String> ids, Duration timeout)
      throws InterruptedException {
    step("drawing the answers' R-GAE grounding maps");
    List<String> answered =
        ids.stream()
            .filter(
                id ->
                    out.answers.stream()
                        .anyMatch(
                            a ->
                                a.getQuestionId().equals(id)
                                    && a.getError() == null
                                    && a.getGeneratedTokens() > 0))
            .toList();
    boolean got =
        out.await(
            c ->
                answered.stream()
                    .allMatch(id -> c.groundings.stream().anyMatch(g -> g.getRefId().equals(id))),
            timeout);
    if (!got) {
      System.err.println("not every grounding record arrived within " + timeoutSeconds + " s");
    }
    Path dir =
        groundingDir != null
            ? groundingDir
            : Path.of(System.getProperty("java.io.tmpdir"), "deco-demo-grounding");
    java.util.Set<Long> wanted = new java.util.HashSet<>();
    out.groundings.forEach(g -> wanted.addAll(g.getFrameIndices()));
    Map<Long, java.awt.image.BufferedImage> frames =
        GroundingCommand.frames(
            bootstrap,
            new java.util.Properties(),
            topics.frames(),
            stream,
            wanted,
            Duration.ofSeconds(30));
    int files = 0;
    for (io.decostream.schemas.Grounding g : out.groundings) {
      if (answered.contains(g.getRefId())) {
        System.out.print(
            AskCommand.formatGrounding(g)
                .replace("  grounding", "  grounding of \"" + g.getQuestion() + "\""));
        files +=
            GroundingRender.write(g, frames, dir.resolve(GroundingRender.safe(g.getQuestion())))
                .size();
      }
    }
    System.out.println("      " + files + " pictures in " + dir);
  }

  /**
   * The repo's trained ShapesWorld model (issue 5), looked up from the launcher's home, the working
   * dir and up.
   */
  public static Path shippedModel() {
    List<Path> roots = new ArrayList<>();
    String home = System.getProperty("deco.home");
    if (home != null) {
      roots.add(Path.of(home));
    }
    Path cwd = Path.of("").toAbsolutePath();
    for (Path p = cwd; p != null && roots.size() < 4; p = p.getParent()) {
      roots.add(p);
    }
    for (Path r : roots) {
      Path m = r.resolve("models").resolve("shapes-demo");
      if (Files.isRegularFile(m.resolve("config.json"))
          && Files.isRegularFile(m.resolve("model.safetensors"))) {
        return m;
      }
    }
    return null;
  }

  /**
   * Adds the ground truth to each answer of the summary (ShapesWorld clips) and the number answered
   * right.
   */
  @SuppressWarnings("unchecked")
  static void markExpected(Map<String, Object> summary, Map<String, String> expected) {
    if (expected.isEmpty()) {
      return;
    }
    int right = 0;
    for (Map<String, Object> a : (List<Map<String, Object>>) summary.get("answers")) {
      String want = expected.get(String.valueOf(a.get("question")));
      if (want != null) {
        boolean ok = io.decostream.shapes.Answers.matches(String.valueOf(a.get("text")), want);
        a.put("expected", want);
        a.put("correct", ok);
        right += ok ? 1 : 0;
      }
    }
    summary.put("correctAnswers", right);
  }

  private static void step(String s) {
    System.out.println("==> " + s);
  }

  private static void print(Object r) {
    if (r instanceof Answer a) {
      System.out.println(AskCommand.format(a));
    } else if (r instanceof Caption c) {
      System.out.println(WatchCommand.formatCaption(c));
    } else if (r instanceof DeadLetter d) {
      System.out.printf(
          "[%s] dead letter from %s: %s%n", d.getStreamId(), d.getStage(), d.getReason());
    }
  }

  static Map<String, Object> summary(
      OutputCollector out, List<String> questionIds, long wallMillis) {
    Map<String, Object> s = new LinkedHashMap<>();
    List<FrameTokens> tokens = List.copyOf(out.tokens);
    s.put("frames", tokens.size());
    s.put(
        "tokensPerFrame",
        tokens.isEmpty() ? 0 : tokens.get(0).getGridHeight() * tokens.get(0).getGridWidth());
    List<Map<String, Object>> answers = new ArrayList<>();
    for (String id : questionIds) {
      out.answers.stream()
          .filter(a -> a.getQuestionId().equals(id))
          .findFirst()
          .ifPresent(
              a -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("question", a.getQuestion());
                m.put("text", a.getError() == null ? a.getText() : "error: " + a.getError());
                m.put("frameRange", List.of(a.getFirstFrameIndex(), a.getLastFrameIndex()));
                m.put("promptTokens", a.getPromptTokens());
                m.put("generatedTokens", a.getGeneratedTokens());
                answers.add(m);
              });
    }
    s.put("answers", answers);
    List<Map<String, Object>> captions = new ArrayList<>();
    for (Caption c : out.captions) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("text", c.getText());
      m.put("frameRange", List.of(c.getFirstFrameIndex(), c.getLastFrameIndex()));
      captions.add(m);
    }
    s.put("captions", captions);
    s.put("deadLetters", out.deadLetters.size());
    s.put("stageLatencyMs", stageLatency(tokens, out.answers));
    s.put("wallClockMs", wallMillis);
    return s;
  }

  /**
   * Mean latency per stage from the stage timestamps each record carries, and the worker's timings.
   */
  static Map<String, Double> stageLatency(List<FrameTokens> tokens, List<Answer> answers) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("frames", mean(tokens, "ingest", "frames"));
    m.put("encoder", mean(tokens, "frames", "encoder"));
    m.put(
        "llmWorkerPrefill",
        answers.stream()
            .mapToDouble(a -> a.getTimingsMillis().getOrDefault("prefill", 0.0))
            .average()
            .orElse(0));
    m.put(
        "llmWorkerDecode",
        answers.stream()
            .mapToDouble(a -> a.getTimingsMillis().getOrDefault("decode", 0.0))
            .average()
            .orElse(0));
    m.put(
        "llmWorker",
        answers.stream()
            .mapToDouble(a -> a.getTimingsMillis().getOrDefault("total", 0.0))
            .average()
            .orElse(0));
    return m;
  }

  private static double mean(List<FrameTokens> tokens, String from, String to) {
    return tokens.stream()
        .filter(t -> t.getStageMillis().containsKey(from) && t.getStageMillis().containsKey(to))
        .mapToDouble(t -> t.getStageMillis().get(to) - t.getStageMillis().get(from))
        .average()
        .orElse(0);
  }

  @SuppressWarnings("unchecked")
  private static void printSummary(Map<String, Object> s) {
    System.out.println();
    System.out.println("==> summary");
    System.out.printf("  frames:           %s%n", s.get("frames"));
    if (s.containsKey("correctAnswers")) {
      System.out.printf(
          "  correct answers:  %s of %s%n",
          s.get("correctAnswers"), ((List<?>) s.get("answers")).size());
    }
    System.out.printf("  tokens per frame: %s%n", s.get("tokensPerFrame"));
    for (Map<String, Object> a : (List<Map<String, Object>>) s.get("answers")) {
      System.out.printf(
          "  Q: %s%n  A: %s   (frames %s)%s%n",
          a.get("question"),
          a.get("text"),
          a.get("frameRange"),
          a.containsKey("expected")
              ? ((Boolean) a.get("correct")
                  ? "   right"
                  : "   wrong, expected: " + a.get("expected"))
              : "");
    }
    System.out.printf("  captions:         %d%n", ((List<?>) s.get("captions")).size());
    System.out.printf("  dead letters:     %s%n", s.get("deadLetters"));
    ((Map<String, Double>) s.get("stageLatencyMs"))
        .forEach((k, v) -> System.out.printf("  latency %-17s %8.1f ms%n", k + ":", v));
  }

  /** Deletes a temp dir and what it holds, best effort. */
  public static void deleteQuietly(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (Exception ignored) {
      // best effort: a temp dir
    }
  }
}
