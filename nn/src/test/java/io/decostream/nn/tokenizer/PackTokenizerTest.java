package io.decostream.nn.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackTokenizerTest {

  @TempDir Path tmp;

  private static final List<String> WORDS =
      List.of(
          "a",
          "chat",
          "user",
          "'",
          "s",
          ":",
          ".",
          ",",
          "assistant",
          "what",
          "is",
          "the",
          "color",
          "red",
          "?");

  @Test
  void wordLevelJsonLoadsInDjlAndRoundTrips() {
    Map<String, Integer> vocab = WordLevelTokenizerJson.write(tmp.resolve("tokenizer.json"), WORDS);
    try (PackTokenizer t = PackTokenizer.load(tmp)) {
      assertEquals(WORDS.size() + 6, t.vocabSize());
      assertEquals(0, t.tokenId("<unk>"));
      assertEquals(1, t.tokenId("<s>"));
      assertEquals(2, t.tokenId("</s>"));
      assertEquals(3, t.tokenId("<pad>"));
      assertEquals(WORDS.size() + 4, t.tokenId("<video>"));
      assertEquals(WORDS.size() + 5, t.tokenId("<image>"));
      assertEquals(vocab.get("red"), t.tokenId("red"));

      // lower-casing, Whitespace splitting of punctuation ("user's" -> user ' s), BOS from the
      // template
      int[] ids = t.encode("USER: What is the color? user's", true);
      int[] want = {
        1,
        t.tokenId("user"),
        t.tokenId(":"),
        t.tokenId("what"),
        t.tokenId("is"),
        t.tokenId("the"),
        t.tokenId("color"),
        t.tokenId("?"),
        t.tokenId("user"),
        t.tokenId("'"),
        t.tokenId("s")
      };
      assertArrayEquals(want, ids);
      assertArrayEquals(
          java.util.Arrays.copyOfRange(want, 1, want.length),
          t.encode("USER: What is the color? user's", false));
      // special tokens are never split, even glued to words and newlines
      int[] v = t.encode("USER: <video>\nwhat", false);
      assertArrayEquals(
          new int[] {t.tokenId("user"), t.tokenId(":"), t.tokenId("<video>"), t.tokenId("what")},
          v);
      // unknown words map to <unk>
      assertArrayEquals(new int[] {0}, t.encode("zebra", false));
      // decode: words joined with spaces; specials dropped on request
      assertEquals(
          "what is the color ?",
          t.decode(
              new int[] {
                1,
                t.tokenId("what"),
                t.tokenId("is"),
                t.tokenId("the"),
                t.tokenId("color"),
                t.tokenId("?"),
                2
              },
              true));
      assertTrue(t.decode(new int[] {1, t.tokenId("red")}, false).contains("<s>"));
      assertThrows(IllegalArgumentException.class, () -> t.tokenId("zebra"));
    }
  }

  @Test
  void longInputsAreNeverTruncated() {
    WordLevelTokenizerJson.write(tmp.resolve("tokenizer.json"), WORDS);
    try (PackTokenizer t = PackTokenizer.load(tmp.resolve("tokenizer.json"))) {
      StringBuilder sb = new StringBuilder("user : ");
      for (int i = 0; i < 700; i++) {
        sb.append("<video>");
      }
      sb.append("\nwhat is the color ?");
      int[] ids = t.encode(sb.toString(), true);
      assertEquals(1 + 2 + 700 + 5, ids.length);
      assertEquals(t.tokenId("?"), ids[ids.length - 1]);
      long videos = java.util.Arrays.stream(ids).filter(i -> i == t.tokenId("<video>")).count();
      assertEquals(700, videos);
    }
  }

  @Test
  void rejectsWordsThatAreNotSinglePreTokens() {
    assertThrows(
        IllegalArgumentException.class,
        () -> WordLevelTokenizerJson.write(tmp.resolve("t.json"), List.of("user's")));
    assertThrows(IllegalArgumentException.class, () -> PackTokenizer.load(tmp.resolve("missing")));
  }
}
