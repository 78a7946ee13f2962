package io.decostream.nn.safetensors;

/** A safetensors file or index is malformed, or a tensor is missing or of an unsupported dtype. */
public class SafeTensorsException extends RuntimeException {
  public SafeTensorsException(String message) {
    super(message);
  }

  public SafeTensorsException(String message, Throwable cause) {
    super(message, cause);
  }
}
