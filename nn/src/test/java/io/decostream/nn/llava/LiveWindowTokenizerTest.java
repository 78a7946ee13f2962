package io.decostream.nn.llava;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.decostream.nn.tokenizer.PackTokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What {@link LiveWindow} relies on, checked on the real Llama tokenizer (BPE with byte fallback
 * and the legacy "▁" prepend, as llava-hf LLaVA-NeXT-Video ships it): the vicuna_v1 prompt's ids
 * before {@code <video>} do not depend on the question, so the cached prefix stays valid for every
 * question; the ids after it are taken from the whole prompt (LiveWindow never tokenizes the suffix
 * alone, whose split at its start could differ).
 */
class LiveWindowTokenizerTest {

  static final List<String> QUESTIONS =
      List.of(
          "What is moving?",
          " leading space",
          "\nnew line first",
          "unicode: ça marche 😀",
          "USER: ASSISTANT: tricky",
          "a");

  static Path llama() throws Exception {
    return Path.of(LiveWindowTokenizerTest.class.getResource("/golden/tokenizer/llama").toURI());
  }

  static int at(int[] ids, int id) {
    int found = -1;
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == id) {
        assertEquals(-1, found, "one placeholder");
        found = i;
      }
    }
    return found;
  }

  @Test
  void thePrefixBeforeThePlaceholderDoesNotDependOnTheQuestion() throws Exception {
    try (PackTokenizer t = PackTokenizer.load(llama())) {
      int video = t.tokenId("<video>");
      int[] empty = t.encode(PromptTemplate.VICUNA_V1.render("<video>", ""), true);
      int[] prefix = Arrays.copyOf(empty, at(empty, video));
      assertEquals(1, prefix[0], "BOS first");
      for (String q : QUESTIONS) {
        int[] ids = t.encode(PromptTemplate.VICUNA_V1.render("<video>", q), true);
        int p = at(ids, video);
        assertArrayEquals(prefix, Arrays.copyOf(ids, p), q);
        // prefix + placeholder + suffix is the whole prompt, by construction of the split
        int[] suffix = Arrays.copyOfRange(ids, p + 1, ids.length);
        int[] joined = new int[prefix.length + 1 + suffix.length];
        System.arraycopy(prefix, 0, joined, 0, prefix.length);
        joined[prefix.length] = video;
        System.arraycopy(suffix, 0, joined, prefix.length + 1, suffix.length);
        assertArrayEquals(ids, joined, q);
      }
    }
  }
}
