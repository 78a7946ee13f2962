package io.decostream.tests;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The build's layering rules (DEVELOPERS guide, issue 2 point 1): model code never imports Kafka or
 * the stream schemas; stream code reaches DJL only through the model modules' plain-Java APIs. (nn
 * and projector additionally ban Kafka as a Maven dependency through the enforcer.)
 */
class LayeringTest {
  /** Stream code: Kafka, never DJL, never the lab. */
  private static final String[] STREAM = {
    "io.decostream.schemas..",
    "io.decostream.broker..",
    "io.decostream.metrics..",
    "io.decostream.ingest..",
    "io.decostream.frames..",
    "io.decostream.encoder..",
    "io.decostream.worker..",
    "io.decostream.console..",
    "io.decostream.cli.."
  };

  static JavaClasses classes;

  @BeforeAll
  static void importProductionClasses() {
    classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.decostream");
  }

  @Test
  void modelCodeNeverImportsKafkaOrSchemas() {
    noClasses()
        .that()
        .resideInAnyPackage(
            "io.decostream.nn..",
            "io.decostream.projector..",
            "io.decostream.train..",
            "io.decostream.shapes..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "org.apache.kafka..",
            "io.decostream.schemas..",
            "io.decostream.metrics..",
            "io.micrometer..")
        .check(classes);
  }

  @Test
  void theSyntheticWorldIsPlainJava() {
    // ShapesWorld is shared by the trainer (model side) and the video writer / eval (stream side):
    // neither DJL nor
    // FFmpeg may leak into it
    noClasses()
        .that()
        .resideInAPackage("io.decostream.shapes..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("ai.djl..", "org.bytedeco..", "io.decostream.nn..")
        .check(classes);
  }

  @Test
  void streamCodeNeverImportsDjlDirectly() {
    noClasses()
        .that()
        .resideInAnyPackage(STREAM)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("ai.djl..")
        .check(classes);
  }

  @Test
  void theRuntimeNeverDependsOnTheLab() {
    // what an operator runs (issue 19 point 4): training, eval, benchmarks and diagnostics stay in
    // the lab module, which may use the runtime but never the other way round
    String[] runtime =
        java.util.stream.Stream.concat(
                java.util.Arrays.stream(STREAM),
                java.util.stream.Stream.of(
                    "io.decostream.nn..", "io.decostream.projector..", "io.decostream.shapes.."))
            .toArray(String[]::new);
    noClasses()
        .that()
        .resideInAnyPackage(runtime)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.decostream.train..", "io.decostream.lab..")
        .check(classes);
  }

  @Test
  void theFamiliesSharedBaseNeverDependsOnAFamily() {
    // issue 19 point 5: a family is one package (config record, blocks, loader) built on the shared
    // base in io.decostream.nn.llava; the base, the config rules and the other families never reach
    // into a family (only llava.families dispatches to all of them)
    String[] families = {
      "io.decostream.nn.llava.nextvideo..",
      "io.decostream.nn.llava.onevision..",
      "io.decostream.nn.llava.llava15..",
      "io.decostream.nn.llava.families.."
    };
    noClasses()
        .that()
        .resideInAnyPackage("io.decostream.nn.llava", "io.decostream.nn.config")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(families)
        .check(classes);
    for (int i = 0; i < 3; i++) {
      String own = families[i];
      String[] others =
          java.util.Arrays.stream(families).filter(f -> !f.equals(own)).toArray(String[]::new);
      noClasses()
          .that()
          .resideInAPackage(own)
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(others)
          .check(classes);
    }
  }

  @Test
  void theRulesSeeTheWholeProject() {
    // Guard against a vacuous pass: every module's classes must have been imported.
    for (String pkg :
        new String[] {
          "nn",
          "projector",
          "schemas",
          "broker",
          "ingest",
          "frames",
          "encoder",
          "worker",
          "cli",
          "console",
          "train",
          "lab",
          "shapes"
        }) {
      if (classes.stream().noneMatch(c -> c.getPackageName().startsWith("io.decostream." + pkg))) {
        throw new AssertionError("no production classes imported from io.decostream." + pkg);
      }
    }
  }
}
