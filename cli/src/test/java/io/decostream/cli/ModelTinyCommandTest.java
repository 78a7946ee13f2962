package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.decostream.nn.config.ModelFamily;
import io.decostream.nn.llava.DebugForwardModel;
import io.decostream.nn.llava.families.Families;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import picocli.CommandLine;

/**
 * {@code deco model tiny --type} (issue 23 point 3): a random pack of each family that its family's
 * strict loader accepts, with the sizes {@code deco budget} reads.
 */
class ModelTinyCommandTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void writesAPackOfEachFamilyThatLoadsStrictly(ModelFamily family) {
    Path out = tmp.resolve(family.modelType());
    int rc =
        new CommandLine(new ModelCommand.Tiny())
            .execute("--out", out.toString(), "--type", family.modelType(), "--seed", "5");
    assertEquals(0, rc);
    try (DebugForwardModel m = Families.load(out)) {
      assertEquals(family, m.family());
    }
    // the default tiny spec keeps CLIP-L/14-336's 24x24 grid
    assertEquals(new Families.Sizes(24, 4096), Families.sizes(out));
  }

  @org.junit.jupiter.api.Test
  void anUnknownTypeIsAnError() {
    int rc =
        new CommandLine(new ModelCommand.Tiny())
            .execute("--out", tmp.resolve("x").toString(), "--type", "llava_next");
    assertNotEquals(0, rc);
  }
}
