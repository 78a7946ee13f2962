package io.decostream.nn.llava;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.decostream.nn.config.LlamaConfig;
import io.decostream.nn.llama.LlamaModel;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.nn.weights.CheckpointWeights;
import io.decostream.nn.weights.LlavaKeys;
import io.decostream.nn.weights.Precision;
import io.decostream.nn.weights.WeightBinder;
import io.decostream.nn.weights.WeightException;
import io.decostream.projector.MlpProjector;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The language side every LLaVA family loads the same way (spec §3.1, §4, §5): {@code
 * multi_modal_projector} (linear_1 Dv→Dt, exact GELU, linear_2 Dt→Dt, with biases), the Llama/Qwen2
 * decoder with its head (or tied embeddings), {@code tokenizer.json} with the family's placeholder
 * checked against config.json, and the EOS ids. Binding is strict: the projector and language-model
 * trees must be used completely.
 *
 * <p>Part of the families' shared base: public for the family packages ({@code
 * io.decostream.nn.llava.nextvideo}, {@code .onevision}, {@code .llava15}), not an API for other
 * modules.
 */
public record LanguageParts(
    MlpProjector projector, LlamaModel llm, PackTokenizer tokenizer, Set<Integer> eosIds) {

  /**
   * Binds and loads; every opened resource is pushed to the front of {@code opened} so the caller
   * can close all of them if a later step fails.
   *
   * @param tieAtTopLevel the multimodal config's own {@code tie_word_embeddings}
   */
  public static LanguageParts load(
      Path packDir,
      CheckpointWeights weights,
      LlavaKeys keys,
      LlamaConfig text,
      int dv,
      boolean tieAtTopLevel,
      String placeholder,
      int placeholderId,
      List<AutoCloseable> opened) {
    return load(
        packDir,
        weights,
        keys,
        text,
        dv,
        tieAtTopLevel,
        placeholder,
        placeholderId,
        Precision.F32,
        opened);
  }

  /** As above, the decoder's weight matrices held at {@code precision} (issue 20 point 3). */
  public static LanguageParts load(
      Path packDir,
      CheckpointWeights weights,
      LlavaKeys keys,
      LlamaConfig text,
      int dv,
      boolean tieAtTopLevel,
      String placeholder,
      int placeholderId,
      Precision precision,
      List<AutoCloseable> opened) {
    int dt = text.hiddenSize();
    WeightBinder proj = weights.scoped(keys.projectorPrefix());
    MlpProjector projector =
        new MlpProjector(
            proj.bind("linear_1.weight", dt, dv),
            proj.bind("linear_1.bias", dt),
            proj.bind("linear_2.weight", dt, dt),
            proj.bind("linear_2.bias", dt));
    proj.assertAllUsed();
    if (keys.lmHeadTied() && !text.tieWordEmbeddings() && !tieAtTopLevel) {
      String head =
          keys.layout() == LlavaKeys.Layout.OLD
              ? "language_model.lm_head.weight"
              : "lm_head.weight";
      throw new WeightException(
          "missing weight '" + head + "' (the config does not tie word embeddings)");
    }
    LlamaModel llm =
        new LlamaModel(
            text,
            weights.scoped(keys.languageModelPrefix()),
            keys.lmHeadTied() ? null : weights,
            keys.lmHeadName(),
            precision);
    opened.add(0, llm);
    weights.scoped(keys.languageModelPrefix()).assertAllUsed();
    PackTokenizer tokenizer = PackTokenizer.load(packDir);
    opened.add(0, tokenizer);
    checkTokenizer(tokenizer, text, placeholder, placeholderId);
    return new LanguageParts(projector, llm, tokenizer, eosIds(packDir, text));
  }

  /**
   * The placeholder must be one token with config.json's id, and the tokenizer must fit the
   * embedding table.
   */
  public static void checkTokenizer(
      PackTokenizer tokenizer, LlamaConfig text, String placeholder, int placeholderId) {
    if (!tokenizer.hasToken(placeholder)) {
      throw new IllegalArgumentException("tokenizer.json has no '" + placeholder + "' token");
    }
    if (tokenizer.tokenId(placeholder) != placeholderId) {
      throw new IllegalArgumentException(
          "tokenizer maps '"
              + placeholder
              + "' to "
              + tokenizer.tokenId(placeholder)
              + " but config.json says "
              + placeholderId);
    }
    if (tokenizer.vocabSize() > text.vocabSize()) {
      throw new IllegalArgumentException(
          "tokenizer has "
              + tokenizer.vocabSize()
              + " ids but text_config.vocab_size is "
              + text.vocabSize());
    }
  }

  /**
   * EOS ids: generation_config.json {@code eos_token_id} (int or list) if present, else the text
   * config's.
   */
  public static Set<Integer> eosIds(Path packDir, LlamaConfig text) {
    Path gen = packDir.resolve("generation_config.json");
    Set<Integer> ids = new LinkedHashSet<>();
    if (Files.isRegularFile(gen)) {
      try {
        JsonNode eos = new ObjectMapper().readTree(gen.toFile()).path("eos_token_id");
        if (eos.isInt()) {
          ids.add(eos.asInt());
        } else if (eos.isArray()) {
          eos.forEach(n -> ids.add(n.asInt()));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + gen + ": " + e.getMessage(), e);
      }
    }
    if (ids.isEmpty()) {
      ids.addAll(text.eosTokenIds());
    }
    return Set.copyOf(ids);
  }

  /** config.json {@code _name_or_path} when present, else the pack directory's name. */
  public static String modelId(Path packDir) {
    try {
      JsonNode n =
          new ObjectMapper()
              .readTree(packDir.resolve("config.json").toFile())
              .path("_name_or_path");
      if (n.isTextual() && !n.asText().isBlank()) {
        return n.asText();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path name = packDir.toAbsolutePath().normalize().getFileName();
    return name == null ? packDir.toString() : name.toString();
  }

  /**
   * multi_modal_projector (spec §3.1) on the rows of every frame, frames in time order: F arrays of
   * N*Dv values become [F*N, Dt] on {@code step}.
   */
  public NDArray project(NDManager step, List<float[]> frames) {
    int dv = projector.inputDim();
    float[] flat = concat(frames);
    return projector.forward(step.create(flat, new Shape(flat.length / dv, dv)));
  }

  /**
   * Splices {@code rows} in place of the prompt's placeholders and generates (spec §4.4, §5) with
   * this language side's decoder, tokenizer and EOS ids.
   */
  GenerationResult generate(
      NDManager step,
      String text,
      String placeholder,
      int placeholderId,
      int placeholders,
      NDArray rows,
      GenerationOptions options,
      double projectorMillis) {
    return Splicing.generate(
        step,
        llm,
        tokenizer,
        text,
        placeholder,
        placeholderId,
        placeholders,
        rows,
        options,
        eosIds,
        projectorMillis);
  }

  /**
   * R-GAE of {@code generatedIds}, the answer {@link #generate} gave to the same prompt and rows
   * ({@link Explaining}).
   */
  AnswerGrounding explain(
      NDManager step,
      String text,
      String placeholder,
      int placeholderId,
      int placeholders,
      NDArray rows,
      int[] generatedIds,
      long startNanos) {
    return Explaining.explain(
        step, this, text, placeholder, placeholderId, placeholders, rows, generatedIds, startNanos);
  }

  /** The arrays one after another (e.g. each frame's features, frames in time order). */
  public static float[] concat(List<float[]> parts) {
    int n = 0;
    for (float[] p : parts) {
      n = Math.addExact(n, p.length);
    }
    float[] out = new float[n];
    int off = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, off, p.length);
      off += p.length;
    }
    return out;
  }

  /** Closes the tokenizer and the decoder's tables (the weights belong to the checkpoint). */
  public void close() {
    tokenizer.close();
    llm.close();
  }

  /** Closes what {@code opened} holds, attaching failures to {@code e}. */
  public static void closeAll(List<AutoCloseable> opened, RuntimeException e) {
    for (AutoCloseable c : opened) {
      try {
        c.close();
      } catch (Exception suppressed) {
        e.addSuppressed(suppressed);
      }
    }
  }
}
