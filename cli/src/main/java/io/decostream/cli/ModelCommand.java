package io.decostream.cli;

import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import io.decostream.nn.tiny.TinyPack;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "model",
    mixinStandardHelpOptions = true,
    description = "Model pack tools.",
    subcommands = {ModelCommand.Tiny.class, ModelForwardCommand.class})
final class ModelCommand implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  @Command(
      name = "tiny",
      mixinStandardHelpOptions = true,
      description =
          "Write a small random llava_next_video pack (HF checkpoint format) for tests and the demo.")
  static final class Tiny implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "Output directory.")
    Path out;

    @Option(
        names = "--seed",
        defaultValue = "42",
        description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
      LlavaNextVideoConfig c = TinyPack.write(out, seed);
      System.out.printf(
          "wrote tiny llava_next_video pack to %s (vision %d layers x %d, text %d layers x %d, vocab %d)%n",
          out,
          c.visionConfig().numHiddenLayers(),
          c.visionConfig().hiddenSize(),
          c.textConfig().numHiddenLayers(),
          c.textConfig().hiddenSize(),
          c.textConfig().vocabSize());
      return 0;
    }
  }
}
