package io.decostream.cli;

import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.schemas.Topic;
import io.decostream.schemas.VideoChunk;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "publish",
    mixinStandardHelpOptions = true,
    description =
        "Read a video (file, rtsp:// URL or /dev/videoN), cut it into self-contained chunks and produce them.")
final class PublishCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;

  @Option(names = "--stream", required = true, description = "Stream id (the Kafka key).")
  String stream;

  @Option(names = "--source", required = true, description = "FILE, rtsp://... or /dev/videoN.")
  String source;

  @Option(
      names = "--chunk-seconds",
      defaultValue = "1.0",
      description = "Target chunk length (default ${DEFAULT-VALUE}).")
  double chunkSeconds;

  @Option(names = "--realtime", description = "Pace sending at the source's frame rate.")
  boolean realtime;

  @Option(names = "--loop", description = "Repeat a file forever.")
  boolean loop;

  @Option(names = "--max-chunks", description = "Stop after this many chunks.")
  Long maxChunks;

  @Override
  public Integer call() throws Exception {
    PublishConfig config =
        new PublishConfig(
            kafka.bootstrap,
            stream,
            source,
            chunkSeconds,
            realtime,
            loop,
            kafka.topicNames(),
            maxChunks == null ? OptionalLong.empty() : OptionalLong.of(maxChunks));
    // the chunks topic is created explicitly (deco broker / deco topics create), never here
    // with a guessed partition count (issue 18 point 3); client properties: issue 18 point 8
    Properties client = kafka.clientProperties();
    try (Admin admin = Clients.admin(kafka.bootstrap, client)) {
      TopicWait.await(
          "publish",
          admin,
          List.of(kafka.topics().chunks().name()),
          kafka.createTopicsHint(),
          Duration.ofSeconds(2),
          System.out,
          () -> false);
    }
    Topic<VideoChunk> chunks = kafka.topics().chunks();
    try (Publisher publisher =
        new Publisher(
            config,
            new KafkaProducer<>(
                Clients.with(
                    Publisher.producerConfig(config),
                    client,
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                    kafka.bootstrap),
                chunks.keySerde().serializer(),
                chunks.valueSerde().serializer()))) {
      Thread hook = new Thread(publisher::stop);
      Runtime.getRuntime().addShutdownHook(hook);
      Publisher.Result r = publisher.run(Publisher.printEvery(5, System.out, stream));
      System.out.printf(
          "published %d chunks (%.1f s of video, %.1f MB)%s%n",
          r.chunks(), r.videoSeconds(), r.bytes() / 1e6, r.stopped() ? ", stopped" : "");
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // Ctrl-C: the hook already ran
      }
    }
    return 0;
  }
}
