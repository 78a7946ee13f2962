package io.decostream.nn.llava.nextvideo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.nn.llava.GenerationOptions;
import io.decostream.nn.llava.GenerationResult;
import io.decostream.nn.llava.LiveWindow;
import io.decostream.nn.llava.VideoPrompt;
import io.decostream.nn.tiny.TinyPack;
import io.decostream.nn.tokenizer.PackTokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live window (issue 20 point 1) against the full re-prefill path on a tiny random pack: same
 * frames and question give the same token ids, for windows of 1..4 frames, after the window slides
 * (a rebuilt window over later frames), for several questions in a row, and with seeded sampling.
 */
class LiveWindowTest {

  static final int TPF = 144;
  static final int DV = 64;
  static final List<String> QUESTIONS =
      List.of("what color is the circle ?", "is the square moving left ?", "how many shapes ?");

  @TempDir static Path tmp;
  static Path pack;
  static LlavaNextVideo model;
  static List<float[]> frames;

  @BeforeAll
  static void load() {
    pack = tmp.resolve("tiny-live");
    // a larger weight spread than the default makes the logits peaked: a wrong position or a
    // missing row changes the argmax instead of hiding in a near tie
    TinyPack.Spec d = TinyPack.Spec.defaults();
    TinyPack.write(
        pack,
        new TinyPack.Spec(
            d.imageSize(),
            d.patchSize(),
            d.visionHidden(),
            d.visionIntermediate(),
            d.visionLayers(),
            d.visionHeads(),
            d.textHidden(),
            d.textIntermediate(),
            d.textLayers(),
            d.textHeads(),
            d.textKvHeads(),
            d.maxPositionEmbeddings(),
            d.ropeTheta(),
            d.visionFeatureLayer(),
            d.spatialPoolStride(),
            d.dtype(),
            0.08),
        11);
    model = LlavaNextVideo.load(pack, LlavaNextVideo.Part.LANGUAGE);
    frames = LlavaNextVideoTest.randomFrames(6, TPF, DV, 3);
  }

  @AfterAll
  static void close() {
    if (model != null) {
      model.close();
    }
  }

  static int[] full(List<float[]> window, String question, GenerationOptions opts) {
    return model.generate(new VideoPrompt(window, TPF, question), opts).tokenIds();
  }

  @Test
  void cachedPrefixIsTheWholePromptsIdsBeforeThePlaceholder() {
    try (LiveWindow live = model.openLiveWindow(TPF, 4, 64);
        PackTokenizer t = PackTokenizer.load(pack)) {
      int video = t.tokenId(LlavaNextVideo.VIDEO_PLACEHOLDER);
      for (String q : QUESTIONS) {
        int[] ids = t.encode(LlavaNextVideo.promptText(q), true);
        int at = Arrays.stream(ids).boxed().toList().indexOf(video);
        assertTrue(at > 0, "the prompt holds the placeholder");
        assertArrayEquals(Arrays.copyOf(ids, at), live.prefixIds(), q);
      }
      // BOS + system line + "USER :" (the tiny tokenizer splits on whitespace and punctuation)
      assertEquals(
          t.encode(LlavaNextVideo.SYSTEM_PROMPT + " USER: ", true).length, live.prefixIds().length);
    }
  }

  @Test
  void greedyTokensEqualTheFullPathAsFramesArriveAndAfterASlide() {
    GenerationOptions greedy = GenerationOptions.greedy(8);
    boolean generatedSomething = false;
    try (LiveWindow live = model.openLiveWindow(TPF, 4, 64)) {
      assertFalse(live.canAnswer(QUESTIONS.get(0), 8), "no frames yet");
      for (int f = 0; f < 4; f++) {
        live.append(frames.get(f));
        assertEquals(f + 1, live.frames());
        List<float[]> window = frames.subList(0, f + 1);
        for (String q : QUESTIONS) {
          assertTrue(live.canAnswer(q, 8));
          GenerationResult r = live.answer(q, greedy);
          assertArrayEquals(full(window, q, greedy), r.tokenIds(), (f + 1) + " frames, " + q);
          assertEquals(
              model.generate(new VideoPrompt(window, TPF, q), greedy).promptTokens(),
              r.promptTokens());
          generatedSomething |= r.tokenIds().length > 0;
          // answering truncates back to the window
          assertEquals(live.windowTokens(), live.prefixIds().length + (f + 1) * TPF);
        }
      }
      assertThrows(IllegalStateException.class, () -> live.append(frames.get(4)));
    }
    assertTrue(generatedSomething, "the tiny model generated tokens at least once");
    // the slide: the oldest two frames leave; a rebuilt window over frames 2..5 answers as the
    // full path over exactly those frames
    try (LiveWindow rebuilt = model.openLiveWindow(TPF, 4, 64)) {
      for (int f = 2; f < 6; f++) {
        rebuilt.append(frames.get(f));
      }
      for (String q : QUESTIONS) {
        assertArrayEquals(
            full(frames.subList(2, 6), q, greedy), rebuilt.answer(q, greedy).tokenIds(), q);
      }
    }
  }

  @Test
  void seededSamplingEqualsTheFullPath() {
    GenerationOptions hot = new GenerationOptions(10, 0.9, 0.8, 42);
    try (LiveWindow live = model.openLiveWindow(TPF, 2, 64)) {
      live.append(frames.get(0));
      live.append(frames.get(1));
      String q = QUESTIONS.get(1);
      int[] a = live.answer(q, hot).tokenIds();
      assertArrayEquals(full(frames.subList(0, 2), q, hot), a);
      assertArrayEquals(a, live.answer(q, hot).tokenIds(), "same seed, same answer");
    }
  }

  @Test
  void boundsAndMemory() {
    // 2 frames + 8 reserved positions: a question with 32 new tokens does not fit, the caller must
    // take the full path
    try (LiveWindow small = model.openLiveWindow(TPF, 2, 8)) {
      small.append(frames.get(0));
      // one frame: the second frame's free rows leave room
      assertTrue(small.canAnswer(QUESTIONS.get(0), 32));
      small.append(frames.get(1));
      assertFalse(small.canAnswer(QUESTIONS.get(0), 32));
      assertTrue(small.canAnswer("what ?", 1), "a short question's text alone fits");
      assertThrows(
          IllegalStateException.class,
          () -> small.answer(QUESTIONS.get(0), GenerationOptions.greedy(32)));
      int capacity = small.prefixIds().length + 2 * TPF + 8;
      assertEquals(capacity, small.capacityTokens());
      // tiny pack: 2 layers, 2 KV heads, head_dim 128/4 = 32, K and V, F32
      assertEquals(2L * 2 * 2 * 32 * 4 * capacity, small.cacheBytes());
      assertThrows(IllegalArgumentException.class, () -> small.append(new float[3]));
    }
    assertThrows(IllegalArgumentException.class, () -> model.openLiveWindow(TPF, 100, 5));
    LiveWindow closed = model.openLiveWindow(TPF, 1, 8);
    closed.close();
    assertThrows(IllegalStateException.class, () -> closed.append(frames.get(0)));
  }

  @Test
  void generationsBegunOnWindowCopiesAndSteppedTogetherEqualTheFullPath() {
    // issue 22 point 3: three questions over two windows (and a prefix of one of them) in flight
    // at once, admitted between steps, while the window keeps taking frames
    GenerationOptions greedy = GenerationOptions.greedy(12);
    try (LiveWindow a = model.openLiveWindow(TPF, 4, 64);
        LiveWindow b = model.openLiveWindow(TPF, 4, 64)) {
      a.append(frames.get(0));
      a.append(frames.get(1));
      b.append(frames.get(2));
      List<io.decostream.nn.llava.PendingGeneration> active = new java.util.ArrayList<>();
      io.decostream.nn.llava.PendingGeneration p0 = a.begin(QUESTIONS.get(0), greedy, 2);
      active.add(p0);
      io.decostream.nn.llava.PendingGeneration.step(active);
      io.decostream.nn.llava.PendingGeneration p1 = b.begin(QUESTIONS.get(1), greedy, 1);
      active.add(p1);
      a.append(frames.get(3)); // the window moves on; p0 decodes in its own copy
      io.decostream.nn.llava.PendingGeneration p2 = a.begin(QUESTIONS.get(2), greedy, 2);
      active.add(p2);
      while (active.stream().anyMatch(p -> !p.done())) {
        io.decostream.nn.llava.PendingGeneration.step(active);
      }
      assertArrayEquals(
          full(frames.subList(0, 2), QUESTIONS.get(0), greedy), p0.result().tokenIds());
      assertArrayEquals(
          full(frames.subList(2, 3), QUESTIONS.get(1), greedy), p1.result().tokenIds());
      assertArrayEquals(
          full(frames.subList(0, 2), QUESTIONS.get(2), greedy), p2.result().tokenIds());
      assertEquals(
          model
              .generate(new VideoPrompt(frames.subList(0, 2), TPF, QUESTIONS.get(0)), greedy)
              .promptTokens(),
          p0.result().promptTokens());
      active.forEach(io.decostream.nn.llava.PendingGeneration::close);
      // the windows were left as they were
      assertEquals(3, a.frames());
      assertArrayEquals(
          full(List.of(frames.get(0), frames.get(1), frames.get(3)), QUESTIONS.get(0), greedy),
          a.answer(QUESTIONS.get(0), greedy).tokenIds());
    }
  }
}
