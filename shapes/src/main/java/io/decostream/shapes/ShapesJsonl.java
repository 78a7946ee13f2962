package io.decostream.shapes;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The JSON Lines files of a ShapesWorld video set ({@code deco shapes}), one JSON object per line:
 *
 * <ul>
 *   <li>{@value #QA_FILE}: {@code {"video","window_end","question","answer","type"}} per question;
 *   <li>{@value #CAPTIONS_FILE}: {@code {"video","window_end","caption"}} per window;
 *   <li>{@value #SCENES_FILE}: {@code {"video","scene"}} per video, the full scene (every shape's
 *       start, size, motion and colour), from which {@link Scene#statesAt} recomputes the ground
 *       truth of any frame (boxes for grounding checks).
 * </ul>
 *
 * {@code window_end} is the time in seconds of the window's latest 1 fps frame.
 */
public final class ShapesJsonl {

  public static final String QA_FILE = "qa.jsonl";
  public static final String CAPTIONS_FILE = "captions.jsonl";
  public static final String SCENES_FILE = "scenes.jsonl";

  /** One line of qa.jsonl. */
  public record QaRecord(
      @JsonProperty("video") String video,
      @JsonProperty("window_end") double windowEnd,
      @JsonProperty("question") String question,
      @JsonProperty("answer") String answer,
      @JsonProperty("type") String type) {
    public QaRecord {
      Objects.requireNonNull(video, "video");
      Objects.requireNonNull(question, "question");
      Objects.requireNonNull(answer, "answer");
      Objects.requireNonNull(type, "type");
    }
  }

  /** One line of captions.jsonl. */
  public record CaptionRecord(
      @JsonProperty("video") String video,
      @JsonProperty("window_end") double windowEnd,
      @JsonProperty("caption") String caption) {
    public CaptionRecord {
      Objects.requireNonNull(video, "video");
      Objects.requireNonNull(caption, "caption");
    }
  }

  /** One line of scenes.jsonl. */
  public record SceneRecord(
      @JsonProperty("video") String video, @JsonProperty("scene") Scene scene) {
    public SceneRecord {
      Objects.requireNonNull(video, "video");
      Objects.requireNonNull(scene, "scene");
    }
  }

  private static final ObjectMapper MAPPER =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  private ShapesJsonl() {}

  /** Writes the three files of a set into one directory (created); close it to flush. */
  public static final class Writer implements AutoCloseable {
    private final BufferedWriter qa;
    private final BufferedWriter captions;
    private final BufferedWriter scenes;
    private int questions;

    public Writer(Path dir) {
      try {
        Files.createDirectories(dir);
        qa = Files.newBufferedWriter(dir.resolve(QA_FILE), StandardCharsets.UTF_8);
        captions = Files.newBufferedWriter(dir.resolve(CAPTIONS_FILE), StandardCharsets.UTF_8);
        scenes = Files.newBufferedWriter(dir.resolve(SCENES_FILE), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot create the JSONL files in " + dir + ": " + e.getMessage(), e);
      }
    }

    /** Appends the scene, every window's questions and every window's caption of {@code entry}. */
    public void write(ShapesVideoSet.Entry entry) {
      line(scenes, new SceneRecord(entry.fileName(), entry.scene()));
      for (ShapesVideoSet.WindowQa w : entry.windows()) {
        for (QaPair p : w.questions()) {
          line(
              qa,
              new QaRecord(
                  entry.fileName(),
                  w.window().endSeconds(),
                  p.question(),
                  p.answer(),
                  p.type().label()));
          questions++;
        }
        line(captions, new CaptionRecord(entry.fileName(), w.window().endSeconds(), w.caption()));
      }
    }

    /** Questions written so far. */
    public int questions() {
      return questions;
    }

    private static void line(BufferedWriter w, Object record) {
      try {
        w.write(MAPPER.writeValueAsString(record));
        w.write('\n');
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write JSONL line: " + e.getMessage(), e);
      }
    }

    @Override
    public void close() {
      IOException first = null;
      for (BufferedWriter w : new BufferedWriter[] {qa, captions, scenes}) {
        try {
          w.close();
        } catch (IOException e) {
          first = first == null ? e : first;
        }
      }
      if (first != null) {
        throw new UncheckedIOException("cannot close JSONL files: " + first.getMessage(), first);
      }
    }
  }

  public static List<QaRecord> readQa(Path file) {
    return read(file, QaRecord.class);
  }

  public static List<CaptionRecord> readCaptions(Path file) {
    return read(file, CaptionRecord.class);
  }

  public static List<SceneRecord> readScenes(Path file) {
    return read(file, SceneRecord.class);
  }

  /**
   * Reads every non-blank line of {@code file} as a {@code type}; errors name the file and line.
   */
  public static <T> List<T> read(Path file, Class<T> type) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    List<T> out = new ArrayList<>(lines.size());
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i);
      if (l.isBlank()) {
        continue;
      }
      try {
        out.add(MAPPER.readValue(l, type));
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException(
            file
                + " line "
                + (i + 1)
                + " is not a "
                + type.getSimpleName()
                + ": "
                + e.getOriginalMessage(),
            e);
      }
    }
    return out;
  }
}
