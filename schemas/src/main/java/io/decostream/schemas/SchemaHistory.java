package io.decostream.schemas;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Historical writer schemas of the records, kept so that {@link AvroSerde} can still decode
 * messages written by older producers (Avro schema resolution: writer schema -> current reader
 * schema).
 *
 * <p>Versions live on the classpath as {@code io/decostream/schemas/history/<Record>.v<N>.avsc}
 * with N = 1, 2, 3, ... without gaps; the current schema is the generated class itself and is not
 * listed here. Adding a field to a record therefore means: copy the old .avsc to the next history
 * version, then change the .avsc in src/main/avro (new fields need a default).
 */
public final class SchemaHistory {

  /** Classpath folder holding the historical versions. */
  public static final String RESOURCE_DIR = "io/decostream/schemas/history/";

  private SchemaHistory() {}

  /**
   * All historical schemas of the record with the given simple name (e.g. "Question"), oldest
   * first; empty when the record never changed.
   */
  public static List<Schema> versionsOf(String recordName) {
    if (recordName == null || recordName.isBlank()) {
      throw new IllegalArgumentException("recordName must not be blank");
    }
    ClassLoader loader = SchemaHistory.class.getClassLoader();
    List<Schema> versions = new ArrayList<>();
    for (int n = 1; ; n++) {
      String path = RESOURCE_DIR + recordName + ".v" + n + ".avsc";
      try (InputStream in = loader.getResourceAsStream(path)) {
        if (in == null) {
          return List.copyOf(versions);
        }
        // a fresh parser per file: each history file is self-contained (nested types inline)
        versions.add(new Schema.Parser().parse(in));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read historical schema " + path, e);
      }
    }
  }

  /** Historical schemas of the given generated record class. */
  public static List<Schema> versionsOf(Class<?> recordClass) {
    return versionsOf(recordClass.getSimpleName());
  }
}
