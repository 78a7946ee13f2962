package io.decostream.schemas;

import java.util.List;
import java.util.Objects;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The typed DeCo Stream topics, built from a {@link TopicNames}: each carries its value type and an
 * {@link AvroSerde}; every key is the String stream id.
 */
public record Topics(
    TopicNames names,
    Topic<VideoChunk> chunks,
    Topic<Frame> frames,
    Topic<FrameTokens> tokens,
    Topic<Question> questions,
    Topic<Answer> answers,
    Topic<Caption> captions,
    Topic<Grounding> grounding,
    Topic<DeadLetter> deadLetters,
    Topic<BudgetControl> control,
    Topic<BudgetControl> budgets) {

  public Topics {
    Objects.requireNonNull(names, "names");
    Objects.requireNonNull(chunks, "chunks");
    Objects.requireNonNull(frames, "frames");
    Objects.requireNonNull(tokens, "tokens");
    Objects.requireNonNull(questions, "questions");
    Objects.requireNonNull(answers, "answers");
    Objects.requireNonNull(captions, "captions");
    Objects.requireNonNull(grounding, "grounding");
    Objects.requireNonNull(deadLetters, "deadLetters");
    Objects.requireNonNull(control, "control");
    Objects.requireNonNull(budgets, "budgets");
  }

  /** Typed topics with the given names. */
  public static Topics of(TopicNames names) {
    Serde<String> key = Serdes.String();
    return new Topics(
        names,
        topic(names.chunks(), VideoChunk.class, key),
        topic(names.frames(), Frame.class, key),
        topic(names.tokens(), FrameTokens.class, key),
        topic(names.questions(), Question.class, key),
        topic(names.answers(), Answer.class, key),
        topic(names.captions(), Caption.class, key),
        topic(names.grounding(), Grounding.class, key),
        topic(names.deadLetters(), DeadLetter.class, key),
        topic(names.control(), BudgetControl.class, key),
        topic(names.budgets(), BudgetControl.class, key));
  }

  /** Typed topics with the default names. */
  public static Topics defaults() {
    return of(TopicNames.defaults());
  }

  /** All ten topics: the pipeline's eight in order, then the token budget's two. */
  public List<Topic<?>> all() {
    return List.of(
        chunks,
        frames,
        tokens,
        questions,
        answers,
        captions,
        grounding,
        deadLetters,
        control,
        budgets);
  }

  private static <V extends SpecificRecord> Topic<V> topic(
      String name, Class<V> type, Serde<String> key) {
    return new Topic<>(name, type, key, new AvroSerde<>(type));
  }
}
