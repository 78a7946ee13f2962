package io.decostream.lab;

import io.decostream.train.PackRegrid;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code deco regrid} (issue 5, point 6): moves a trained pack to another vision input size and
 * pool stride, so each frame gives the LLM a finer (or coarser) grid of tokens, keeping every
 * trained weight; the ViT's position embedding is resampled as HF's {@code
 * interpolate_pos_encoding} does. Training then adapts the model to the new grid.
 */
@Command(
    name = "regrid",
    mixinStandardHelpOptions = true,
    description =
        "Copy a llava_next_video pack with a new vision input size and spatial pool stride (the ViT "
            + "position embedding resampled bilinearly), to fine-tune it on a finer token grid.")
final class RegridCommand implements Callable<Integer> {

  @Option(names = "--from", required = true, description = "The pack to start from.")
  Path from;

  @Option(
      names = "--out",
      required = true,
      description = "Where to write the re-gridded pack (created).")
  Path out;

  @Option(
      names = "--image-size",
      required = true,
      description = "New vision input side, a multiple of the patch size.")
  int imageSize;

  @Option(
      names = "--pool-stride",
      required = true,
      description = "New spatial_pool_stride; must divide the patch grid.")
  int poolStride;

  @Option(
      names = "--max-positions",
      defaultValue = "0",
      description =
          "New text_config.max_position_embeddings (0 keeps it; raise it when frames bring more tokens).")
  int maxPositions;

  @Override
  public Integer call() {
    PackRegrid.Result r = PackRegrid.regrid(from, out, imageSize, poolStride, maxPositions);
    System.out.printf(
        "%s -> %s: patch grid %dx%d -> %dx%d, %d -> %d tokens per frame, max positions %d%n",
        from,
        out,
        r.oldGrid(),
        r.oldGrid(),
        r.newGrid(),
        r.newGrid(),
        r.oldTokensPerFrame(),
        r.newTokensPerFrame(),
        r.maxPositions());
    return 0;
  }
}
