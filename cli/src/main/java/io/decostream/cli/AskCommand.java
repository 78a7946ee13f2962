package io.decostream.cli;

import io.decostream.schemas.Answer;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Question;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.Topics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "ask",
    mixinStandardHelpOptions = true,
    description = "Ask a question about a stream and print the answer when it arrives.")
public final class AskCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;

  @Option(names = "--stream", required = true, description = "Stream id.")
  String stream;

  @Parameters(
      arity = "1..*",
      paramLabel = "QUESTION",
      description = "The question (words are joined).")
  List<String> words;

  @Option(
      names = "--timeout",
      defaultValue = "120",
      description = "Seconds to wait for the answer (default ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Option(
      names = "--max-new-tokens",
      description = "Upper bound on generated tokens (default: the worker's).")
  Integer maxNewTokens;

  @Option(
      names = "--temperature",
      description =
          "Sampling temperature (>= 0; 0 = greedy; default: the worker's, greedy unless it is"
              + " configured otherwise).")
  Double temperature;

  @Option(
      names = "--top-p",
      description = "Nucleus mass in (0, 1] when sampling (default: the worker's, 1).")
  Double topP;

  @Option(
      names = "--seed",
      description =
          "Sampler seed: the same seed, frames and question give the same answer (default: the"
              + " worker's).")
  Long seed;

  @Option(
      names = "--grounding",
      description =
          "Ask for R-GAE grounding maps with the answer and print where in "
              + "each frame the answer looked.")
  boolean grounding;

  @Option(
      names = "--save-grounding",
      paramLabel = "FILE",
      description =
          "With --grounding: write the Grounding record "
              + "(Avro single-object encoding; `deco grounding render --from FILE` draws it).")
  Path saveGrounding;

  @Option(
      names = "--render",
      paramLabel = "DIR",
      description =
          "With --grounding: write PNG overlays of the maps "
              + "(frames read from the frames topic).")
  Path render;

  @Override
  public Integer call() {
    // the worker dead-letters these too (issue 20 point 5); refusing here saves the wait
    if (temperature != null && (!(temperature >= 0) || Double.isInfinite(temperature))) {
      System.err.println("--temperature must be a finite value >= 0, got " + temperature);
      return 2;
    }
    if (topP != null && !(topP > 0 && topP <= 1)) {
      System.err.println("--top-p must be in (0, 1], got " + topP);
      return 2;
    }
    Topics topics = kafka.topics();
    Question q =
        Question.newBuilder()
            .setQuestionId(UUID.randomUUID().toString())
            .setStreamId(stream)
            .setText(String.join(" ", words))
            .setAskedAtMillis(System.currentTimeMillis())
            .setMaxNewTokens(maxNewTokens)
            .setWantGrounding(grounding)
            .setTemperature(temperature)
            .setTopP(topP)
            .setSeed(seed)
            .build();
    if (grounding) {
      Result r =
          askGrounded(
              kafka.bootstrap,
              kafka.clientProperties(),
              topics,
              q,
              Duration.ofSeconds(timeoutSeconds));
      if (r.answer() == null) {
        System.err.println(
            "no answer within "
                + timeoutSeconds
                + " s (is an llm-worker running for these topics?)");
        return 2;
      }
      System.out.println(format(r.answer()));
      if (r.answer().getError() != null) {
        return 1;
      }
      if (r.grounding() == null) {
        System.err.println("no grounding record within " + timeoutSeconds + " s");
        return 3;
      }
      System.out.print(formatGrounding(r.grounding()));
      if (saveGrounding != null) {
        try {
          Files.write(
              saveGrounding,
              topics
                  .grounding()
                  .valueSerde()
                  .serializer()
                  .serialize(topics.grounding().name(), r.grounding()));
        } catch (IOException e) {
          throw new UncheckedIOException("cannot write " + saveGrounding, e);
        }
        System.out.println("  grounding saved to " + saveGrounding);
      }
      if (render != null) {
        java.util.Set<Long> wanted = new java.util.HashSet<>(r.grounding().getFrameIndices());
        List<Path> files =
            GroundingRender.write(
                r.grounding(),
                GroundingCommand.frames(
                    kafka.bootstrap,
                    kafka.clientProperties(),
                    topics.frames(),
                    stream,
                    wanted,
                    Duration.ofSeconds(timeoutSeconds)),
                render);
        System.out.println("  " + files.size() + " pictures in " + render);
      }
      return 0;
    }
    Answer a =
        ask(
            kafka.bootstrap,
            kafka.clientProperties(),
            topics,
            q,
            Duration.ofSeconds(timeoutSeconds));
    if (a == null) {
      System.err.println(
          "no answer within " + timeoutSeconds + " s (is an llm-worker running for these topics?)");
      return 2;
    }
    System.out.println(format(a));
    return a.getError() == null ? 0 : 1;
  }

  /** An answer and, when asked for, its grounding record (either may be null on time-out). */
  public record Result(Answer answer, Grounding grounding) {}

  /** Sends {@code q} (wantGrounding set) and waits for its answer and its Grounding record. */
  public static Result askGrounded(String bootstrap, Topics topics, Question q, Duration timeout) {
    return askGrounded(bootstrap, new Properties(), topics, q, timeout);
  }

  /** As above with Kafka client properties (security settings). */
  public static Result askGrounded(
      String bootstrap, Properties client, Topics topics, Question q, Duration timeout) {
    try (KafkaConsumer<String, Answer> answers =
            Clients.consumer(bootstrap, client, topics.answers());
        KafkaConsumer<String, Grounding> maps =
            Clients.consumer(bootstrap, client, topics.grounding());
        KafkaProducer<String, Question> producer =
            Clients.producer(bootstrap, client, topics.questions())) {
      atEnd(answers, topics.answers().name());
      atEnd(maps, topics.grounding().name());
      producer.send(new ProducerRecord<>(topics.questions().name(), q.getStreamId(), q));
      producer.flush();
      long deadline = System.nanoTime() + timeout.toNanos();
      Answer a = null;
      Grounding g = null;
      while (System.nanoTime() < deadline && (a == null || (g == null && a.getError() == null))) {
        for (ConsumerRecord<String, Answer> r : answers.poll(Duration.ofMillis(100))) {
          if (r.value() != null && q.getQuestionId().equals(r.value().getQuestionId())) {
            a = r.value();
          }
        }
        for (ConsumerRecord<String, Grounding> r : maps.poll(Duration.ofMillis(100))) {
          if (r.value() != null && q.getQuestionId().equals(r.value().getRefId())) {
            g = r.value();
          }
        }
      }
      return new Result(a, g);
    }
  }

  private static void atEnd(KafkaConsumer<String, ?> c, String topic) {
    List<TopicPartition> parts =
        c.partitionsFor(topic).stream()
            .map(p -> new TopicPartition(p.topic(), p.partition()))
            .collect(Collectors.toList());
    c.assign(parts);
    c.seekToEnd(parts);
    parts.forEach(c::position);
  }

  /** The 3x3 cell names ShapesWorld uses, row-major. */
  static final String[] CELLS = {
    "top left",
    "top",
    "top right",
    "left",
    "center",
    "right",
    "bottom left",
    "bottom",
    "bottom right"
  };

  /**
   * Where the answer looked: per frame its share of the Text-to-Patch mass and the 3x3 cell holding
   * most of that frame's mass; then the words.
   */
  static String formatGrounding(Grounding g) {
    int gh = g.getGridHeight();
    int gw = g.getGridWidth();
    int n = g.getFrameIndices().size();
    List<float[]> maps =
        GroundingRender.maps(Tensors.bytesOf(g.getTextToPatch()), n, gh * gw, "textToPatch");
    double total = 0;
    double[] perFrame = new double[n];
    for (int f = 0; f < n; f++) {
      for (float v : maps.get(f)) {
        perFrame[f] += Math.max(0, v);
      }
      total += perFrame[f];
    }
    StringBuilder sb =
        new StringBuilder(
            String.format(
                "  grounding (%s pooling, %d frames, %.0f ms):%n",
                g.getPooling(), n, g.getTimingsMillis().getOrDefault("total", 0.0)));
    for (int f = 0; f < n; f++) {
      double[] cells = new double[9];
      float[] m = maps.get(f);
      for (int p = 0; p < m.length; p++) {
        int cell = Math.min(2, (p / gw) * 3 / gh) * 3 + Math.min(2, (p % gw) * 3 / gw);
        cells[cell] += Math.max(0, m[p]);
      }
      int best = 0;
      for (int c = 1; c < 9; c++) {
        if (cells[c] > cells[best]) {
          best = c;
        }
      }
      sb.append(
          String.format(
              "    frame %d: %4.1f%% of the relevance, most in the %s (%.0f%% of the frame's)%n",
              g.getFrameIndices().get(f),
              total > 0 ? 100 * perFrame[f] / total : 0,
              CELLS[best],
              perFrame[f] > 0 ? 100 * cells[best] / perFrame[f] : 0));
    }
    if (!g.getWords().isEmpty()) {
      sb.append("    words: ")
          .append(g.getWords().stream().map(w -> w.getWord()).collect(Collectors.joining(" ")))
          .append(System.lineSeparator());
    }
    return sb.toString();
  }

  /** Sends {@code q} and waits for the answer with its id; null on time-out. */
  static Answer ask(String bootstrap, Topics topics, Question q, Duration timeout) {
    return ask(bootstrap, new Properties(), topics, q, timeout);
  }

  /** As above with Kafka client properties (security settings). */
  static Answer ask(
      String bootstrap, Properties client, Topics topics, Question q, Duration timeout) {
    try (KafkaConsumer<String, Answer> consumer =
            Clients.consumer(bootstrap, client, topics.answers());
        KafkaProducer<String, Question> producer =
            Clients.producer(bootstrap, client, topics.questions())) {
      // Position at the end of the answers topic BEFORE asking, so the answer cannot be missed.
      atEnd(consumer, topics.answers().name());
      producer.send(new ProducerRecord<>(topics.questions().name(), q.getStreamId(), q));
      producer.flush();
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, Answer> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.value() != null && q.getQuestionId().equals(r.value().getQuestionId())) {
            return r.value();
          }
        }
      }
      return null;
    }
  }

  static String format(Answer a) {
    if (a.getError() != null) {
      return String.format(
          "[%s] Q: %s%n  error: %s", a.getStreamId(), a.getQuestion(), a.getError());
    }
    return String.format(
            "[%s] Q: %s%n  A: %s%n  (frames %d..%d, %d frames x %d tokens, prompt %d tokens, %d generated, %.0f ms)",
            a.getStreamId(),
            a.getQuestion(),
            a.getText(),
            a.getFirstFrameIndex(),
            a.getLastFrameIndex(),
            a.getFrameCount(),
            a.getTokensPerFrame(),
            a.getPromptTokens(),
            a.getGeneratedTokens(),
            a.getTimingsMillis().getOrDefault("total", 0.0))
        + (a.getTemperature() != null && a.getTemperature() > 0
            ? String.format(
                "%n  (sampled: temperature %s, top-p %s, seed %d)",
                a.getTemperature(), a.getTopP(), a.getSeed())
            : "");
  }
}
