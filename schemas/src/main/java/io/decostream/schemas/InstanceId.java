package io.decostream.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The static group member id of a stage (issue 18 point 2): Kafka's {@code group.instance.id}.
 *
 * <p>A restarted static member takes its partitions back at once instead of waiting for the dead
 * member's session to expire (the 42-78 s the issue measured). The id must therefore survive a
 * restart of the same instance, and two instances must never share one (the second would fence the
 * first). Keeping it in a file of the stage's own state directory gives both: the same state dir is
 * the same member, another state dir is another member.
 */
public final class InstanceId {
  /** The file in the state directory holding the id. */
  public static final String FILE = "group-instance-id";

  /** Environment variable the stage commands read when {@code --instance-id} is not given. */
  public static final String ENV = "DECO_INSTANCE_ID";

  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9._-]{1,200}");

  private InstanceId() {}

  /**
   * The id kept in {@code stateDir}/{@value #FILE}, created once as {@code prefix-<uuid>} when the
   * file does not exist yet.
   */
  public static String persisted(Path stateDir, String prefix) {
    validate(prefix);
    Path file = stateDir.resolve(FILE);
    try {
      Files.createDirectories(stateDir);
      if (!Files.exists(file)) {
        String id = prefix + "-" + UUID.randomUUID();
        Path tmp = Files.createTempFile(stateDir, FILE, ".tmp");
        Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
        try {
          // link, not move: of two processes creating it at once, exactly one wins
          Files.createLink(file, tmp);
        } catch (FileAlreadyExistsException raced) {
          // another process of the same state dir wrote it first: use theirs
        } catch (UnsupportedOperationException | IOException noLinks) {
          if (!Files.exists(file)) {
            Files.move(tmp, file);
          }
        } finally {
          Files.deleteIfExists(tmp);
        }
      }
      String id = Files.readString(file, StandardCharsets.UTF_8).trim();
      validate(id);
      return id;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot keep the group instance id in " + file, e);
    }
  }

  /** Checks an id given by the user (1-200 characters of letters, digits, '.', '_' or '-'). */
  public static String validate(String id) {
    if (id == null || !VALID.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "group instance id must be 1-200 characters of letters, digits, '.', '_' or '-', got '"
              + id
              + "'");
    }
    return id;
  }
}
