package io.decostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameFormat;
import io.decostream.schemas.Grounding;
import io.decostream.schemas.Tensors;
import io.decostream.schemas.WordGrounding;
import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroundingRenderTest {

  static Grounding sample() {
    float[] ttp = new float[2 * 9];
    ttp[2] = 1f; // frame 0: top right
    ttp[9 + 6] = 0.5f; // frame 1: bottom left
    float[] word = new float[2 * 9];
    word[9 + 4] = 2f; // the word looks at the centre of frame 1
    return Grounding.newBuilder()
        .setRefId("q/1")
        .setStreamId("cam")
        .setKind("answer")
        .setQuestion("where?")
        .setText("top right")
        .setFrameIndices(List.of(7L, 8L))
        .setGridHeight(3)
        .setGridWidth(3)
        .setTextToPatch(ByteBuffer.wrap(Tensors.toF32(ttp)))
        .setProducedAtMillis(1L)
        .setTokensPerFrame(9)
        .setWords(
            List.of(
                WordGrounding.newBuilder()
                    .setWord("right")
                    .setTokenIndices(List.of(1))
                    .setTextToPatch(ByteBuffer.wrap(Tensors.toF32(word)))
                    .setTextToQuery(ByteBuffer.wrap(Tensors.toF32(new float[18])))
                    .build()))
        .build();
  }

  @Test
  void writesFrameOverlaysAWindowStripAndWordStrips(@TempDir Path dir) throws Exception {
    BufferedImage grey = new BufferedImage(60, 60, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 60; y++) {
      for (int x = 0; x < 60; x++) {
        grey.setRGB(x, y, 0x404040);
      }
    }
    List<Path> files = GroundingRender.write(sample(), Map.of(7L, grey), dir);
    assertEquals(4, files.size()); // 2 frames + window + 1 word
    assertTrue(files.stream().allMatch(Files::isRegularFile));
    assertTrue(files.get(0).getFileName().toString().equals("q_1-frame-7.png"), files.toString());
    BufferedImage f7 = ImageIO.read(files.get(0).toFile());
    assertEquals(60, f7.getWidth()); // drawn over the frame at its own size
    assertTrue(((f7.getRGB(50, 10) >> 16) & 255) > 150, "top-right patch is hot");
    assertEquals(0x404040, f7.getRGB(5, 55) & 0xFFFFFF, "bottom-left of frame 7 untouched");
    BufferedImage f8 = ImageIO.read(files.get(1).toFile());
    assertEquals(336, f8.getWidth()); // frame 8 missing: black 336x336
    assertTrue(files.get(3).getFileName().toString().contains("word-0-right"));
  }

  @Test
  void rejectsMapsOfTheWrongSizeAndDecodesRgbFrames() {
    Grounding bad = Grounding.newBuilder(sample()).setGridHeight(4).build();
    assertThrows(
        IllegalArgumentException.class,
        () -> GroundingRender.write(bad, Map.of(), Path.of("unused")));
    Frame f =
        Frame.newBuilder()
            .setStreamId("s")
            .setFrameIndex(1)
            .setTimestampMicros(0)
            .setChunkSequence(0)
            .setWidth(2)
            .setHeight(1)
            .setFormat(FrameFormat.RGB24)
            .setData(ByteBuffer.wrap(new byte[] {(byte) 255, 0, 0, 0, 0, (byte) 255}))
            .build();
    BufferedImage img = GroundingRender.image(f);
    assertEquals(0xFF0000, img.getRGB(0, 0) & 0xFFFFFF);
    assertEquals(0x0000FF, img.getRGB(1, 0) & 0xFFFFFF);
  }
}
