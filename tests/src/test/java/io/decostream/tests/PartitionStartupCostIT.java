package io.decostream.tests;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.decostream.broker.EmbeddedBroker;
import io.decostream.cli.Clients;
import io.decostream.cli.Pipeline;
import io.decostream.ingest.PublishConfig;
import io.decostream.ingest.Publisher;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.schemas.TopicNames;
import io.decostream.schemas.Topics;
import io.decostream.tests.fault.OutputWatch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The start-up price of the default partition count (issue 22 point 4): the demo's in-process
 * pipeline (frames, encoder, worker on a tiny pack) started against topics of 2 and of {@link
 * Clients#DEFAULT_PARTITIONS} partitions, alternately, timing start to all stages RUNNING and to
 * the first frame tokens of a clip, and the JVM's resident memory after. A measurement, not a
 * check: it runs only with {@code -Ddeco.bench.partitions=true}.
 */
@Timeout(900)
class PartitionStartupCostIT {
  @TempDir Path tmp;

  @Test
  void startUpWithTwoAndWithTheDefaultPartitions() throws Exception {
    assumeTrue(Boolean.getBoolean("deco.bench.partitions"), "-Ddeco.bench.partitions=true");
    Path pack = tmp.resolve("pack");
    TinyPack.write(pack, 7);
    Path clip = SyntheticVideo.write(tmp.resolve("clip.mp4"), SyntheticVideo.Spec.defaults(3));
    List<String> rows = new ArrayList<>();
    int round = 0;
    for (int partitions :
        new int[] {2, Clients.DEFAULT_PARTITIONS, 2, Clients.DEFAULT_PARTITIONS}) {
      round++;
      try (EmbeddedBroker broker = EmbeddedBroker.start()) {
        String bootstrap = broker.bootstrapServers();
        TopicNames names = TopicNames.withPrefix("cost" + round + ".");
        Topics topics = Topics.of(names);
        Clients.ensureTopics(bootstrap, topics, partitions);
        long t0 = System.nanoTime();
        try (Pipeline p =
                Pipeline.start(
                    bootstrap,
                    names,
                    new Pipeline.Options(
                        pack, 1.0, null, 0, 2, Files.createTempDirectory(tmp, "state")));
            OutputWatch watch = new OutputWatch(bootstrap, topics)) {
          p.awaitRunning(Duration.ofMinutes(5));
          double running = (System.nanoTime() - t0) / 1e9;
          try (Publisher pub =
              new Publisher(
                  new PublishConfig(
                      bootstrap,
                      "cam",
                      clip.toString(),
                      1.0,
                      false,
                      false,
                      topics.names(),
                      OptionalLong.empty()))) {
            pub.run();
          }
          while (watch.tokens.isEmpty() && (System.nanoTime() - t0) < 300e9) {
            Thread.sleep(20);
          }
          double firstTokens = (System.nanoTime() - t0) / 1e9;
          rows.add(
              String.format(
                  "| %d | %.1f | %.1f | %d |", partitions, running, firstTokens, rssMib()));
        }
      }
    }
    System.out.println(
        "\n| partitions | start to RUNNING (s) | start to first tokens (s) | RSS after (MiB) |\n"
            + "|---:|---:|---:|---:|\n"
            + String.join("\n", rows));
  }

  private static long rssMib() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
      }
    }
    return -1;
  }
}
