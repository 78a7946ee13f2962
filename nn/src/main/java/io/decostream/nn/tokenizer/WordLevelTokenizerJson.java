package io.decostream.nn.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Writes a small but valid HF {@code tokenizer.json} (format of the {@code tokenizers} library) for
 * tiny test packs: a WordLevel model, Lowercase normalizer, Whitespace pre-tokenizer ({@code
 * \w+|[^\w\s]+}, so "user's" becomes "user", "'", "s"), a TemplateProcessing post-processor that
 * prepends {@code <s>} (Llama's BOS, spec §5) and no decoder (HF then joins tokens with spaces).
 *
 * <p>Ids: {@code <unk>} 0, {@code <s>} 1, {@code </s>} 2, {@code <pad>} 3, then the words in order,
 * then {@code <video>} and {@code <image>} last (as llava-hf appends them: LLaVA-NeXT-Video has
 * {@code <video>} = 32000, {@code <image>} = 32001). All six are special added tokens, never split.
 */
public final class WordLevelTokenizerJson {
  private WordLevelTokenizerJson() {}

  public static final String UNK = "<unk>";
  public static final String BOS = "<s>";
  public static final String EOS = "</s>";
  public static final String PAD = "<pad>";
  public static final String VIDEO = "<video>";
  public static final String IMAGE = "<image>";

  /**
   * Writes {@code file}. Words are lower-cased and de-duplicated (first occurrence wins); each must
   * be a single Whitespace pre-token (only word characters, or only punctuation).
   *
   * @return the full vocabulary, token to id, in id order
   */
  public static Map<String, Integer> write(Path file, List<String> words) {
    return write(file, words, List.of(UNK, BOS, EOS, PAD), BOS, UNK);
  }

  /** Qwen2's ChatML specials, in Qwen2's order (ids 0, 1, 2 here). */
  public static final String ENDOFTEXT = "<|endoftext|>";

  public static final String IM_START = "<|im_start|>";
  public static final String IM_END = "<|im_end|>";

  /**
   * As {@link #write(Path, List)} for a Qwen2 (ChatML) pack: {@code <|endoftext|>} 0 (also the
   * unknown token), {@code <|im_start|>} 1, {@code <|im_end|>} 2, the words, then {@code <video>}
   * and {@code <image>}; no post-processor (Qwen2 adds no BOS).
   */
  public static Map<String, Integer> writeChatml(Path file, List<String> words) {
    return write(file, words, List.of(ENDOFTEXT, IM_START, IM_END), null, ENDOFTEXT);
  }

  private static Map<String, Integer> write(
      Path file, List<String> words, List<String> front, String bos, String unk) {
    LinkedHashSet<String> uniq = new LinkedHashSet<>();
    for (String w : words) {
      String t = w.toLowerCase(java.util.Locale.ROOT);
      if (t.isEmpty() || !(t.matches("\\w+") || t.matches("[^\\w\\s]+"))) {
        throw new IllegalArgumentException(
            "'" + w + "' is not a single Whitespace pre-token (\\w+ or [^\\w\\s]+)");
      }
      if (front.contains(t) || t.equals(VIDEO) || t.equals(IMAGE)) {
        continue;
      }
      uniq.add(t);
    }
    List<String> order = new ArrayList<>(front);
    order.addAll(uniq);
    order.add(VIDEO);
    order.add(IMAGE);
    Map<String, Integer> vocab = new LinkedHashMap<>();
    for (int i = 0; i < order.size(); i++) {
      vocab.put(order.get(i), i);
    }

    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    List<String> specials = new ArrayList<>(front);
    specials.add(VIDEO);
    specials.add(IMAGE);
    for (String special : specials) {
      ObjectNode t = added.addObject();
      t.put("id", vocab.get(special));
      t.put("content", special);
      t.put("single_word", false);
      t.put("lstrip", false);
      t.put("rstrip", false);
      t.put("normalized", false);
      t.put("special", true);
    }
    root.putObject("normalizer").put("type", "Lowercase");
    root.putObject("pre_tokenizer").put("type", "Whitespace");
    if (bos == null) {
      root.putNull("post_processor");
    } else {
      bosPostProcessor(root.putObject("post_processor"), bos, vocab.get(bos));
    }
    root.putNull("decoder");
    ObjectNode model = root.putObject("model");
    model.put("type", "WordLevel");
    ObjectNode v = model.putObject("vocab");
    vocab.forEach(v::put);
    model.put("unk_token", unk);
    try {
      if (file.getParent() != null) {
        Files.createDirectories(file.getParent());
      }
      json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), root);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
    return Collections.unmodifiableMap(vocab);
  }

  /** TemplateProcessing that prepends {@code bos} to every sequence. */
  private static void bosPostProcessor(ObjectNode post, String bos, int bosId) {
    post.put("type", "TemplateProcessing");
    ArrayNode single = post.putArray("single");
    single.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
    single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
    ArrayNode pair = post.putArray("pair");
    pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
    pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
    pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
    pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
    ObjectNode st = post.putObject("special_tokens").putObject(bos);
    st.put("id", bos);
    st.putArray("ids").add(bosId);
    st.putArray("tokens").add(bos);
  }
}
