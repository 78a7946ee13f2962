package io.decostream.lab;

import io.decostream.frames.ChunkDecoder;
import io.decostream.frames.ChunkRejected;
import io.decostream.frames.FramesConfig;
import io.decostream.ingest.Chunk;
import io.decostream.ingest.Chunker;
import io.decostream.ingest.ChunkerOptions;
import io.decostream.ingest.SyntheticVideo;
import io.decostream.lab.corpus.BadInputCorpus;
import io.decostream.schemas.VideoChunk;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code deco fuzz}: a time-bounded mutation fuzz run of the frames stage's decoder (issue 18 point
 * 7). Good chunks (synthetic H.264 and MPEG-4 video cut by the real ingest Chunker) are mutated
 * (bit flips anywhere or only in packet payloads, truncation, splices of two chunks, dropped or
 * repeated packets, header patches, timestamp jumps) and fed straight to {@link ChunkDecoder} (no
 * broker), and every outcome is counted: decoded, rejected (grouped by reason), cut at the decode
 * bound, crashed (an exception other than a rejection; 0 expected, exit status 1 otherwise). A
 * crash of the JVM itself would end the run: the command line and seed reproduce it.
 */
@Command(
    name = "fuzz",
    mixinStandardHelpOptions = true,
    description = "Mutation fuzz of the frames decoder for a bounded time; prints outcome counts.")
final class FuzzCommand implements Callable<Integer> {

  @Option(
      names = "--seconds",
      defaultValue = "30",
      description = "How long to fuzz (default ${DEFAULT-VALUE}).")
  double seconds;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Seed of the mutations (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--max-decode-ms",
      defaultValue = "2000",
      description = "Decode bound per chunk in ms (default ${DEFAULT-VALUE}).")
  long maxDecodeMillis;

  /** Counts of one run. */
  record Result(
      int total,
      int decoded,
      int rejected,
      int cut,
      int crashed,
      Map<String, Integer> reasons,
      Map<String, Integer> mutations,
      List<String> crashes) {}

  @Override
  public Integer call() throws Exception {
    Result r = run(seconds, seed, maxDecodeMillis, System.out);
    return r.crashed() == 0 ? 0 : 1;
  }

  static Result run(double seconds, long seed, long maxDecodeMillis, PrintStream out)
      throws Exception {
    Path dir = Files.createTempDirectory("deco-fuzz");
    List<VideoChunk> goods = new ArrayList<>();
    goods.addAll(
        cut(dir, "h264.mp4", SyntheticVideo.Spec.defaults(3).withSize(160, 120).withSeed(seed)));
    goods.addAll(
        cut(
            dir,
            "mpeg4.mp4",
            SyntheticVideo.Spec.defaults(2)
                .withSize(128, 96)
                .withCodec(SyntheticVideo.Codec.MPEG4)
                .withSeed(seed + 1)));
    ChunkDecoder decoder =
        new ChunkDecoder(FramesConfig.defaults().withMaxDecodeMillis(maxDecodeMillis));
    Random r = new Random(seed);
    long end = System.nanoTime() + Math.round(seconds * 1e9);
    int total = 0;
    int decoded = 0;
    int rejected = 0;
    int cutCount = 0;
    Map<String, Integer> reasons = new TreeMap<>();
    Map<String, Integer> mutations = new TreeMap<>();
    List<String> crashes = new ArrayList<>();
    while (System.nanoTime() < end) {
      VideoChunk base = goods.get(r.nextInt(goods.size()));
      byte[] data = bytes(base.getData());
      String kind = MUTATIONS[r.nextInt(MUTATIONS.length)];
      byte[] mutated = mutate(kind, data, bytes(goods.get(r.nextInt(goods.size())).getData()), r);
      VideoChunk c = VideoChunk.newBuilder(base).setData(ByteBuffer.wrap(mutated)).build();
      total++;
      mutations.merge(kind, 1, Integer::sum);
      try {
        decoder.decode(c, (ts, img) -> img.get());
        decoded++;
      } catch (ChunkRejected e) {
        if (e.reason().startsWith("decode exceeded")) {
          cutCount++;
        } else {
          rejected++;
        }
        reasons.merge(group(e.reason()), 1, Integer::sum);
      } catch (RuntimeException | Error e) {
        crashes.add(kind + " (case " + total + "): " + e);
      }
    }
    Result res =
        new Result(
            total,
            decoded,
            rejected,
            cutCount,
            crashes.size(),
            reasons,
            mutations,
            List.copyOf(crashes));
    print(res, seconds, seed, out);
    return res;
  }

  static final String[] MUTATIONS = {
    "bit-flips",
    "payload-bit-flips",
    "truncate",
    "splice",
    "drop-packet",
    "repeat-packet",
    "header-stomp",
    "pts-jump",
    "byte-run"
  };

  /** One mutation of {@code data} ({@code other}: a second good chunk, for splices). */
  static byte[] mutate(String kind, byte[] data, byte[] other, Random r) {
    int packets = data.length / 188;
    switch (kind) {
      case "bit-flips":
        {
          byte[] out = data.clone();
          for (int i = 1 + r.nextInt(32); i > 0; i--) {
            out[r.nextInt(out.length)] ^= (byte) (1 << r.nextInt(8));
          }
          return out;
        }
      case "payload-bit-flips":
        {
          // never a sync byte: only the decoder can notice these
          byte[] out = data.clone();
          for (int i = 1 + r.nextInt(16); i > 0; i--) {
            int at = r.nextInt(out.length);
            if (at % 188 >= 4) {
              out[at] ^= (byte) (1 << r.nextInt(8));
            }
          }
          return out;
        }
      case "truncate":
        {
          // half at packet boundaries (only the decoder notices), half anywhere
          int keep = r.nextInt(data.length);
          if (r.nextBoolean()) {
            keep = keep / 188 * 188;
          }
          return Arrays.copyOf(data, Math.max(1, keep));
        }
      case "splice":
        {
          int a = r.nextInt(packets + 1) * 188;
          int b = r.nextInt(other.length / 188 + 1) * 188;
          byte[] out = Arrays.copyOf(data, a + other.length - b);
          System.arraycopy(other, b, out, a, other.length - b);
          return out.length == 0 ? data.clone() : out;
        }
      case "drop-packet":
        {
          int p = r.nextInt(Math.max(1, packets)) * 188;
          byte[] out = new byte[data.length - 188];
          System.arraycopy(data, 0, out, 0, p);
          System.arraycopy(data, p + 188, out, p, data.length - p - 188);
          return out.length == 0 ? data.clone() : out;
        }
      case "repeat-packet":
        {
          int p = r.nextInt(Math.max(1, packets)) * 188;
          byte[] out = new byte[data.length + 188];
          System.arraycopy(data, 0, out, 0, p + 188);
          System.arraycopy(data, p, out, p + 188, data.length - p);
          return out;
        }
      case "header-stomp":
        {
          // random bytes over one of the first packets' headers/PSI (PAT, PMT, PES headers)
          byte[] out = data.clone();
          int p = r.nextInt(Math.min(4, Math.max(1, packets))) * 188;
          int from = p + 1 + r.nextInt(20);
          for (int i = 0; i < 1 + r.nextInt(8) && from + i < out.length; i++) {
            out[from + i] = (byte) r.nextInt(256);
          }
          return out;
        }
      case "pts-jump":
        return BadInputCorpus.shiftLaterPts(data, (1L + r.nextInt(1 << 20)) * 90L);
      case "byte-run":
        {
          byte[] out = data.clone();
          int from = r.nextInt(out.length);
          Arrays.fill(
              out,
              from,
              Math.min(out.length, from + 1 + r.nextInt(4096)),
              (byte) (r.nextBoolean() ? 0 : 0xFF));
          return out;
        }
      default:
        throw new IllegalArgumentException(kind);
    }
  }

  /** A reason without its numbers and details, so rejections group by kind. */
  static String group(String reason) {
    String g = reason.replaceAll("\\d+(\\.\\d+)?", "N");
    int colon = g.indexOf(": ");
    if (colon > 0) {
      g = g.substring(0, colon);
    }
    return g.length() > 110 ? g.substring(0, 107) + "..." : g;
  }

  static void print(Result r, double seconds, long seed, PrintStream out) {
    out.printf(
        Locale.ROOT, "deco fuzz: %.0f s, seed %d, %d mutated chunks%n", seconds, seed, r.total());
    out.printf(Locale.ROOT, "  decoded ok        %6d%n", r.decoded());
    out.printf(Locale.ROOT, "  rejected          %6d%n", r.rejected());
    out.printf(Locale.ROOT, "  hung (cut)        %6d%n", r.cut());
    out.printf(Locale.ROOT, "  crashed           %6d%n", r.crashed());
    out.println("mutations:");
    r.mutations().forEach((k, v) -> out.printf(Locale.ROOT, "  %-20s %6d%n", k, v));
    out.println("rejections by reason:");
    r.reasons().entrySet().stream()
        .sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
        .forEach(e -> out.printf(Locale.ROOT, "  %6d  %s%n", e.getValue(), e.getKey()));
    r.crashes().forEach(c -> out.println("CRASH " + c));
  }

  private static List<VideoChunk> cut(Path dir, String name, SyntheticVideo.Spec spec)
      throws Exception {
    Path file = SyntheticVideo.write(dir.resolve(name), spec);
    List<VideoChunk> out = new ArrayList<>();
    for (Chunk c : Chunker.readAll(ChunkerOptions.of(file.toString()).withChunkSeconds(1.0))) {
      out.add(BadInputCorpus.toRecord(c, "fuzz"));
    }
    return out;
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
