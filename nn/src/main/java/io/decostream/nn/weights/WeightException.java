package io.decostream.nn.weights;

/**
 * A checkpoint does not match the model: a weight is missing, misshaped, of an unsupported dtype or
 * unused.
 */
public class WeightException extends RuntimeException {
  public WeightException(String message) {
    super(message);
  }

  public WeightException(String message, Throwable cause) {
    super(message, cause);
  }
}
