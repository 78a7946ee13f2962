package io.decostream.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.decostream.projector.TokenCompressor;
import io.decostream.schemas.BudgetSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The budget grammar lives twice by necessity: in the projector (model code, which may not import
 * the schemas) and in {@link BudgetSpec} (stream code, which the console uses without the model
 * modules). Both must accept exactly the same specs, with the same canonical form, or the console
 * and {@code deco budget} would send budgets the encoder refuses (or refuse good ones).
 */
class BudgetSpecAgreementTest {

  @Test
  void theSchemasCheckAndTheProjectorParseAgree() {
    List<String> specs =
        List.of(
            "avg:12",
            "avg:8",
            "avg:6",
            "max:12",
            "none",
            "none:24",
            "12",
            "12x10",
            "average:7x3",
            " MAX:4X4 ",
            "Avg : 5",
            "avg:",
            "avg",
            "max",
            "none:",
            "median:4",
            "avg:0",
            "avg:-1",
            "avg:1x2x3",
            "avg:x",
            "x",
            "",
            ":",
            "avg:12x",
            "avg:+3",
            "avg:0x5",
            "4x0",
            "avg:1e1",
            "avg:2147483648",
            "none:0",
            "none:0x0",
            "max:24x1",
            "avg::3",
            "avg:3:3");
    for (String spec : specs) {
      String fromProjector;
      try {
        fromProjector = TokenCompressor.parse(spec).spec();
      } catch (IllegalArgumentException e) {
        fromProjector = "refused";
      }
      String fromSchemas;
      try {
        fromSchemas = BudgetSpec.parse(spec, 0).spec();
      } catch (IllegalArgumentException e) {
        fromSchemas = "refused";
      }
      assertEquals(fromProjector, fromSchemas, "spec '" + spec + "'");
    }
  }

  @Test
  void theEncodersCompressorIsTheCheckedSpec() {
    assertEquals(TokenCompressor.parse("avg:6"), BudgetValidator.compressor(" avg:6 ", 12));
    assertEquals(TokenCompressor.none(), BudgetValidator.compressor("none", 12));
  }
}
