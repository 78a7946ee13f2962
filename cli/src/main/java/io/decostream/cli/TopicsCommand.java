package io.decostream.cli;

import io.decostream.schemas.Topic;
import io.decostream.schemas.TopicAdmin;
import io.decostream.schemas.Topics;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.SortedSet;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "topics",
    mixinStandardHelpOptions = true,
    description = "Manage the DeCo topics of a cluster.",
    subcommands = {TopicsCommand.Create.class})
final class TopicsCommand implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = {
        "Create the DeCo topics that are missing (existing ones are left as they are), with the"
            + " project's size limits.",
        "Run it once per cluster before the stages: they wait for their topics and never create"
            + " them. Keep topic auto-creation off on external clusters"
            + " (auto.create.topics.enable=false): an auto-created topic gets the broker's default"
            + " partition count, which the stages' co-partitioned state cannot use."
      })
  static final class Create implements Callable<Integer> {
    @Mixin KafkaOptions kafka;

    @Option(
        names = "--partitions",
        defaultValue = Clients.PARTITIONS_OPTION_DEFAULT,
        description =
            "Partitions per topic (env "
                + Clients.PARTITIONS_ENV
                + "; default ${DEFAULT-VALUE}; every DeCo topic gets the same count, which keeps"
                + " them co-partitioned by stream id). It caps how many processes of one stage"
                + " share the work; it cannot be raised later without moving streams.")
    int partitions;

    @Option(
        names = "--replication",
        description = "Replication factor (default: the broker's default.replication.factor).")
    Short replication;

    @Override
    public Integer call() {
      Clients.checkPartitions(partitions);
      create(
          kafka.bootstrap,
          kafka.clientProperties(),
          kafka.topics(),
          Optional.of(partitions),
          Optional.ofNullable(replication),
          System.out);
      return 0;
    }
  }

  /**
   * Creates the missing DeCo topics and prints one line per topic: created, or existing with its
   * partition count (a differing count is flagged).
   */
  static void create(
      String bootstrap,
      Properties client,
      Topics topics,
      Optional<Integer> partitions,
      Optional<Short> replication,
      PrintStream out) {
    List<String> names = new ArrayList<>();
    for (Topic<?> t : topics.all()) {
      names.add(t.name());
    }
    try (Admin admin = Clients.admin(bootstrap, client)) {
      SortedSet<String> created =
          TopicAdmin.createMissing(
              admin, names, partitions, replication, TopicAdmin.compacted(topics));
      Map<String, Integer> counts = TopicAdmin.partitions(admin, names, 30_000);
      for (String name : names) {
        Integer n = counts.get(name);
        String line =
            created.contains(name)
                ? "created " + name + " (" + n + " partitions)"
                : "exists  " + name + " (" + n + " partitions)";
        if (!created.contains(name) && partitions.isPresent() && !partitions.get().equals(n)) {
          line += " -- not the " + partitions.get() + " asked for; left as it is";
        }
        out.println(line);
      }
    }
  }
}
