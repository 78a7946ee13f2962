package io.decostream.nn.weights;

import io.decostream.nn.safetensors.SafeTensors;
import java.util.Collection;
import java.util.List;

/**
 * Resolves the two HF key layouts of LLaVA-family checkpoints (spec §1.4, [LLAVA] {@code
 * _checkpoint_conversion_mapping}) against a checkpoint's tensor names:
 *
 * <pre>
 * component        OLD (published llava-hf files)        NEW (transformers >= 4.52 save format)
 * vision tower     vision_tower.vision_model.*           model.vision_tower.vision_model.*
 * projector        multi_modal_projector.*               model.multi_modal_projector.*
 * language model   language_model.model.*                model.language_model.*
 * lm head          language_model.lm_head.weight         lm_head.weight
 * </pre>
 *
 * Each component is resolved on its own (a checkpoint holding only some parts still resolves). When
 * the lm head is absent (tied embeddings), {@link #lmHeadName()} is the embedding matrix.
 *
 * @param layout OLD or NEW, decided by the language model / vision keys found
 * @param visionPrefix prefix of the CLIP {@code vision_model} tree, ending in {@code
 *     "vision_model."}
 * @param projectorPrefix prefix of {@code linear_1.* / linear_2.*}
 * @param languageModelPrefix prefix before {@code embed_tokens / layers / norm}
 * @param lmHeadName full name of the output projection weight (the embedding weight when tied)
 * @param lmHeadTied whether the checkpoint has no lm head and the embeddings are reused
 */
public record LlavaKeys(
    Layout layout,
    String visionPrefix,
    String projectorPrefix,
    String languageModelPrefix,
    String lmHeadName,
    boolean lmHeadTied) {

  /** The two spellings. */
  public enum Layout {
    OLD(
        "vision_tower.vision_model.",
        "multi_modal_projector.",
        "language_model.model.",
        "language_model.lm_head.weight"),
    NEW(
        "model.vision_tower.vision_model.",
        "model.multi_modal_projector.",
        "model.language_model.",
        "lm_head.weight");

    final String vision;
    final String projector;
    final String language;
    final String lmHead;

    Layout(String vision, String projector, String language, String lmHead) {
      this.vision = vision;
      this.projector = projector;
      this.language = language;
      this.lmHead = lmHead;
    }
  }

  /** Detects the layout from the checkpoint's tensor names. */
  public static LlavaKeys detect(SafeTensors tensors) {
    return detect(tensors.names());
  }

  /** Detects the layout from a binder at the checkpoint root (prefix ""). */
  public static LlavaKeys detect(CheckpointWeights weights) {
    return detect(weights.tensors().names());
  }

  /**
   * Detects the layout from tensor names.
   *
   * @throws WeightException if neither layout's vision, projector or language keys are present
   */
  public static LlavaKeys detect(Collection<String> names) {
    Layout vision = pick(names, Layout.OLD.vision, Layout.NEW.vision);
    Layout projector = pick(names, Layout.OLD.projector, Layout.NEW.projector);
    Layout language = pick(names, Layout.OLD.language, Layout.NEW.language);
    Layout any = language != null ? language : vision != null ? vision : projector;
    if (any == null) {
      List<String> sample = names.stream().limit(8).toList();
      throw new WeightException(
          "checkpoint is in neither LLaVA key layout (expected 'vision_tower.vision_model.*' / "
              + "'language_model.model.*' or 'model.vision_tower.*' / 'model.language_model.*'); first names: "
              + sample);
    }
    Layout lang = language != null ? language : any;
    String lmPrefix = lang.language;
    String lmHead;
    boolean tied = false;
    if (names.contains(Layout.OLD.lmHead)) {
      lmHead = Layout.OLD.lmHead;
    } else if (names.contains(Layout.NEW.lmHead)) {
      lmHead = Layout.NEW.lmHead;
    } else {
      lmHead = lmPrefix + "embed_tokens.weight";
      tied = true;
    }
    return new LlavaKeys(
        any,
        (vision != null ? vision : any).vision,
        (projector != null ? projector : any).projector,
        lmPrefix,
        lmHead,
        tied);
  }

  private static Layout pick(Collection<String> names, String oldPrefix, String newPrefix) {
    boolean hasOld = names.stream().anyMatch(n -> n.startsWith(oldPrefix));
    boolean hasNew = names.stream().anyMatch(n -> n.startsWith(newPrefix));
    if (hasOld && hasNew) {
      throw new WeightException(
          "checkpoint mixes key layouts: both '" + oldPrefix + "*' and '" + newPrefix + "*' exist");
    }
    return hasOld ? Layout.OLD : hasNew ? Layout.NEW : null;
  }

  /**
   * Prefix of the whole vision tower module ({@code vision_tower.} / {@code model.vision_tower.}).
   */
  public String visionTowerPrefix() {
    return visionPrefix.substring(0, visionPrefix.length() - "vision_model.".length());
  }
}
