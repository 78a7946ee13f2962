package io.decostream.cli;

import io.decostream.schemas.AvroSerde;
import io.decostream.schemas.Frame;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Topic;
import io.decostream.schemas.Topics;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code deco grounding ...}: tools for the R-GAE grounding records (issue 4). */
@Command(
    name = "grounding",
    mixinStandardHelpOptions = true,
    description = "R-GAE grounding maps.",
    subcommands = {GroundingCommand.Render.class})
final class GroundingCommand implements Runnable {

  @Override
  public void run() {
    System.out.println("use a subcommand: render");
  }

  /**
   * {@code deco grounding render}: PNG overlays of grounding records, from the topic or from files.
   */
  @Command(
      name = "render",
      mixinStandardHelpOptions = true,
      description = {
        "Write PNG pictures of grounding records: each frame of the window with the Text-to-Patch map "
            + "blended over it, the window as a strip, and a strip per word.",
        "Records come from the grounding topic (all of --stream, or only --ref) or from --from files (single-object "
            + "Avro Grounding records, e.g. written by `deco ask --grounding --save-grounding`). Frame images come "
            + "from the frames topic when reachable; missing frames are drawn black."
      })
  static final class Render implements Callable<Integer> {
    @Mixin KafkaOptions kafka;

    @Option(names = "--stream", required = true, description = "Stream id.")
    String stream;

    @Option(names = "--out", required = true, description = "Output directory.")
    Path out;

    @Option(names = "--ref", description = "Only the record explaining this question/caption id.")
    String ref;

    @Option(names = "--from", description = "Read records from these files instead of the topic.")
    List<Path> from;

    @Option(names = "--no-frames", description = "Do not read frame images from the frames topic.")
    boolean noFrames;

    @Option(
        names = "--timeout",
        defaultValue = "30",
        description = "Seconds to spend reading topics (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Override
    public Integer call() {
      Topics topics = kafka.topics();
      List<Grounding> records = new ArrayList<>();
      if (from != null && !from.isEmpty()) {
        AvroSerde<Grounding> serde = AvroSerde.of(Grounding.class);
        for (Path p : from) {
          try {
            records.add(serde.deserialize(topics.grounding().name(), Files.readAllBytes(p)));
          } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p + ": " + e.getMessage(), e);
          }
        }
      } else {
        readAll(
            kafka.bootstrap,
            kafka.clientProperties(),
            topics.grounding(),
            Duration.ofSeconds(timeoutSeconds),
            r -> records.add(r.value()));
      }
      records.removeIf(
          g -> !stream.equals(g.getStreamId()) || (ref != null && !ref.equals(g.getRefId())));
      if (records.isEmpty()) {
        System.err.println(
            "no grounding records for stream " + stream + (ref == null ? "" : " and ref " + ref));
        return 1;
      }
      Set<Long> wanted = new HashSet<>();
      records.forEach(g -> wanted.addAll(g.getFrameIndices()));
      Map<Long, BufferedImage> frames =
          noFrames
              ? Map.of()
              : frames(
                  kafka.bootstrap,
                  kafka.clientProperties(),
                  topics.frames(),
                  stream,
                  wanted,
                  Duration.ofSeconds(timeoutSeconds));
      int files = 0;
      for (Grounding g : records) {
        List<Path> written = GroundingRender.write(g, frames, out);
        files += written.size();
        System.out.printf(
            "%s (%s, %d frames, %d words): %s%n",
            g.getRefId(),
            g.getKind(),
            g.getFrameIndices().size(),
            g.getWords().size(),
            written.get(written.size() - 1 - g.getWords().size()));
      }
      System.out.printf(
          "wrote %d pictures to %s (%d of %d frames found on the frames topic)%n",
          files, out, frames.size(), wanted.size());
      return 0;
    }
  }

  /** Reads a topic from the beginning to its end offsets at call time (or until the timeout). */
  static <V> void readAll(
      String bootstrap,
      java.util.Properties client,
      Topic<V> topic,
      Duration timeout,
      Consumer<ConsumerRecord<String, V>> sink) {
    try (KafkaConsumer<String, V> c = Clients.consumer(bootstrap, client, topic)) {
      List<TopicPartition> parts = new ArrayList<>();
      c.partitionsFor(topic.name(), timeout)
          .forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts, timeout);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline
          && parts.stream().anyMatch(p -> c.position(p) < end.get(p))) {
        for (ConsumerRecord<String, V> r : c.poll(Duration.ofMillis(200))) {
          if (r.value() != null) {
            sink.accept(r);
          }
        }
      }
    }
  }

  /** Frame images of {@code stream} with the wanted indices, decoded from the frames topic. */
  static Map<Long, BufferedImage> frames(
      String bootstrap,
      java.util.Properties client,
      Topic<Frame> topic,
      String stream,
      Set<Long> wanted,
      Duration timeout) {
    Map<Long, BufferedImage> out = new HashMap<>();
    try {
      readAll(
          bootstrap,
          client,
          topic,
          timeout,
          r -> {
            Frame f = r.value();
            if (stream.equals(f.getStreamId()) && wanted.contains(f.getFrameIndex())) {
              out.put(f.getFrameIndex(), GroundingRender.image(f));
            }
          });
    } catch (RuntimeException e) {
      System.err.println(
          "frames topic not readable (" + e.getMessage() + "); drawing maps on black");
    }
    return out;
  }
}
