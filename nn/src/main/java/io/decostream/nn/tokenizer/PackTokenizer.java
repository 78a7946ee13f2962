package io.decostream.nn.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * A model pack's {@code tokenizer.json} through DJL's HF tokenizers binding (spec §5), with
 * truncation and padding OFF: DJL otherwise truncates at 512 tokens, which would cut expanded
 * visual placeholders.
 *
 * <p>Token ids of the vocabulary and added tokens are read from the json itself, so {@link
 * #tokenId} and {@link #vocabSize} do not depend on the native library's API surface.
 */
public final class PackTokenizer implements AutoCloseable {

  private final HuggingFaceTokenizer tokenizer;
  private final Map<String, Integer> ids;
  private final int vocabSize;
  private final String[] pieces;

  private PackTokenizer(HuggingFaceTokenizer tokenizer, Map<String, Integer> ids, int vocabSize) {
    this.tokenizer = tokenizer;
    this.ids = ids;
    this.vocabSize = vocabSize;
    this.pieces = new String[vocabSize];
    ids.forEach(
        (piece, id) -> {
          if (id >= 0 && id < vocabSize) {
            pieces[id] = piece;
          }
        });
  }

  /** How vocabulary pieces mark the start of a word, read from the pieces themselves. */
  public enum WordStart {
    /** SentencePiece (Llama, Vicuna): a piece starting with U+2581 begins a word. */
    SENTENCEPIECE,
    /**
     * Byte-level BPE (GPT-2, Qwen2): a piece starting with U+0120 (space) or U+010A (newline)
     * begins a word.
     */
    BYTE_LEVEL,
    /** Word-level vocabularies: every token is a word. */
    EVERY_TOKEN
  }

  /** The raw vocabulary piece of {@code id} (e.g. {@code "▁red"}), or null for an unused id. */
  public String piece(int id) {
    return id >= 0 && id < pieces.length ? pieces[id] : null;
  }

  /** The word-start convention of this vocabulary (used to merge sub-word tokens into words). */
  public WordStart wordStart() {
    int sp = 0;
    int bl = 0;
    for (String p : pieces) {
      if (p != null && !p.isEmpty()) {
        char c = p.charAt(0);
        if (c == '\u2581') {
          sp++;
        } else if (c == '\u0120') {
          bl++;
        }
      }
    }
    int n = Math.max(1, pieces.length / 20);
    return sp >= n && sp >= bl
        ? WordStart.SENTENCEPIECE
        : bl >= n ? WordStart.BYTE_LEVEL : WordStart.EVERY_TOKEN;
  }

  /** Loads {@code dir/tokenizer.json} (or the file itself). */
  public static PackTokenizer load(Path dirOrFile) {
    Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("tokenizer.json") : dirOrFile;
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no tokenizer.json at " + file);
    }
    Map<String, Integer> ids = new HashMap<>();
    int max = -1;
    try {
      JsonNode root = new ObjectMapper().readTree(file.toFile());
      JsonNode vocab = root.path("model").path("vocab");
      if (vocab.isObject()) {
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          ids.put(e.getKey(), e.getValue().asInt());
        }
      } else if (vocab.isArray()) {
        // Unigram: [[piece, score], ...], id = position
        for (int i = 0; i < vocab.size(); i++) {
          ids.put(vocab.get(i).get(0).asText(), i);
        }
      }
      for (JsonNode t : root.path("added_tokens")) {
        ids.put(t.get("content").asText(), t.get("id").asInt());
      }
      for (int id : ids.values()) {
        max = Math.max(max, id);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    try {
      HuggingFaceTokenizer t =
          HuggingFaceTokenizer.builder()
              .optTokenizerPath(file)
              .optTruncation(false)
              .optPadding(false)
              .optAddSpecialTokens(true)
              .build();
      return new PackTokenizer(t, Map.copyOf(ids), max + 1);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load tokenizer " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Token ids of {@code text}; with {@code addSpecialTokens} the post-processor adds BOS (Llama).
   * Never truncated.
   */
  public int[] encode(String text, boolean addSpecialTokens) {
    Encoding e = tokenizer.encode(text, addSpecialTokens, false);
    long[] l = e.getIds();
    int[] out = new int[l.length];
    for (int i = 0; i < l.length; i++) {
      out[i] = Math.toIntExact(l[i]);
    }
    return out;
  }

  /**
   * Text of {@code ids}; {@code skipSpecial} drops special tokens (BOS, EOS, image/video
   * placeholders).
   */
  public String decode(int[] ids, boolean skipSpecial) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return tokenizer.decode(l, skipSpecial);
  }

  /** Id of a vocabulary or added token. */
  public int tokenId(String token) {
    Integer id = ids.get(token);
    if (id == null) {
      throw new IllegalArgumentException(
          "token '" + token + "' is not in the tokenizer's vocabulary");
    }
    return id;
  }

  /** Whether {@code token} is a vocabulary or added token. */
  public boolean hasToken(String token) {
    return ids.containsKey(token);
  }

  /** Number of ids: highest vocabulary/added-token id + 1. */
  public int vocabSize() {
    return vocabSize;
  }

  /** The underlying DJL tokenizer (truncation and padding off). */
  public HuggingFaceTokenizer delegate() {
    return tokenizer;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
