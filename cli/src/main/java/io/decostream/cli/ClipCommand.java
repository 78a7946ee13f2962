package io.decostream.cli;

import io.decostream.ingest.SyntheticVideo;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "clip",
    mixinStandardHelpOptions = true,
    description =
        "Write a synthetic test clip (moving coloured shapes, real H.264 through FFmpeg).")
final class ClipCommand implements Callable<Integer> {
  @Option(names = "--out", required = true, description = "Output file (.mp4 or .ts).")
  Path out;

  @Option(
      names = "--seconds",
      defaultValue = "12",
      description = "Duration (default ${DEFAULT-VALUE}).")
  double seconds;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Random seed (default ${DEFAULT-VALUE}).")
  long seed;

  @Override
  public Integer call() {
    SyntheticVideo.Spec spec = SyntheticVideo.Spec.defaults(seconds).withSeed(seed);
    if (out.toString().endsWith(".ts")) {
      spec = spec.withContainer(SyntheticVideo.Container.MPEGTS);
    }
    SyntheticVideo.write(out, spec);
    System.out.printf(
        "wrote %s (%.0f s, %dx%d, %.0f fps)%n",
        out, seconds, spec.width(), spec.height(), spec.fps());
    return 0;
  }
}
