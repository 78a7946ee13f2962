package io.decostream.cli;

import io.decostream.ingest.LiveOptions;
import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.SourceLostException;
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
  /** Exit code when a live source was given up on (issue 18 point 5): a supervisor restarts. */
  static final int EXIT_SOURCE_LOST = 3;

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

  @Option(
      names = "--rtsp-transport",
      defaultValue = "auto",
      description =
          "RTSP transport: tcp, udp or auto (TCP first, UDP when TCP cannot be set up, e.g. 461"
              + " Unsupported transport). Default ${DEFAULT-VALUE}.")
  LiveOptions.RtspTransport rtspTransport;

  @Option(
      names = "--reconnect-initial",
      defaultValue = "0.5",
      description =
          "Seconds before the first reconnect to a lost live source; doubles after each failed"
              + " attempt (default ${DEFAULT-VALUE}).")
  double reconnectInitial;

  @Option(
      names = "--reconnect-max",
      defaultValue = "10",
      description =
          "Longest wait between reconnect attempts in seconds (default ${DEFAULT-VALUE}).")
  double reconnectMax;

  @Option(
      names = "--give-up-after",
      defaultValue = "60",
      description =
          "Seconds a live source may stay unreachable before publish exits with status "
              + EXIT_SOURCE_LOST
              + " (default ${DEFAULT-VALUE}).")
  double giveUpAfter;

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
            maxChunks == null ? OptionalLong.empty() : OptionalLong.of(maxChunks),
            new LiveOptions(
                rtspTransport,
                seconds(reconnectInitial),
                seconds(reconnectMax),
                seconds(giveUpAfter)));
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
      try {
        Publisher.Result r = publisher.run(Publisher.printEvery(5, System.out, stream));
        System.out.printf(
            "published %d chunks (%.1f s of video, %.1f MB)%s%s%n",
            r.chunks(),
            r.videoSeconds(),
            r.bytes() / 1e6,
            r.stopped() ? ", stopped" : "",
            r.stats().line());
      } catch (SourceLostException lost) {
        // not a normal end: say so and exit non-zero, so a supervisor can tell it failed
        System.out.printf(
            "published %d chunks before the source was lost%s%n",
            publisher.ackedChunks(), publisher.stats().line());
        System.err.println("deco publish: error: " + lost.getMessage());
        return EXIT_SOURCE_LOST;
      } finally {
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
          // Ctrl-C: the hook already ran
        }
      }
    }
    return 0;
  }

  private static Duration seconds(double s) {
    if (!(s >= 0 && s <= 86_400)) {
      throw new IllegalArgumentException("durations must be 0..86400 seconds, got " + s);
    }
    return Duration.ofNanos(Math.round(s * 1e9));
  }
}
