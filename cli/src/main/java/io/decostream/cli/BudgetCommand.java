package io.decostream.cli;

import io.decostream.nn.llava.families.Families;
import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.BudgetControl;
import io.decostream.schemas.BudgetSpec;
import io.decostream.schemas.Topic;
import io.decostream.worker.WorkerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code deco budget}: sets a stream's token budget while it runs (issue 21 point 4). The control
 * record goes to the control topic; every encoder instance applies it from the stream's next frame.
 */
@Command(
    name = "budget",
    mixinStandardHelpOptions = true,
    description = {
      "Set a stream's token budget (its DeCo compressor) from its next frame on, on every encoder,"
          + " without a restart.",
      "  deco budget --stream cam1 avg:8            64 tokens per frame",
      "  deco budget --stream cam1 --frames 64 --model DIR   the finest avg grid that lets 64"
          + " frames fit the worker's context"
    })
public final class BudgetCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;

  @Option(names = "--stream", required = true, description = "Stream id.")
  String stream;

  @Parameters(
      arity = "0..1",
      paramLabel = "SPEC",
      description = "Compressor: avg:12 (144 tokens), avg:8, avg:6, max:12, max:8x6, none (576).")
  String spec;

  @Option(
      names = "--frames",
      paramLabel = "N",
      description =
          "Instead of SPEC: choose the finest avg grid whose tokens let N frames fit the worker's"
              + " context (needs --model or --context).")
  Integer frames;

  @Option(
      names = "--model",
      paramLabel = "DIR",
      description =
          "Model pack whose config.json gives the context length and the patch grid"
              + " (no weights are loaded).")
  Path model;

  @Option(
      names = "--context",
      paramLabel = "TOKENS",
      description = "With --frames and no --model: the language model's context length.")
  Integer context;

  @Option(
      names = "--reserved",
      paramLabel = "TOKENS",
      description =
          "Context kept for the prompt text and the answer (default: the worker's, ${DEFAULT-VALUE}).")
  int reserved = WorkerConfig.defaults().reservedTextTokens();

  @Option(
      names = "--patch-grid",
      paramLabel = "N",
      description =
          "The vision tower's patch grid side (24 for CLIP-L/14-336), when there is no --model;"
              + " default 24 with --frames, else the encoder checks it.")
  Integer patchGrid;

  @Option(
      names = "--by",
      paramLabel = "NAME",
      description = "Who asks, for the encoders' logs (default: the user name).")
  String by = System.getProperty("user.name");

  @Option(names = "--dry-run", description = "Check and print the budget, send nothing.")
  boolean dryRun;

  @Option(
      names = "--timeout",
      defaultValue = "30",
      description = "Seconds to wait for the broker to take the record (default ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  /** The grid chosen for a frame count, with its arithmetic for the message. */
  record Choice(int grid, int tokensPerFrame, int frames, int available) {
    String spec() {
      return "avg:" + grid;
    }
  }

  /**
   * The finest n x n average grid (n at most {@code patchGrid}) with {@code frames * n * n <=
   * context - reserved}: the most tokens per frame that still let every frame fit.
   *
   * @throws IllegalArgumentException when not even one token per frame fits, or on bad numbers
   */
  static Choice choose(int frames, int context, int reserved, int patchGrid) {
    if (frames < 1) {
      throw new IllegalArgumentException("--frames must be >= 1, got " + frames);
    }
    if (context < 1) {
      throw new IllegalArgumentException("the context length must be >= 1, got " + context);
    }
    if (reserved < 0) {
      throw new IllegalArgumentException("--reserved must be >= 0, got " + reserved);
    }
    if (patchGrid < 1) {
      throw new IllegalArgumentException("the patch grid must be >= 1, got " + patchGrid);
    }
    int available = context - reserved;
    for (int n = patchGrid; n >= 1; n--) {
      if ((long) frames * n * n <= available) {
        return new Choice(n, n * n, frames, available);
      }
    }
    throw new IllegalArgumentException(
        frames
            + " frames do not fit even at 1 token per frame: the context of "
            + context
            + " tokens less "
            + reserved
            + " reserved leaves "
            + Math.max(0, available));
  }

  @Override
  public Integer call() throws Exception {
    if ((spec == null) == (frames == null)) {
      throw new IllegalArgumentException(
          "give either a SPEC (e.g. avg:8) or --frames N, not "
              + (spec == null ? "neither" : "both"));
    }
    // any family's pack (issue 23 point 3): its grid and context from config.json
    Families.Sizes config = model == null ? null : Families.sizes(model);
    int grid =
        config != null
            ? config.visionGrid()
            : patchGrid != null ? patchGrid : frames != null ? 24 : 0;
    String chosen;
    if (frames != null) {
      if (config == null && context == null) {
        throw new IllegalArgumentException("--frames needs --model DIR or --context N");
      }
      int ctx = context != null ? context : config.contextLength();
      Choice c = choose(frames, ctx, reserved, grid);
      chosen = c.spec();
      System.out.printf(
          "budget for %s: %s chosen: %d tokens per frame, %d frames x %d = %d of the %d tokens"
              + " left by a %d-token context less %d reserved (patch grid %dx%d)%n",
          stream,
          chosen,
          c.tokensPerFrame(),
          frames,
          c.tokensPerFrame(),
          frames * c.tokensPerFrame(),
          c.available(),
          ctx,
          reserved,
          grid,
          grid);
    } else {
      chosen = spec;
    }
    if (model != null) {
      // the family's own refusal (issue 23 point 3), here rather than as a dead letter later
      String why = Families.compressorRefusal(model, TokenCompressor.parse(chosen));
      if (why != null) {
        throw new IllegalArgumentException("budget " + chosen + " refused: " + why);
      }
    }
    BudgetControl control =
        BudgetControl.newBuilder()
            .setStreamId(stream)
            .setCompressor(chosen)
            .setRequestedAtMillis(System.currentTimeMillis())
            .setRequestedBy(by == null || by.isBlank() ? null : by)
            .build();
    // the same check the encoder makes, so a bad budget is refused here with the same reason
    Topic<BudgetControl> topic = kafka.topics().control();
    byte[] value = topic.valueSerde().serializer().serialize(topic.name(), control);
    BudgetSpec.Verdict v =
        BudgetSpec.check(
            topic,
            topic.name(),
            stream.getBytes(java.nio.charset.StandardCharsets.UTF_8),
            value,
            grid);
    if (!v.accepted()) {
      throw new IllegalArgumentException(v.reason());
    }
    BudgetSpec c = v.spec();
    String tokens = c.isAnyGrid() ? "the whole patch grid" : c.tokens() + " tokens per frame";
    if (dryRun) {
      System.out.println("budget for " + stream + ": " + c.spec() + " (" + tokens + "), not sent");
      return 0;
    }
    Properties client = kafka.clientProperties();
    try (Admin admin = Clients.admin(kafka.bootstrap, client)) {
      TopicWait.await(
          "budget",
          admin,
          List.of(topic.name()),
          kafka.createTopicsHint(),
          Duration.ofSeconds(2),
          System.out,
          () -> false);
    }
    try (KafkaProducer<String, BudgetControl> producer =
        Clients.producer(kafka.bootstrap, client, topic)) {
      producer
          .send(new ProducerRecord<>(topic.name(), stream, control))
          .get(timeoutSeconds, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "the broker did not take the budget within " + timeoutSeconds + " s: " + e, e);
    }
    System.out.println(
        "budget for "
            + stream
            + ": "
            + c.spec()
            + " ("
            + tokens
            + ") sent to "
            + topic.name()
            + "; encoders apply it from the stream's next frame");
    return 0;
  }
}
