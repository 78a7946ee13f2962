package io.decostream.cli;

import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.llava.nextvideo.LlavaNextVideoConfig;
import io.decostream.nn.tiny.TinyFamilies;
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
          "Write a small random model pack (HF checkpoint format) for tests and the demo:"
              + " llava_next_video (default), llava (LLaVA-1.5: CLIP + Llama, vicuna_v1) or"
              + " llava_onevision (SigLIP + Qwen2, ChatML).")
  static final class Tiny implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "Output directory.")
    Path out;

    @Option(
        names = "--seed",
        defaultValue = "42",
        description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
        names = "--type",
        defaultValue = "llava_next_video",
        description =
            "Model family: llava_next_video, llava or llava_onevision (default ${DEFAULT-VALUE}).")
    String type;

    @Override
    public Integer call() {
      ModelFamily family = ModelFamily.ofModelType(type);
      if (family != ModelFamily.LLAVA_NEXT_VIDEO) {
        TinyFamilies.write(out, family, TinyPack.Spec.defaults(), seed);
        System.out.printf("wrote tiny %s pack to %s%n", family.modelType(), out);
        return 0;
      }
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
