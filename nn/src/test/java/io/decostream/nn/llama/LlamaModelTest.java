package io.decostream.nn.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.generate.Generator;
import io.decostream.nn.generate.Sampler;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.WeightException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Golden tests of the Llama decoder against plain-PyTorch references written by {@code
 * src/test/resources/golden/llama/make_llama_golden.py} (spec §4.2, §4.3, §5, tolerance rule §8).
 */
public class LlamaModelTest {

  static Path golden(String name) throws Exception {
    return Path.of(LlamaModelTest.class.getResource("/golden/llama/" + name).toURI());
  }

  /** A loaded golden model plus its reference tensors. */
  public record Fixture(
      SafeTensors st,
      CheckpointWeights weights,
      LlamaModel model,
      int[] ids,
      float[] logits,
      int[] greedy)
      implements AutoCloseable {
    @Override
    public void close() {
      model.close();
      weights.close();
      st.close();
    }
  }

  public static Fixture load(String name, NDManager m) throws Exception {
    SafeTensors st = SafeTensors.open(golden(name));
    LlamaConfig cfg =
        new ObjectMapper().readValue(st.metadata().get("config"), LlamaConfig.class).resolved();
    CheckpointWeights w = new CheckpointWeights(st, m);
    LlamaModel model =
        new LlamaModel(
            cfg, w.scoped("model."), cfg.tieWordEmbeddings() ? null : w, "lm_head.weight");
    w.scoped("model.").assertAllUsed();
    return new Fixture(
        st,
        w,
        model,
        toInts(st.readLongs("input_ids")),
        st.readFloats("logits"),
        toInts(st.readLongs("greedy")));
  }

  static int[] toInts(long[] l) {
    return Arrays.stream(l).mapToInt(Math::toIntExact).toArray();
  }

  /** Spec §8 tolerance rule: max|a-b| <= tol * max(1, max|b|). */
  static void assertClose(float[] expected, float[] actual, double tol, String what) {
    assertEquals(expected.length, actual.length, what + " length");
    double maxDiff = 0;
    double maxRef = 0;
    for (int i = 0; i < expected.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
      maxRef = Math.max(maxRef, Math.abs(expected[i]));
    }
    System.out.printf("%s: max abs diff %.3g (max ref %.3g)%n", what, maxDiff, maxRef);
    assertTrue(
        maxDiff <= tol * Math.max(1, maxRef),
        what + ": max |diff| " + maxDiff + " > " + tol + " * max(1, " + maxRef + ")");
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama_golden.safetensors", "llama_bias_golden.safetensors"})
  void fullForwardMatchesPytorchLogitsAndGreedyTokens(String file) throws Exception {
    try (NDManager m = NDManager.newBaseManager();
        Fixture f = load(file, m)) {
      int v = f.model().vocabSize();
      try (NDManager s = m.newSubManager();
          KvCache cache = f.model().newCache(f.ids().length)) {
        NDArray logits = f.model().forward(f.model().embed(s, f.ids()), cache);
        assertEquals(f.ids().length, logits.getShape().get(0));
        assertEquals(v, logits.getShape().get(1));
        assertClose(f.logits(), logits.toFloatArray(), 1e-4, file + " logits");
        assertEquals(f.ids().length, cache.length());
      }
      // greedy continuation through the KV-cache generator equals torch's full-recompute greedy ids
      try (NDManager s = m.newSubManager()) {
        Generator gen = new Generator(f.model(), Set.of()); // golden greedy ran without EOS
        Generator.Result r =
            gen.generate(f.model().embed(s, f.ids()), f.greedy().length, Sampler.greedy());
        assertArrayEquals(f.greedy(), r.tokenIds(), file + " greedy ids");
        assertEquals(Generator.StopReason.MAX_NEW_TOKENS, r.stopReason());
        assertEquals(f.ids().length, r.promptTokens());
      }
    }
  }

  @Test
  void kvCacheDecodeEqualsFullRecompute() throws Exception {
    try (NDManager m = NDManager.newBaseManager();
        Fixture f = load("llama_golden.safetensors", m)) {
      LlamaModel model = f.model();
      int[] seq = new int[f.ids().length + f.greedy().length];
      System.arraycopy(f.ids(), 0, seq, 0, f.ids().length);
      System.arraycopy(f.greedy(), 0, seq, f.ids().length, f.greedy().length);
      int v = model.vocabSize();
      float[] full;
      try (NDManager s = m.newSubManager();
          KvCache c = model.newCache(seq.length)) {
        full = model.forward(model.embed(s, seq), c).toFloatArray();
      }
      try (NDManager s = m.newSubManager();
          KvCache c = model.newCache(seq.length)) {
        // prefill 5, then a chunk of 7, then token by token: every row equals the full recompute
        int[][] chunks = new int[2 + f.greedy().length][];
        chunks[0] = Arrays.copyOfRange(seq, 0, 5);
        chunks[1] = Arrays.copyOfRange(seq, 5, 12);
        for (int i = 0; i < f.greedy().length; i++) {
          chunks[2 + i] = new int[] {seq[12 + i]};
        }
        int pos = 0;
        for (int[] chunk : chunks) {
          float[] got = model.forward(model.embed(s, chunk), c).toFloatArray();
          float[] want = Arrays.copyOfRange(full, pos * v, (pos + chunk.length) * v);
          assertClose(want, got, 1e-5, "rows " + pos + ".." + (pos + chunk.length - 1));
          pos += chunk.length;
          assertEquals(pos, c.length());
        }
        assertEquals(0, c.remaining());
        // a full cache refuses more positions, naming the capacity
        IllegalArgumentException e =
            assertThrows(
                IllegalArgumentException.class,
                () -> model.forward(model.embed(s, new int[] {3}), c));
        assertTrue(e.getMessage().contains("capacity " + seq.length), e.getMessage());
        // truncate and redo the last step with forwardLast
        c.truncate(seq.length - 1);
        float[] last =
            model.forwardLast(model.embed(s, new int[] {seq[seq.length - 1]}), c).toFloatArray();
        assertClose(
            Arrays.copyOfRange(full, (seq.length - 1) * v, seq.length * v),
            last,
            1e-5,
            "forwardLast");
      }
    }
  }

  @Test
  void chunkedPrefillGeneratesTheSameTokens() throws Exception {
    try (NDManager m = NDManager.newBaseManager();
        Fixture f = load("llama_golden.safetensors", m);
        NDManager s = m.newSubManager()) {
      NDArray prompt = f.model().embed(s, f.ids());
      Generator.Result r =
          new Generator(f.model(), Set.of(), 5)
              .generate(prompt, f.greedy().length, Sampler.greedy());
      assertArrayEquals(f.greedy(), r.tokenIds());
      // EOS: stopping at the 3rd greedy token returns the two before it, EOS excluded
      Generator.Result e =
          new Generator(f.model(), Set.of(f.greedy()[2])).generate(prompt, 8, Sampler.greedy());
      assertArrayEquals(Arrays.copyOf(f.greedy(), 2), e.tokenIds());
      assertEquals(Generator.StopReason.EOS, e.stopReason());
      // stop string: the detokenized output contains "<64>" after the second token
      Generator.Result st =
          new Generator(f.model(), Set.of())
              .generate(
                  prompt,
                  8,
                  Sampler.greedy(),
                  java.util.List.of("<" + f.greedy()[1] + ">"),
                  ids ->
                      Arrays.stream(ids).mapToObj(i -> "<" + i + ">").reduce("", String::concat));
      assertArrayEquals(Arrays.copyOf(f.greedy(), 2), st.tokenIds());
      assertEquals(Generator.StopReason.STOP_STRING, st.stopReason());
      assertTrue(r.prefillMillis() > 0 && r.decodeMillis() > 0);
      // the prompt must fit the context (64 positions)
      NDArray tooLong = f.model().embed(s, new int[65]);
      assertThrows(
          IllegalArgumentException.class,
          () -> new Generator(f.model(), Set.of()).generate(tooLong, 1, Sampler.greedy()));
    }
  }

  @Test
  void contextLimitStopsGeneration() throws Exception {
    try (NDManager m = NDManager.newBaseManager();
        Fixture f = load("llama_golden.safetensors", m);
        NDManager s = m.newSubManager()) {
      int ctx = f.model().contextLength();
      NDArray prompt = f.model().embed(s, new int[ctx - 3]);
      Generator.Result r =
          new Generator(f.model(), Set.of()).generate(prompt, 10, Sampler.greedy());
      // positions ctx-3 .. ctx-1 can be fed, so 4 tokens come out (the last is never fed back)
      assertEquals(4, r.tokenIds().length);
      assertEquals(Generator.StopReason.CONTEXT_FULL, r.stopReason());
    }
  }

  @Test
  void missingOrMisshapedWeightFailsNamingIt() throws Exception {
    try (NDManager m = NDManager.newBaseManager();
        SafeTensors st = SafeTensors.open(golden("llama_golden.safetensors"));
        CheckpointWeights w = new CheckpointWeights(st, m)) {
      LlamaConfig cfg =
          new ObjectMapper().readValue(st.metadata().get("config"), LlamaConfig.class).resolved();
      WeightException e =
          assertThrows(
              WeightException.class,
              () -> new LlamaModel(cfg, w.scoped("model."), w, "lm_head.missing"));
      assertTrue(e.getMessage().contains("lm_head.missing"), e.getMessage());
      LlamaConfig wider =
          new LlamaConfig(
              "llama", 100, 64, 128, 2, 4, 2, null, "silu", 64, 1e-5, 1e4, null, false, false, 1, 2,
              null);
      WeightException e2 =
          assertThrows(
              WeightException.class,
              () -> new LlamaModel(wider, w.scoped("model."), w, "lm_head.weight"));
      assertTrue(e2.getMessage().contains("mlp.gate_proj.weight"), e2.getMessage());
    }
  }

  @Test
  void embedRejectsIdsOutsideTheVocabulary() throws Exception {
    try (NDManager m = NDManager.newBaseManager();
        Fixture f = load("llama_golden.safetensors", m)) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> f.model().embed(m, new int[] {1, 100}));
      assertTrue(e.getMessage().contains("100"), e.getMessage());
      NDArray row = f.model().embed(m, new int[] {7, 7});
      assertArrayEquals(
          f.weights()
              .bind("model.embed_tokens.weight", 100, 64)
              .get(new NDIndex("7"))
              .toFloatArray(),
          row.get(new NDIndex("1")).toFloatArray());
    }
  }
}
