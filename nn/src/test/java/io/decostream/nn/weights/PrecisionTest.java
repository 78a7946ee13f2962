package io.decostream.nn.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The names `deco worker --precision` and `deco bench --half` take. */
class PrecisionTest {

  @Test
  void namesParseCaseInsensitivelyAndAJunkNameListsTheChoices() {
    assertEquals(Precision.F32, Precision.parse(" FP32 "));
    assertEquals(Precision.F16, Precision.parse("half"));
    assertEquals(Precision.BF16, Precision.parse("bf16"));
    assertEquals(Precision.BF16, Precision.parse("BFloat16"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Precision.parse("int4"));
    assertTrue(e.getMessage().contains("f32, f16 or bf16"), e.getMessage());
    assertEquals(2, Precision.BF16.bytes());
    assertEquals(4, Precision.F32.bytes());
  }
}
