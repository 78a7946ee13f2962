package io.decostream.cli;

import io.decostream.nn.weights.Precision;
import picocli.CommandLine.Option;

/**
 * How the language model's weight matrices are held (issue 20 point 3): the worker's option, also
 * on the commands that run a worker in process ({@code deco demo}, {@code deco eval}).
 */
public final class WeightOptions {
  @Option(
      names = "--precision",
      defaultValue = "${env:DECO_PRECISION:-f32}",
      description =
          "How the language model's weight matrices are held: f32, f16 or bf16 (16 bits: half"
              + " the memory and the bytes each decoded token reads; outputs within the tolerance"
              + " in docs/design.md; bf16 keeps a BF16 checkpoint as it is). Default"
              + " ${DEFAULT-VALUE}, env DECO_PRECISION.")
  String precision;

  /** The parsed precision; an unknown name throws IllegalArgumentException listing the choices. */
  public Precision weights() {
    return Precision.parse(precision);
  }
}
