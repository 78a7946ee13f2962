package io.decostream.nn.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden test of {@link PackTokenizer} (spec §5; §8 "tokenizer" row) against the Hugging Face
 * tokenizers reference, for the two tokenizer styles of the model families (spec §4):
 * SentencePiece-style Llama BPE (Vicuna / llava-1.5 / LLaVA-NeXT-Video) and Qwen2 byte-level BPE
 * (LLaVA-OneVision).
 *
 * <p>Fixtures under {@code golden/tokenizer/}: {@code llama/tokenizer.json} and {@code
 * qwen2/tokenizer.json} are small real-format tokenizers built by {@code make_tokenizer_json.mjs};
 * {@code expected.json} holds the ids and decoded strings produced by HF's
 * {@code @huggingface/tokenizers} for the §4.5 prompt templates, edge texts (digits, punctuation,
 * byte-fallback unicode, spaces, newlines, glued placeholders, empty) and a prompt with 600 {@code
 * <video>} placeholders ({@code make_tokenizer_golden.mjs}, see README.md there).
 */
class TokenizerGoldenTest {

  private static final String ROOT = "/golden/tokenizer/";

  /** Spec §5 pitfall: DJL's default model_max_length would truncate here. */
  private static final int DJL_DEFAULT_MAX_LENGTH = 512;

  private static final int LONG_PLACEHOLDERS = 600;

  private static Path resource(String name) {
    try {
      return Path.of(TokenizerGoldenTest.class.getResource(ROOT + name).toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("missing test resource " + ROOT + name, e);
    }
  }

  private static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }

  /** A short window around the first differing id (the long cases have hundreds of ids). */
  private static String firstDifference(int[] want, int[] got) {
    int i = 0;
    while (i < want.length && i < got.length && want[i] == got[i]) {
      i++;
    }
    int from = Math.max(0, i - 4);
    return " (lengths "
        + want.length
        + " vs "
        + got.length
        + "; first difference at "
        + i
        + ")\n want ["
        + from
        + "..] "
        + Arrays.toString(Arrays.copyOfRange(want, from, Math.min(want.length, i + 8)))
        + "\n got  ["
        + from
        + "..] "
        + Arrays.toString(Arrays.copyOfRange(got, from, Math.min(got.length, i + 8)));
  }

  private static long count(int[] ids, int id) {
    return Arrays.stream(ids).filter(x -> x == id).count();
  }

  @TestFactory
  Stream<DynamicNode> matchesHuggingFaceReference() throws IOException {
    JsonNode expected = new ObjectMapper().readTree(resource("expected.json").toFile());
    List<DynamicNode> styles = new ArrayList<>();
    for (String style : List.of("llama", "qwen2")) {
      JsonNode s = expected.get(style);
      assertTrue(s != null && s.get("cases").size() > 0, "expected.json has no cases for " + style);
      styles.add(DynamicContainer.dynamicContainer(style, styleTests(style, s)));
    }
    return styles.stream();
  }

  private static Stream<DynamicNode> styleTests(String style, JsonNode s) {
    Path dir = resource(style);
    List<DynamicNode> tests = new ArrayList<>();
    tests.add(
        dynamicTest(
            "token ids of special and vocabulary tokens",
            () -> {
              try (PackTokenizer t = PackTokenizer.load(dir)) {
                for (Map.Entry<String, JsonNode> e : s.get("token_ids").properties()) {
                  assertEquals(
                      e.getValue().asInt(),
                      t.tokenId(e.getKey()),
                      style + " tokenId(" + e.getKey() + ")");
                }
                // added tokens come right after the vocabulary (llava-hf layout), so they are the
                // highest ids
                assertEquals(t.tokenId("<video>") + 1, t.vocabSize(), style + " vocabSize");
                assertEquals(
                    t.tokenId("<image>") + 1,
                    t.tokenId("<video>"),
                    style + " <image>/<video> adjacent");
              }
            }));
    for (JsonNode c : s.get("cases")) {
      String name = c.get("name").asText();
      tests.add(
          dynamicTest(
              name,
              () -> {
                String text = c.get("text").asText();
                int[] want = ints(c.get("ids"));
                try (PackTokenizer t = PackTokenizer.load(dir)) {
                  int[] got = t.encode(text, true);
                  assertArrayEquals(
                      want, got, () -> style + "/" + name + " ids" + firstDifference(want, got));
                  // expected.json's token strings must name the same ids in this tokenizer.json
                  // (fixtures in sync)
                  if (c.has("tokens")) {
                    JsonNode tokens = c.get("tokens");
                    for (int i = 0; i < tokens.size(); i++) {
                      assertEquals(
                          want[i],
                          t.tokenId(tokens.get(i).asText()),
                          style + "/" + name + " token " + i);
                    }
                  }
                  assertEquals(
                      c.get("decoded_skip_special").asText(),
                      t.decode(want, true),
                      style + "/" + name + " decode(skipSpecial=true)");
                  assertEquals(
                      c.get("decoded_with_special").asText(),
                      t.decode(want, false),
                      style + "/" + name + " decode(skipSpecial=false)");
                  // BOS: Llama's TemplateProcessing prepends <s>=1, Qwen2's ByteLevel
                  // post-processor adds nothing
                  if (style.equals("llama")) {
                    assertEquals(1, got[0], "llama BOS");
                    assertEquals(1, count(got, 1), "exactly one BOS");
                  } else if (!text.startsWith("<|")) {
                    assertFalse(
                        got.length > 0 && got[0] >= t.tokenId("<|endoftext|>"),
                        "qwen2 adds no BOS");
                  }
                  if (name.startsWith("long")) {
                    // spec §5: truncation off; every expanded placeholder survives
                    assertTrue(
                        got.length > DJL_DEFAULT_MAX_LENGTH,
                        "long prompt has " + got.length + " ids");
                    assertEquals(
                        LONG_PLACEHOLDERS,
                        count(got, t.tokenId("<video>")),
                        style + " <video> placeholders kept");
                    assertEquals(
                        LONG_PLACEHOLDERS,
                        t.decode(got, false).split("<video>", -1).length - 1,
                        style + " decoded placeholders");
                  }
                }
              }));
    }
    return tests.stream();
  }
}
