package io.decostream.lab;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.cli.Clients;
import io.decostream.cli.DemoCommand;
import io.decostream.cli.OutputCollector;
import io.decostream.cli.Pipeline;
import io.decostream.cli.WeightOptions;
import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.ShapesVideoWriter;
import io.decostream.nn.weights.Precision;
import io.decostream.schemas.Answer;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.shapes.Answers;
import io.decostream.shapes.GroundingCheck;
import io.decostream.shapes.QaPair;
import io.decostream.shapes.QuestionType;
import io.decostream.shapes.Questions;
import io.decostream.shapes.Scene;
import io.decostream.shapes.SceneGenerator;
import io.decostream.shapes.ShapesWorld;
import io.decostream.shapes.VideoSpec;
import io.decostream.shapes.WideClips;
import io.decostream.shapes.Window;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code deco eval} (issue 5): accuracy per question type on held-out ShapesWorld videos through
 * the real pipeline: H.264 clips published as streams to an in-process broker, FFmpeg decode and 1
 * fps sampling, the encoder's ViT and DeCo pooling, the worker's window and generation. Questions
 * are asked once every frame of a clip is encoded, so the window's latest frame is the clip's last
 * sampled second. With {@code --grounding-check}, the colour questions also ask for R-GAE maps and
 * the share of the latest frame's Text-to-Patch mass inside the shape's box grown by one patch is
 * measured. With {@code --wide} the clips are the wider held-out set of issue 23 point 4 ({@link
 * WideClips}: other sizes, lengths, frame rates, speeds and backgrounds).
 */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description =
        "Accuracy per question type of a model on held-out ShapesWorld videos, through the real pipeline.")
final class EvalCommand implements Callable<Integer> {

  @Option(names = "--model", required = true, description = "Model pack directory.")
  Path model;

  @Mixin WeightOptions precision;

  @Option(
      names = "--videos",
      defaultValue = "100",
      description = "Held-out videos (default ${DEFAULT-VALUE}).")
  int videos;

  @Option(
      names = "--seed",
      defaultValue = "1000003",
      description =
          "Base seed of the held-out videos (default ${DEFAULT-VALUE}; training draws its own scenes).")
  long seed;

  @Option(
      names = "--grounding-check",
      description =
          "Also ask colour questions with grounding and measure where " + "the relevance lies.")
  boolean groundingCheck;

  @Option(
      names = "--wide",
      description =
          "The wider held-out set (issue 23 point 4): 336x336 to 640x360 frames, 6-10 s clips at"
              + " 24-30 fps (windows of 6-10 frames), speeds 5-36 px/s, vignette and block"
              + " backgrounds besides the default three.")
  boolean wide;

  @Option(names = "--markdown", description = "Write the result table as Markdown to this file.")
  Path markdown;

  @Option(
      names = "--answers",
      description =
          "Write every question as a JSON line (expected and given answer, the clip's size, fps and"
              + " window, the named shape's motion, speed and size) for error analysis.")
  Path answersFile;

  @Option(
      names = "--timeout",
      defaultValue = "1800",
      description = "Overall time limit in seconds (default ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  /**
   * The command line that reproduces this run's table, written at the top of its Markdown (issue 5,
   * point 4).
   */
  String reproduce() {
    return "./deco eval --model "
        + model
        + " --videos "
        + videos
        + " --seed "
        + seed
        + (wide ? " --wide" : "")
        + (groundingCheck ? " --grounding-check" : "")
        + (precision.weights() == Precision.F32
            ? ""
            : " --precision " + precision.weights().name().toLowerCase(Locale.ROOT));
  }

  /**
   * One asked question and what came back.
   *
   * @param lastSecond the clip's last sampled second: the latest frame of the window asked about
   */
  record Asked(
      String stream, Scene scene, QaPair qa, String id, boolean grounded, int lastSecond) {}

  /** Held-out clip {@code i}: the default set's 336x336, 8 fps, 16 s clip, or the wide set's. */
  WideClips.Clip clip(int i) {
    if (wide) {
      return WideClips.clip(seed, i);
    }
    VideoSpec spec = VideoSpec.defaults();
    return new WideClips.Clip(
        spec, SceneGenerator.generate(ShapesWorld.videoSeed(seed, i), spec.seconds()));
  }

  @Override
  public Integer call() throws Exception {
    if (videos < 1) {
      throw new IllegalArgumentException("--videos must be >= 1");
    }
    Precision weights = precision.weights(); // a bad --precision fails before any work
    Path work = Files.createTempDirectory("deco-eval-");
    Duration timeout = Duration.ofSeconds(timeoutSeconds);
    List<WideClips.Clip> clips = new ArrayList<>();
    for (int i = 0; i < videos; i++) {
      clips.add(clip(i));
    }
    try (EmbeddedBroker broker = EmbeddedBroker.start()) {
      String bootstrap = broker.bootstrapServers();
      Topics topics = Topics.of(TopicNames.defaults());
      Clients.ensureTopics(bootstrap, topics);
      Pipeline.Options options =
          new Pipeline.Options(model, 1.0, null, 0, 8, work.resolve("state")).withWeights(weights);
      try (Pipeline pipeline = Pipeline.start(bootstrap, topics.names(), options);
          OutputCollector out = new OutputCollector(bootstrap, topics)) {
        pipeline.awaitRunning(Duration.ofSeconds(120));
        publish(bootstrap, topics, work, clips);
        System.out.println("==> waiting for every frame to be encoded");
        if (!out.await(c -> allEncoded(c, clips), timeout)) {
          System.err.println("not every frame was encoded within " + timeoutSeconds + " s");
          return 1;
        }
        List<Asked> asked = ask(bootstrap, topics, clips);
        System.out.printf("==> asked %d questions; waiting for the answers%n", asked.size());
        out.await(
            c ->
                c.answers.size() >= asked.size()
                    && c.groundings.size() >= asked.stream().filter(Asked::grounded).count(),
            timeout);
        Map<String, Answer> answers = new LinkedHashMap<>();
        out.answers.forEach(a -> answers.put(a.getQuestionId().toString(), a));
        Map<String, Grounding> maps = new LinkedHashMap<>();
        out.groundings.forEach(g -> maps.put(g.getRefId().toString(), g));
        write(table(asked, answers, maps));
        if (answersFile != null) {
          Files.write(answersFile, answerLines(asked, answers, clips));
          System.out.println("answers written to " + answersFile);
        }
        return 0;
      }
    } finally {
      DemoCommand.deleteQuietly(work);
    }
  }

  /** Writes the held-out clips (H.264) and publishes each as its own stream. */
  private void publish(String bootstrap, Topics topics, Path work, List<WideClips.Clip> clips)
      throws Exception {
    System.out.printf("==> publishing %d held-out ShapesWorld clips (H.264, %s)%n", videos, set());
    for (int i = 0; i < videos; i++) {
      WideClips.Clip c = clips.get(i);
      Path clip = ShapesVideoWriter.write(work.resolve("v" + i + ".mp4"), c.scene(), c.spec());
      try (Publisher p =
          new Publisher(
              new PublishConfig(
                  bootstrap,
                  stream(i),
                  clip.toString(),
                  1.0,
                  false,
                  false,
                  topics.names(),
                  OptionalLong.empty()))) {
        p.run();
      }
      if ((i + 1) % 10 == 0 || i + 1 == videos) {
        System.out.printf("      %d/%d published%n", i + 1, videos);
      }
    }
  }

  /** The held-out set in words, for the progress line and the table. */
  private String set() {
    VideoSpec d = VideoSpec.defaults();
    return wide
        ? "the wider set: 336x336 to 640x360, 6-10 s at 24-30 fps, 5-36 px/s, five backgrounds"
        : String.format(
            Locale.ROOT, "%dx%d, %.0f fps, %.0f s", d.width(), d.height(), d.fps(), d.seconds());
  }

  /** Whether every clip's stream has a token record for each of its sampled seconds. */
  private boolean allEncoded(OutputCollector c, List<WideClips.Clip> clips) {
    Map<String, Integer> n = new java.util.HashMap<>();
    c.tokens.forEach(t -> n.merge(t.getStreamId().toString(), 1, Integer::sum));
    for (int i = 0; i < videos; i++) {
      if (n.getOrDefault(stream(i), 0) < clips.get(i).spec().lastSampledSecond() + 1) {
        return false;
      }
    }
    return true;
  }

  /**
   * Asks one question per type of each clip about the window ending at its last sampled second;
   * with {@code --grounding-check} the colour questions want grounding.
   */
  private List<Asked> ask(String bootstrap, Topics topics, List<WideClips.Clip> clips) {
    List<Asked> asked = new ArrayList<>();
    try (KafkaProducer<String, Question> producer =
        Clients.producer(bootstrap, topics.questions())) {
      for (int i = 0; i < videos; i++) {
        Scene scene = clips.get(i).scene();
        int lastSecond = clips.get(i).spec().lastSampledSecond();
        Window window = Window.latest(lastSecond, ShapesWorld.MAX_WINDOW_FRAMES);
        SplittableRandom rnd = new SplittableRandom(ShapesWorld.videoSeed(seed, i) ^ 0x51ED);
        for (QaPair qa : Questions.samplePerType(scene, window, rnd)) {
          boolean ground = groundingCheck && qa.type() == QuestionType.COLOR;
          String id = stream(i) + "#" + qa.type().label();
          asked.add(new Asked(stream(i), scene, qa, id, ground, lastSecond));
          producer.send(
              new ProducerRecord<>(
                  topics.questions().name(),
                  stream(i),
                  Question.newBuilder()
                      .setQuestionId(id)
                      .setStreamId(stream(i))
                      .setText(qa.question())
                      .setAskedAtMillis(System.currentTimeMillis())
                      .setMaxNewTokens(8)
                      .setWantGrounding(ground)
                      .build()));
        }
      }
    }
    return asked;
  }

  /**
   * Prints the table and, with {@code --markdown}, writes it under the command that reproduces it.
   */
  private void write(String table) throws java.io.IOException {
    System.out.println(table);
    if (markdown != null) {
      Files.writeString(markdown, "Command: `" + reproduce() + "`\n\n" + table);
      System.out.println("table written to " + markdown);
    }
  }

  static String stream(int i) {
    return String.format(Locale.ROOT, "eval-%04d", i);
  }

  /** The clip index of a {@link #stream} id. */
  static int clipIndex(String stream) {
    return Integer.parseInt(stream.substring("eval-".length()));
  }

  /** Accuracy per type, and the grounding check's figures. */
  String table(List<Asked> asked, Map<String, Answer> answers, Map<String, Grounding> maps) {
    Map<String, int[]> perType = new LinkedHashMap<>();
    for (QuestionType t : QuestionType.values()) {
      perType.put(t.label(), new int[2]);
    }
    List<String> wrong = new ArrayList<>();
    Shares grounded = new Shares();
    Shares ceiling = new Shares();
    for (Asked a : asked) {
      Answer ans = answers.get(a.id());
      int[] c = perType.get(a.qa().type().label());
      c[1]++;
      String got =
          ans == null
              ? "(no answer)"
              : ans.getError() != null
                  ? "(error: " + ans.getError() + ")"
                  : ans.getText().toString();
      if (ans != null && ans.getError() == null && Answers.matches(got, a.qa().answer())) {
        c[0]++;
      } else if (wrong.size() < 12) {
        wrong.add(
            String.format(
                "  %s %s -> \"%s\" (expected \"%s\")",
                a.stream(), a.qa().question(), got, a.qa().answer()));
      }
      Grounding g = maps.get(a.id());
      if (a.grounded() && g != null && grounded.add(massInsideShape(g, a))) {
        ceiling.add(bestPooledShare(g, a));
      }
    }
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            Locale.ROOT,
            "Model %s, %d held-out videos (%s; base seed %d), %d questions, through the real "
                + "pipeline (H.264, FFmpeg decode, 1 fps, encoder, worker)%n%n",
            model,
            videos,
            set(),
            seed,
            asked.size()));
    b.append("| question type | correct | asked | accuracy |\n|---|---:|---:|---:|\n");
    int ok = 0;
    int all = 0;
    for (Map.Entry<String, int[]> e : perType.entrySet()) {
      int[] c = e.getValue();
      ok += c[0];
      all += c[1];
      b.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %d | %.1f%% |%n",
              e.getKey(),
              c[0],
              c[1],
              c[1] == 0 ? 0.0 : 100.0 * c[0] / c[1]));
    }
    b.append(
        String.format(
            Locale.ROOT,
            "| **all** | %d | %d | %.1f%% |%n",
            ok,
            all,
            all == 0 ? 0.0 : 100.0 * ok / all));
    if (groundingCheck) {
      b.append(grounding(grounded, ceiling));
    }
    if (!wrong.isEmpty()) {
      b.append(String.format("%nSome wrong answers:%n"))
          .append(String.join(System.lineSeparator(), wrong))
          .append(System.lineSeparator());
    }
    return b.toString();
  }

  /**
   * One JSON object per asked question (issue 23 point 4's error analysis): what was expected and
   * given, the clip's frame size, frame rate and window, and the named shape's motion, speed
   * (reference px/s) and size, so errors can be grouped by what makes a clip hard.
   */
  List<String> answerLines(
      List<Asked> asked, Map<String, Answer> answers, List<WideClips.Clip> clips) {
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();
    List<String> lines = new ArrayList<>();
    for (Asked a : asked) {
      VideoSpec spec = clips.get(clipIndex(a.stream())).spec();
      Window window = Window.latest(a.lastSecond(), ShapesWorld.MAX_WINDOW_FRAMES);
      Answer ans = answers.get(a.id());
      String got = ans == null ? null : ans.getError() != null ? null : ans.getText().toString();
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("stream", a.stream());
      o.put("type", a.qa().type().label());
      o.put("question", a.qa().question());
      o.put("expected", a.qa().answer());
      o.put("got", got);
      o.put("correct", got != null && Answers.matches(got, a.qa().answer()));
      o.put("width", spec.width());
      o.put("height", spec.height());
      o.put("fps", spec.fps());
      o.put("windowFrames", (int) Math.round(window.endSeconds() - window.startSeconds()) + 1);
      o.put("background", a.scene().background().kind().name());
      o.put("shapes", a.scene().shapes().size());
      a.qa()
          .subject(a.scene())
          .ifPresent(
              s -> {
                o.put("motion", s.motion().name());
                o.put("speed", s.speed());
                o.put("size", s.size());
              });
      try {
        lines.add(json.writeValueAsString(o));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }
    return lines;
  }

  /** The grounding check's shares over the checked cases: how many, their sum, how many pass. */
  static final class Shares {
    int count;
    double sum;
    int passed;

    /** Counts a case's share; false for NaN (no shape or no map), which is not counted. */
    boolean add(double share) {
      if (Double.isNaN(share)) {
        return false;
      }
      count++;
      sum += share;
      passed += share >= GroundingCheck.GROUNDED_SHARE ? 1 : 0;
      return true;
    }
  }

  /** The grounding check's lines of the table: the maps' shares, then the pooled ceiling's. */
  private static String grounding(Shares maps, Shares ceiling) {
    String out =
        String.format(
            Locale.ROOT,
            "%nGrounding check (colour questions, latest frame, Text-to-Patch mass inside "
                + "the shape's box grown by one patch): %d maps, mean share %.1f%%, %.1f%% of cases with at least 80%%.%n",
            maps.count,
            maps.count == 0 ? 0.0 : 100 * maps.sum / maps.count,
            maps.count == 0 ? 0.0 : 100.0 * maps.passed / maps.count);
    if (ceiling.count > 0) {
      out +=
          String.format(
              Locale.ROOT,
              "Best any map at the token grid's resolution could do on the same cases "
                  + "(all mass on the one pooling window with most patches inside the box): mean share %.1f%%, %.1f%% of "
                  + "cases with at least 80%%.%n",
              100 * ceiling.sum / ceiling.count,
              100.0 * ceiling.passed / ceiling.count);
    }
    return out;
  }

  /**
   * Share of the latest frame's positive Text-to-Patch mass inside the asked shape's box (at the
   * frame's time) grown by one patch ({@link GroundingCheck#shareInside}, issue 5 point 6); NaN
   * when the question names no single shape or the map is missing.
   */
  static double massInsideShape(Grounding g, Asked a) {
    int gh = g.getGridHeight();
    int gw = g.getGridWidth();
    int n = g.getFrameIndices().size();
    float[] all = Tensors.fromF32(Tensors.bytesOf(g.getTextToPatch()));
    if (n == 0 || all.length != n * gh * gw) {
      return Double.NaN;
    }
    float[] latest = java.util.Arrays.copyOfRange(all, (n - 1) * gh * gw, n * gh * gw);
    return check(g, a).map(c -> c.shareInside(latest)).orElse(Double.NaN);
  }

  /**
   * The best share any map at the pooled grid's resolution could reach ({@link
   * GroundingCheck#bestPooledShare}): Text-to-Patch of average pooling spreads each token's
   * relevance evenly over its window (spec §7.6). NaN without the shape or for a non-square token
   * grid.
   */
  static double bestPooledShare(Grounding g, Asked a) {
    int side = (int) Math.round(Math.sqrt(g.getTokensPerFrame()));
    if (side * side != g.getTokensPerFrame()) {
      return Double.NaN;
    }
    return check(g, a).map(c -> c.bestPooledShare(side)).orElse(Double.NaN);
  }

  /** The grounding check of the asked shape, from the scene's ground truth, on the map's grid. */
  private static java.util.Optional<GroundingCheck> check(Grounding g, Asked a) {
    return GroundingCheck.of(
        a.scene(), a.qa(), a.lastSecond(), g.getGridWidth(), g.getGridHeight());
  }
}
