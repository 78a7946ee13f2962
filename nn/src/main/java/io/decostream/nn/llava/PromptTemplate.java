package io.decostream.nn.llava;

import java.util.Objects;

/**
 * Conversation templates of the LLaVA families (spec §4.5). Each renders a single-turn prompt with
 * the visual placeholder placed before the question, followed by a newline, as the original LLaVA
 * code and the HF processors do. The placeholder is expanded to the visual rows after tokenization
 * (spec §4.4).
 */
public enum PromptTemplate {
  /**
   * vicuna_v1 / llava_v1.5 ([L15-CONV] conv_vicuna_v1, SeparatorStyle.TWO, sep " "): system line,
   * then {@code USER: <placeholder>\n{question} ASSISTANT:}. Used by LLaVA-1.5 and LLaVA-NeXT-Video
   * (Vicuna).
   */
  VICUNA_V1 {
    @Override
    public String render(String placeholder, String question) {
      return VICUNA_SYSTEM + " USER: " + placeholder + "\n" + question + " ASSISTANT:";
    }
  },
  /**
   * Qwen2 ChatML as LLaVA-OneVision's chat template writes it ([OVCONV]): system, user turn with
   * the placeholder on its own line before the question, then the open assistant turn.
   */
  CHATML {
    @Override
    public String render(String placeholder, String question) {
      return "<|im_start|>system\n"
          + CHATML_SYSTEM
          + "<|im_end|>\n<|im_start|>user\n"
          + placeholder
          + "\n"
          + question
          + "<|im_end|>\n<|im_start|>assistant\n";
    }
  };

  /** vicuna_v1 system line ([L15-CONV] conv_vicuna_v1). */
  public static final String VICUNA_SYSTEM =
      "A chat between a curious user and an artificial intelligence assistant. "
          + "The assistant gives helpful, detailed, and polite answers to the user's questions.";

  /** Qwen2 default system message. */
  public static final String CHATML_SYSTEM = "You are a helpful assistant.";

  /** The prompt for one question about one visual input ({@code <image>} or {@code <video>}). */
  public abstract String render(String placeholder, String question);

  /**
   * Validates a question: non-null, and it must not contain the placeholder (that would splice rows
   * into it).
   */
  public static String checkQuestion(String question, String placeholder) {
    Objects.requireNonNull(question, "question");
    if (question.contains(placeholder)) {
      throw new IllegalArgumentException(
          "the question must not contain the " + placeholder + " placeholder");
    }
    return question;
  }
}
