package io.decostream.schemas;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Names of the ten DeCo Stream topics (design.md, "Topics"). Validated at construction: every name
 * is a legal Kafka topic name (1-249 chars of {@code [a-zA-Z0-9._-]}, not "." or "..") and all ten
 * are distinct.
 *
 * @param chunks VideoChunk topic (ingest -> frames)
 * @param frames Frame topic (frames -> encoder)
 * @param tokens FrameTokens topic (encoder -> llm-worker)
 * @param questions Question topic (user -> llm-worker)
 * @param answers Answer topic (llm-worker -> user)
 * @param captions Caption topic (llm-worker -> user)
 * @param grounding Grounding topic (llm-worker -> user)
 * @param deadLetters DeadLetter topic (every stage)
 * @param control BudgetControl topic (user, console -> encoder): token budget requests
 * @param budgets BudgetControl topic (encoder -> every encoder instance): the accepted budgets
 */
public record TopicNames(
    String chunks,
    String frames,
    String tokens,
    String questions,
    String answers,
    String captions,
    String grounding,
    String deadLetters,
    String control,
    String budgets) {

  /** Environment variable holding a prefix put in front of every default name. */
  public static final String ENV_PREFIX = "DECO_TOPIC_PREFIX";

  private static final Pattern LEGAL = Pattern.compile("[a-zA-Z0-9._-]+");
  private static final int MAX_LENGTH = 249;

  public TopicNames {
    validate("chunks", chunks);
    validate("frames", frames);
    validate("tokens", tokens);
    validate("questions", questions);
    validate("answers", answers);
    validate("captions", captions);
    validate("grounding", grounding);
    validate("deadLetters", deadLetters);
    validate("control", control);
    validate("budgets", budgets);
    Set<String> seen = new HashSet<>();
    for (String name :
        new String[] {
          chunks,
          frames,
          tokens,
          questions,
          answers,
          captions,
          grounding,
          deadLetters,
          control,
          budgets
        }) {
      if (!seen.add(name)) {
        throw new IllegalArgumentException("topic name '" + name + "' is used for two topics");
      }
    }
  }

  /**
   * deco.video-chunks, deco.frames, deco.frame-tokens, deco.questions, deco.answers, deco.captions,
   * deco.grounding, deco.dead-letters, deco.control, deco.budgets.
   */
  public static TopicNames defaults() {
    return withPrefix("");
  }

  /** The default names with {@code prefix} in front, e.g. "it-123." for unique test topics. */
  public static TopicNames withPrefix(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    return new TopicNames(
        prefix + "deco.video-chunks",
        prefix + "deco.frames",
        prefix + "deco.frame-tokens",
        prefix + "deco.questions",
        prefix + "deco.answers",
        prefix + "deco.captions",
        prefix + "deco.grounding",
        prefix + "deco.dead-letters",
        prefix + "deco.control",
        prefix + "deco.budgets");
  }

  /**
   * Names from environment variables: {@code DECO_TOPIC_PREFIX} prefixes the defaults, and {@code
   * DECO_TOPIC_CHUNKS, _FRAMES, _TOKENS, _QUESTIONS, _ANSWERS, _CAPTIONS, _GROUNDING,
   * _DEAD_LETTERS, _CONTROL, _BUDGETS} replace single names completely (the prefix is not applied
   * to an override). Blank values count as unset.
   */
  public static TopicNames fromEnv(Map<String, String> env) {
    Objects.requireNonNull(env, "env");
    String prefix = env.getOrDefault(ENV_PREFIX, "");
    TopicNames base = withPrefix(prefix == null || prefix.isBlank() ? "" : prefix.strip());
    Map<String, String> names = base.asMap();
    Map<String, String> resolved = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : names.entrySet()) {
      String value = env.get(envVar(e.getKey()));
      resolved.put(e.getKey(), value == null || value.isBlank() ? e.getValue() : value.strip());
    }
    return new TopicNames(
        resolved.get("chunks"),
        resolved.get("frames"),
        resolved.get("tokens"),
        resolved.get("questions"),
        resolved.get("answers"),
        resolved.get("captions"),
        resolved.get("grounding"),
        resolved.get("deadLetters"),
        resolved.get("control"),
        resolved.get("budgets"));
  }

  /** Names from {@link System#getenv()}. */
  public static TopicNames fromEnv() {
    return fromEnv(System.getenv());
  }

  /**
   * The environment variable overriding the given logical name, e.g. deadLetters ->
   * DECO_TOPIC_DEAD_LETTERS.
   */
  public static String envVar(String logicalName) {
    return "DECO_TOPIC_"
        + logicalName.replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(java.util.Locale.ROOT);
  }

  /** Logical name -> topic name, in pipeline order. */
  public Map<String, String> asMap() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("chunks", chunks);
    m.put("frames", frames);
    m.put("tokens", tokens);
    m.put("questions", questions);
    m.put("answers", answers);
    m.put("captions", captions);
    m.put("grounding", grounding);
    m.put("deadLetters", deadLetters);
    m.put("control", control);
    m.put("budgets", budgets);
    return m;
  }

  /** Throws IllegalArgumentException unless {@code name} is a legal Kafka topic name. */
  public static void validate(String what, String name) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("topic name for " + what + " must not be blank");
    }
    if (name.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(
          "topic name for "
              + what
              + " is "
              + name.length()
              + " characters long; Kafka allows at most "
              + MAX_LENGTH);
    }
    if (name.equals(".") || name.equals("..")) {
      throw new IllegalArgumentException("topic name for " + what + " must not be '.' or '..'");
    }
    if (!LEGAL.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "topic name for "
              + what
              + " '"
              + name
              + "' has illegal characters; Kafka allows only ASCII letters, digits, '.', '_' and '-'");
    }
  }
}
