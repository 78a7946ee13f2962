package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.decostream.nn.weights.Precision;
import io.decostream.schemas.Guarantee;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code --precision} (issue 20 point 3) as the worker and the in-process pipelines parse it, and
 * the pipeline options that carry it to the worker.
 */
class WeightOptionsTest {

  @Test
  void theWorkerAndTheDemoTakeTheSamePrecisionNames() {
    WorkerCommand worker = new WorkerCommand();
    new CommandLine(worker).parseArgs("--model", "m", "--precision", "bf16");
    assertEquals(Precision.BF16, worker.precision.weights());
    DemoCommand demo = new DemoCommand();
    new CommandLine(demo).parseArgs("--precision", "F16");
    assertEquals(Precision.F16, demo.precision.weights());
    DemoCommand plain = new DemoCommand();
    new CommandLine(plain).parseArgs();
    if (System.getenv("DECO_PRECISION") == null) {
      assertEquals(Precision.F32, plain.precision.weights(), "the default");
    }
    DemoCommand junk = new DemoCommand();
    new CommandLine(junk).parseArgs("--precision", "int4");
    assertThrows(IllegalArgumentException.class, junk.precision::weights);
  }

  @Test
  void pipelineOptionsCarryTheWeightsThroughEveryCopy() {
    Pipeline.Options o = new Pipeline.Options(Path.of("m"), 1.0, "avg:12", 0, 4, Path.of("s"));
    assertEquals(Precision.F32, o.weights());
    Pipeline.Options b = o.withWeights(Precision.BF16);
    assertEquals(Precision.BF16, b.weights());
    assertEquals(o.model(), b.model());
    assertEquals(o.compressor(), b.compressor());
    Pipeline.Options c = b.withGuarantee(Guarantee.AT_LEAST_ONCE).withClient(new Properties());
    assertEquals(Precision.BF16, c.weights(), "kept by withGuarantee and withClient");
    assertEquals(Guarantee.AT_LEAST_ONCE, c.guarantee());
    assertThrows(NullPointerException.class, () -> o.withWeights(null));
  }
}
