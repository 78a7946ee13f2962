package io.decostream.cli;

import io.decostream.schemas.Answer;
import io.decostream.schemas.Question;
import io.decostream.schemas.Topics;
import java.time.Duration;
import java.util.List;
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

@Command(name = "ask", mixinStandardHelpOptions = true,
    description = "Ask a question about a stream and print the answer when it arrives.")
final class AskCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;

  @Option(names = "--stream", required = true, description = "Stream id.")
  String stream;

  @Parameters(arity = "1..*", paramLabel = "QUESTION", description = "The question (words are joined).")
  List<String> words;

  @Option(names = "--timeout", defaultValue = "120", description = "Seconds to wait for the answer (default ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Option(names = "--max-new-tokens", description = "Upper bound on generated tokens (default: the worker's).")
  Integer maxNewTokens;

  @Option(names = "--grounding", description = "Ask for R-GAE grounding maps with the answer.")
  boolean grounding;

  @Override
  public Integer call() {
    Topics topics = kafka.topics();
    Question q = Question.newBuilder().setQuestionId(UUID.randomUUID().toString()).setStreamId(stream)
        .setText(String.join(" ", words)).setAskedAtMillis(System.currentTimeMillis())
        .setMaxNewTokens(maxNewTokens).setWantGrounding(grounding).build();
    Answer a = ask(kafka.bootstrap, topics, q, Duration.ofSeconds(timeoutSeconds));
    if (a == null) {
      System.err.println("no answer within " + timeoutSeconds + " s (is an llm-worker running for these topics?)");
      return 2;
    }
    System.out.println(format(a));
    return a.getError() == null ? 0 : 1;
  }

  /** Sends {@code q} and waits for the answer with its id; null on time-out. */
  static Answer ask(String bootstrap, Topics topics, Question q, Duration timeout) {
    try (KafkaConsumer<String, Answer> consumer = Clients.consumer(bootstrap, topics.answers());
         KafkaProducer<String, Question> producer = Clients.producer(bootstrap, topics.questions())) {
      // Position at the end of the answers topic BEFORE asking, so the answer cannot be missed.
      List<TopicPartition> parts = consumer.partitionsFor(topics.answers().name()).stream()
          .map(p -> new TopicPartition(p.topic(), p.partition())).collect(Collectors.toList());
      consumer.assign(parts);
      consumer.seekToEnd(parts);
      parts.forEach(consumer::position);
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
      return String.format("[%s] Q: %s%n  error: %s", a.getStreamId(), a.getQuestion(), a.getError());
    }
    return String.format("[%s] Q: %s%n  A: %s%n  (frames %d..%d, %d frames x %d tokens, prompt %d tokens, %d generated, %.0f ms)",
        a.getStreamId(), a.getQuestion(), a.getText(), a.getFirstFrameIndex(), a.getLastFrameIndex(), a.getFrameCount(),
        a.getTokensPerFrame(), a.getPromptTokens(), a.getGeneratedTokens(),
        a.getTimingsMillis().getOrDefault("total", 0.0));
  }
}
