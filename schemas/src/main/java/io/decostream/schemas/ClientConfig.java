package io.decostream.schemas;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Standard Kafka client properties from a file (issue 18 point 8: SASL/SCRAM, TLS, any client
 * setting), for every producer, consumer, admin and Streams client DeCo makes, and their printing
 * without secrets.
 */
public final class ClientConfig {
  /** Environment variable naming the file when {@code --kafka-config} is not given. */
  public static final String ENV = "DECO_KAFKA_CONFIG";

  /** What a secret value is printed as. */
  public static final String REDACTED = "[redacted]";

  private ClientConfig() {}

  /** The properties of {@code file} (Java properties syntax, as Kafka's own tools read them). */
  public static Properties load(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("Kafka client config file " + file + " does not exist");
    }
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Kafka client config " + file, e);
    }
    return p;
  }

  /**
   * Whether a key's value must never be printed: passwords, secrets, JAAS configs (which embed the
   * password), private keys, tokens and credentials.
   */
  public static boolean isSecret(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.contains("password")
        || k.contains("secret")
        || k.contains("jaas")
        || k.contains("token")
        || k.contains("credential")
        || k.endsWith(".key")
        || k.endsWith("keystore.key");
  }

  /** The properties as {@code k=v, ...} in key order, each secret value {@value #REDACTED}. */
  public static String redacted(Map<?, ?> props) {
    Map<String, String> sorted = new TreeMap<>();
    props.forEach(
        (k, v) -> {
          String key = String.valueOf(k);
          sorted.put(key, isSecret(key) ? REDACTED : String.valueOf(v));
        });
    return sorted.entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(", "));
  }
}
