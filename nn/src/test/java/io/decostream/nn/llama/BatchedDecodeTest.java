package io.decostream.nn.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.decostream.nn.generate.Generator;
import io.decostream.nn.generate.Sampler;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Continuous batching's decode step (issue 22 point 3): sequences of different lengths advanced
 * together give, bit for bit, the logits of each stepped alone, on the Vector API step and on the
 * DJL fallback; generations begun and stepped together give each one's greedy tokens alone.
 */
class BatchedDecodeTest {

  private static final int B = 5;

  private static LlamaModel model(NDManager m, boolean vector) {
    String before = System.getProperty("deco.decode.vector");
    System.setProperty("deco.decode.vector", Boolean.toString(vector));
    try {
      LlamaModel model =
          RandomLlama.build(RandomLlama.config(64, 2, 4, 2, 96, 61, 128), m, 0.3f, 11, null);
      assertEquals(vector, model.vectorDecode());
      return model;
    } finally {
      if (before == null) {
        System.clearProperty("deco.decode.vector");
      } else {
        System.setProperty("deco.decode.vector", before);
      }
    }
  }

  /** B prompts of lengths 3, 7, 11, ... (different cache lengths), random ids. */
  private static int[][] prompts(int vocab) {
    Random r = new Random(3);
    int[][] p = new int[B][];
    for (int b = 0; b < B; b++) {
      p[b] = r.ints(3 + 4 * b, 0, vocab).toArray();
    }
    return p;
  }

  private static KvCache prefilled(LlamaModel model, NDManager m, int[] ids) {
    KvCache c = model.newCache(64);
    try (NDManager s = m.newSubManager()) {
      model.forward(model.embed(s, ids), c).close();
    }
    return c;
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void sequencesSteppedTogetherGiveTheLogitsOfEachAlone(boolean vector) {
    try (NDManager m = NDManager.newBaseManager()) {
      LlamaModel model = model(m, vector);
      int[][] prompts = prompts(model.vocabSize());
      int steps = 9;
      // alone: each sequence's logits at every step, feeding its own argmax
      float[][][] alone = new float[B][steps][];
      int[][] aloneTokens = new int[B][steps];
      for (int b = 0; b < B; b++) {
        try (KvCache c = prefilled(model, m, prompts[b])) {
          int token = prompts[b][prompts[b].length - 1] % model.vocabSize();
          for (int i = 0; i < steps; i++) {
            alone[b][i] = model.decodeNext(token, c).clone();
            token = Sampler.argmax(alone[b][i]);
            aloneTokens[b][i] = token;
          }
        }
      }
      // together: the same steps with all B caches in one batch
      KvCache[] caches = new KvCache[B];
      int[] tokens = new int[B];
      for (int b = 0; b < B; b++) {
        caches[b] = prefilled(model, m, prompts[b]);
        tokens[b] = prompts[b][prompts[b].length - 1] % model.vocabSize();
      }
      try {
        float[][] logits = new float[B][];
        for (int i = 0; i < steps; i++) {
          model.decodeBatch(tokens, caches, B, logits);
          for (int b = 0; b < B; b++) {
            assertArrayEquals(alone[b][i], logits[b], "sequence " + b + " step " + i);
            tokens[b] = Sampler.argmax(logits[b]);
            assertEquals(aloneTokens[b][i], tokens[b]);
          }
        }
        for (int b = 0; b < B; b++) {
          assertEquals(prompts[b].length + steps, caches[b].length());
        }
        // a cache given twice would be written twice at one position
        assertThrows(
            IllegalArgumentException.class,
            () ->
                model.decodeBatch(
                    new int[] {1, 2}, new KvCache[] {caches[0], caches[0]}, 2, new float[2][]));
      } finally {
        for (KvCache c : caches) {
          c.close();
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void generationsSteppedTogetherGiveEachOnesGreedyTokens(boolean vector) {
    try (NDManager m = NDManager.newBaseManager()) {
      LlamaModel model = model(m, vector);
      int[][] prompts = prompts(model.vocabSize());
      Generator gen = new Generator(model, Set.of(7));
      int[] maxNew = {4, 12, 1, 9, 20};
      int[][] expected = new int[B][];
      for (int b = 0; b < B; b++) {
        try (NDManager s = m.newSubManager();
            KvCache window = prefilled(model, m, Arrays.copyOf(prompts[b], 2))) {
          int[] rest = Arrays.copyOfRange(prompts[b], 2, prompts[b].length);
          expected[b] =
              gen.continueFrom(window, model.embed(s, rest), maxNew[b], Sampler.greedy())
                  .tokenIds();
        }
      }
      // begun one after another (admitted between steps), stepped together, retired when done
      List<KvCache> caches = new ArrayList<>();
      List<Generator.Decoding> active = new ArrayList<>();
      Generator.Decoding[] all = new Generator.Decoding[B];
      try (NDManager s = m.newSubManager()) {
        for (int b = 0; b < B; b++) {
          KvCache window = prefilled(model, m, Arrays.copyOf(prompts[b], 2));
          caches.add(window);
          KvCache copy = model.copyOf(window, 2, 64); // a live window's fork
          caches.add(copy);
          int[] rest = Arrays.copyOfRange(prompts[b], 2, prompts[b].length);
          all[b] = gen.begin(copy, model.embed(s, rest), maxNew[b], Sampler.greedy());
          active.add(all[b]);
          gen.step(active);
          active.removeIf(Generator.Decoding::done);
        }
        while (!active.isEmpty()) {
          gen.step(active);
          active.removeIf(Generator.Decoding::done);
        }
        for (int b = 0; b < B; b++) {
          assertTrue(all[b].done());
          assertArrayEquals(expected[b], all[b].result().tokenIds(), "generation " + b);
        }
      } finally {
        caches.forEach(KvCache::close);
      }
    }
  }
}
