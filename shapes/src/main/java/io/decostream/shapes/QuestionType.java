package io.decostream.shapes;

/**
 * The six question templates of issue 5; {@link #label()} is the "type" written to qa.jsonl and
 * used in eval tables.
 */
public enum QuestionType {
  /** {@code what color is the {shape}?} -> colour. */
  COLOR("color"),
  /** {@code what shape is the {color} object?} -> shape. */
  SHAPE("shape"),
  /** {@code how many shapes are there?} -> one / two / three. */
  COUNT("count"),
  /** {@code where is the {color} {shape}?} -> one of the nine positions. */
  POSITION("position"),
  /** {@code which way is the {color} {shape} moving?} -> left / right / up / down / not moving. */
  MOTION("motion"),
  /** {@code is there a {color} {shape}?} -> yes / no. */
  EXISTS("yesno");

  private final String label;

  QuestionType(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  public static QuestionType fromLabel(String label) {
    for (QuestionType t : values()) {
      if (t.label.equals(label)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown question type '" + label + "'");
  }
}
