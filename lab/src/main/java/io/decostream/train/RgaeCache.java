package io.decostream.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.decostream.nn.image.RgbImage;
import io.decostream.nn.rgae.QueryToPatch;
import io.decostream.shapes.Box;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;

/**
 * One run's R-GAE figures kept beside its result (issue 23 point 2): {@code <run>/rgae.json}. The
 * comparison's seeds take longer than one working session, and a run's weights (megabytes) are not
 * kept in the repository, while its figures are small. So the analysis of a run is made once, while
 * its weights exist, and the table and pictures are put together later from the kept files of every
 * run. The file names the settings it was made with (frames, held-out scenes and seed, examples);
 * one made with other settings is not used. The example frames are not stored: each is drawn again
 * from its held-out scene, which is a pure function of the settings.
 */
public final class RgaeCache {

  static final String FILE = "rgae.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The settings a kept analysis must match. */
  public record Settings(int frames, int scenes, long evalSeed, int examples) {}

  private RgaeCache() {}

  /** Writes {@code run}'s figures to {@code <dir>/rgae.json} (through a temp file). */
  public static void save(Path dir, ConnectorRgae.Run run, Settings settings) {
    ObjectNode o = JSON.createObjectNode();
    o.put("variant", run.variant());
    o.put("seed", run.seed());
    o.put("frames", settings.frames());
    o.put("scenes", settings.scenes());
    o.put("evalSeed", settings.evalSeed());
    o.put("examples", settings.examples());
    o.put("grid", run.grid());
    o.put("questions", run.questions());
    o.put("locality", run.locality());
    o.put("chance", run.chance());
    if (run.queryToPatch() != null) {
      QueryToPatch m = run.queryToPatch();
      ObjectNode q = o.putObject("queryToPatch");
      q.put("queries", m.queries());
      q.put("patches", m.patches());
      if (m.queries() == m.patches()
          && java.util.Arrays.equals(m.matrix(), QueryToPatch.identity(m.queries()).matrix())) {
        q.put("identity", true);
      } else {
        q.put("matrix", floats(m.matrix()));
      }
    }
    ArrayNode ex = o.putArray("answers");
    for (ConnectorRgae.Answer a : run.examples()) {
      ObjectNode e = ex.addObject();
      e.put("scene", a.scene());
      e.put("question", a.question());
      e.put("answer", a.answer());
      e.put("textToPatch", floats(a.textToPatch()));
      e.putArray("box").add(a.box().x0()).add(a.box().y0()).add(a.box().x1()).add(a.box().y1());
      e.put("share", a.share());
    }
    Path file = dir.resolve(FILE);
    Path tmp = dir.resolve(FILE + ".tmp");
    try {
      JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), o);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("could not write " + file, e);
    }
  }

  /**
   * The figures kept in {@code <dir>/rgae.json} for {@code variant} and {@code seed} made with
   * {@code settings}; empty when there is no such file or it was made with other settings.
   */
  public static Optional<ConnectorRgae.Run> load(
      Path dir, String variant, long seed, Settings settings) {
    Path file = dir.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    JsonNode o;
    try {
      o = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("could not read " + file, e);
    }
    Settings made =
        new Settings(
            o.path("frames").asInt(),
            o.path("scenes").asInt(),
            o.path("evalSeed").asLong(),
            o.path("examples").asInt());
    if (!made.equals(settings)
        || !variant.equals(o.path("variant").asText())
        || seed != o.path("seed").asLong()) {
      return Optional.empty();
    }
    QueryToPatch map = null;
    JsonNode q = o.get("queryToPatch");
    if (q != null) {
      map =
          q.path("identity").asBoolean()
              ? QueryToPatch.identity(q.get("queries").asInt())
              : QueryToPatch.of(
                  q.get("queries").asInt(),
                  q.get("patches").asInt(),
                  floats(q.get("matrix").asText()));
    }
    List<ConnectorRgae.Answer> answers = new ArrayList<>();
    for (JsonNode e : o.path("answers")) {
      int scene = e.get("scene").asInt();
      List<RgbImage> images =
          ProjectorComparison.heldOut(settings.evalSeed(), scene, settings.frames()).images();
      JsonNode b = e.get("box");
      answers.add(
          new ConnectorRgae.Answer(
              scene,
              e.get("question").asText(),
              e.get("answer").asText(),
              images.get(images.size() - 1),
              floats(e.get("textToPatch").asText()),
              new Box(
                  b.get(0).asDouble(),
                  b.get(1).asDouble(),
                  b.get(2).asDouble(),
                  b.get(3).asDouble()),
              e.get("share").asDouble()));
    }
    return Optional.of(
        new ConnectorRgae.Run(
            variant,
            seed,
            o.get("grid").asInt(),
            o.get("questions").asInt(),
            o.get("locality").asDouble(),
            o.get("chance").asDouble(),
            map,
            answers,
            ""));
  }

  /**
   * fp32 values as Base64 of their little-endian bytes (exact, and a quarter of decimal text). The
   * lab's model code may not use schemas' Tensors (LayeringTest), hence these few lines here.
   */
  static String floats(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    return Base64.getEncoder().encodeToString(b.array());
  }

  static float[] floats(String s) {
    ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(s)).order(ByteOrder.LITTLE_ENDIAN);
    float[] v = new float[b.remaining() / 4];
    b.asFloatBuffer().get(v);
    return v;
  }
}
