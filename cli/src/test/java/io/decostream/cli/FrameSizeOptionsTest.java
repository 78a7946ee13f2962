package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Issue 22: the frames stage sized for the model (deco frames --max-size, the load test's default
 * of the vision tower's input size) and the load test's libtorch thread count.
 */
class FrameSizeOptionsTest {

  @Test
  void theLoadTestScalesFramesToTheVisionTowersInputUnlessToldOtherwise(@TempDir Path dir)
      throws Exception {
    Files.writeString(
        dir.resolve("config.json"),
        "{\"vision_config\": {\"image_size\": 336, \"patch_size\": 14}}");
    assertEquals(336, LoadtestCommand.frameSize(null, dir));
    assertEquals(224, LoadtestCommand.frameSize(224, dir));
    assertNull(LoadtestCommand.frameSize(0, dir), "0 = the frames stage's own default");
    Path bare = Files.createDirectory(dir.resolve("no-vision"));
    Files.writeString(bare.resolve("config.json"), "{\"text_config\": {}}");
    assertNull(LoadtestCommand.frameSize(null, bare));
    assertNull(LoadtestCommand.frameSize(null, Files.createDirectory(dir.resolve("empty"))));
  }

  @Test
  void theShippedModelsInputIs168() {
    Path pack = DemoCommand.shippedModel();
    assertNotNull(pack, "models/shapes-demo is found from the module's directory");
    assertEquals(168, LoadtestCommand.frameSize(null, pack));
  }

  @Test
  void libtorchGetsOneThreadUnlessTheFlagOrThePropertySaysOtherwise() {
    String key = "ai.djl.pytorch.num_threads";
    String before = System.getProperty(key);
    try {
      System.clearProperty(key);
      assertNull(LoadtestCommand.torchThreads(0), "0 leaves libtorch's default");
      assertNull(System.getProperty(key));
      assertEquals("1", LoadtestCommand.torchThreads(null));
      System.setProperty(key, "3");
      assertEquals("3", LoadtestCommand.torchThreads(null), "a property the user set is kept");
      assertEquals("2", LoadtestCommand.torchThreads(2), "the flag wins");
      assertEquals("2", System.getProperty(key));
    } finally {
      if (before == null) {
        System.clearProperty(key);
      } else {
        System.setProperty(key, before);
      }
    }
  }

  @Test
  void framesMaxSizeTakesWidthByHeightOrOneNumber() {
    assertArrayEquals(new int[] {1920, 1080}, FramesCommand.parseSize("1920x1080"));
    assertArrayEquals(new int[] {336, 336}, FramesCommand.parseSize(" 336 "));
    assertArrayEquals(new int[] {640, 360}, FramesCommand.parseSize("640X360"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> FramesCommand.parseSize("big"));
    assertTrue(e.getMessage().contains("--max-size"), e.getMessage());
    if (System.getenv("DECO_FRAMES_MAX_SIZE") == null) {
      FramesCommand frames = new FramesCommand();
      new CommandLine(frames).parseArgs();
      assertEquals("1920x1080", frames.maxSize);
      new CommandLine(frames).parseArgs("--max-size", "168");
      assertEquals("168", frames.maxSize);
    }
  }
}
