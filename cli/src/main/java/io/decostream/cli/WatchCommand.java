package io.decostream.cli;

import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.DeadLetter;
import io.decostream.schemas.Topics;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "watch",
    mixinStandardHelpOptions = true,
    description =
        "Print answers, captions and dead letters of a stream as they arrive, until Ctrl-C.")
final class WatchCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;

  @Option(names = "--stream", description = "Stream id (default: all streams).")
  String stream;

  @Option(
      names = "--from-beginning",
      description = "Start from the oldest records instead of new ones.")
  boolean fromBeginning;

  @Option(
      names = "--for",
      paramLabel = "SECONDS",
      description = "Stop after this many seconds (default: until Ctrl-C).")
  Integer forSeconds;

  @Override
  public Integer call() {
    Topics topics = kafka.topics();
    AtomicBoolean running = new AtomicBoolean(true);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> running.set(false)));
    java.util.Properties client = kafka.clientProperties();
    // read_committed consumers (Clients): only what the exactly-once stages committed
    try (KafkaConsumer<String, Answer> answers =
            Clients.consumer(kafka.bootstrap, client, topics.answers());
        KafkaConsumer<String, Caption> captions =
            Clients.consumer(kafka.bootstrap, client, topics.captions());
        KafkaConsumer<String, DeadLetter> dead =
            Clients.consumer(kafka.bootstrap, client, topics.deadLetters())) {
      answers.subscribe(List.of(topics.answers().name()));
      captions.subscribe(List.of(topics.captions().name()));
      dead.subscribe(List.of(topics.deadLetters().name()));
      if (fromBeginning) {
        for (KafkaConsumer<String, ?> c : List.of(answers, captions, dead)) {
          while (c.assignment().isEmpty()) {
            c.poll(Duration.ofMillis(100));
          }
          c.seekToBeginning(c.assignment());
        }
      }
      long deadline =
          forSeconds == null ? Long.MAX_VALUE : System.nanoTime() + forSeconds * 1_000_000_000L;
      System.out.println(
          "watching " + (stream == null ? "all streams" : "stream " + stream) + " (Ctrl-C stops)");
      while (running.get() && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, Answer> r : answers.poll(Duration.ofMillis(100))) {
          if (matches(r.key())) {
            System.out.println(AskCommand.format(r.value()));
          }
        }
        for (ConsumerRecord<String, Caption> r : captions.poll(Duration.ofMillis(100))) {
          if (matches(r.key())) {
            System.out.println(formatCaption(r.value()));
          }
        }
        for (ConsumerRecord<String, DeadLetter> r : dead.poll(Duration.ofMillis(100))) {
          if (matches(r.value().getStreamId())) {
            System.out.printf(
                "[%s] dead letter from %s: %s%n",
                r.value().getStreamId(), r.value().getStage(), r.value().getReason());
          }
        }
      }
    }
    return 0;
  }

  private boolean matches(String key) {
    return stream == null || stream.equals(key);
  }

  static String formatCaption(Caption c) {
    return String.format(
        "[%s] caption frames %d..%d: %s",
        c.getStreamId(), c.getFirstFrameIndex(), c.getLastFrameIndex(), c.getText());
  }
}
