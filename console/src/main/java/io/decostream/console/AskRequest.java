package io.decostream.console;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A question typed into the console's ask box, checked before anything is produced (issue 21 point
 * 1: "An empty or oversized question gets a clear message on the page").
 *
 * @param streamId the stream asked about (the Question's key)
 * @param question the question text, stripped of surrounding white space
 * @param grounding whether R-GAE grounding maps are wanted with the answer
 */
public record AskRequest(String streamId, String question, boolean grounding) {

  /** Longest question accepted, in UTF-8 bytes. */
  public static final int MAX_QUESTION_BYTES = 4096;

  /** Longest stream id accepted (Kafka keys may be longer, but no camera id needs more). */
  public static final int MAX_STREAM_ID_LENGTH = 255;

  public AskRequest {
    if (streamId == null || streamId.isBlank()) {
      throw new IllegalArgumentException("choose a stream to ask about");
    }
    if (streamId.length() > MAX_STREAM_ID_LENGTH) {
      throw new IllegalArgumentException(
          "the stream id is " + streamId.length() + " characters long; at most 255 are accepted");
    }
    if (question == null || question.isBlank()) {
      throw new IllegalArgumentException("the question is empty: type a question first");
    }
    question = question.strip();
    int bytes = question.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_QUESTION_BYTES) {
      throw new IllegalArgumentException(
          "the question is too long: "
              + bytes
              + " bytes in UTF-8, at most "
              + MAX_QUESTION_BYTES
              + " are accepted");
    }
  }

  /**
   * The request from the page's JSON body {@code {"stream": ..., "question": ..., "grounding":
   * true}}; IllegalArgumentException with the message to show when a field is missing or wrong.
   */
  public static AskRequest fromJson(Map<String, Object> body) {
    if (body == null) {
      throw new IllegalArgumentException("the request has no JSON body");
    }
    Object stream = body.get("stream");
    Object question = body.get("question");
    Object grounding = body.getOrDefault("grounding", Boolean.FALSE);
    if (stream != null && !(stream instanceof String)) {
      throw new IllegalArgumentException("'stream' must be a string");
    }
    if (question != null && !(question instanceof String)) {
      throw new IllegalArgumentException("'question' must be a string");
    }
    if (!(grounding instanceof Boolean)) {
      throw new IllegalArgumentException("'grounding' must be true or false");
    }
    return new AskRequest((String) stream, (String) question, (Boolean) grounding);
  }
}
