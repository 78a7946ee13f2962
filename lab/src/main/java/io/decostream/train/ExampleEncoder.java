package io.decostream.train;

import io.decostream.nn.image.RgbImage;
import io.decostream.nn.llava.PromptTemplate;
import io.decostream.nn.tokenizer.PackTokenizer;
import io.decostream.shapes.GroundingCheck;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Turns one example (frames, question, target text, the named object's boxes, the content word)
 * into what the training forward ({@link VideoQaForward}) reads: the frames preprocessed for the
 * tower, the vicuna_v1 prompt's ids around {@code <video>}, the target ids ending in EOS, and for
 * the auxiliary losses the per-token masks over the connector's token grid, the naming word's index
 * and the content word's id.
 */
final class ExampleEncoder {

  /**
   * One tokenized example: preprocessed frames, the prompt ids around {@code <video>}, and the
   * target ids; for the auxiliary losses, per visual token the attention target ({@code attend}, 1
   * where the named object's box covers at least {@value #ATTEND_COVER} of the token's window) and
   * the share of its patches inside the box grown by one patch ({@code insideGrown}, the grounding
   * check's {@link GroundingCheck#tokenInsideShares}), both null without boxes; the naming word's
   * index in the question and the content word's id (-1: none).
   */
  record Encoded(
      float[] pixels,
      int frames,
      int[] prefix,
      int[] questionIds,
      int[] targetIds,
      float[] attend,
      float[] insideGrown,
      int namingWord,
      int contentId) {
    Encoded {
      Objects.requireNonNull(pixels);
      if (frames < 1) {
        throw new IllegalArgumentException("an example needs at least one frame");
      }
    }

    int suffixLength() {
      return questionIds.length + targetIds.length;
    }
  }

  private final TrainablePack pack;
  private final Connector connector;
  private final int eos;

  /**
   * Token ids of the colour and kind words, the words that name an object (for the naming word's
   * index).
   */
  private final java.util.Set<Integer> namingIds;

  /** Encodes for {@code pack}'s tokenizer and processor and {@code connector}'s token grid. */
  ExampleEncoder(TrainablePack pack, Connector connector, int eos) {
    this.pack = pack;
    this.connector = connector;
    this.eos = eos;
    java.util.Set<Integer> ids = new java.util.HashSet<>();
    for (String w : NAMING_WORDS) {
      int[] one = pack.tokenizer().encode(w, false);
      if (one.length == 1 && w.equals(pack.tokenizer().decode(one, true).trim())) {
        ids.add(one[0]);
      }
    }
    this.namingIds = java.util.Set.copyOf(ids);
  }

  /** Preprocesses and tokenizes one example: frames, question, target text (answer or caption). */
  Encoded encode(List<RgbImage> frames, String question, String target) {
    return encode(frames, question, target, List.of());
  }

  /**
   * As {@link #encode(List, String, String)}, plus the attention target: for each frame the box (in
   * the frames' pixels) of the object the question names, turned into a 0/1 mask over the frame's
   * pooled tokens (a token counts when the box covers at least {@value #ATTEND_COVER} of its
   * window); none when {@code boxes} is empty or the connector's tokens are not a square grid over
   * the frame.
   */
  Encoded encode(
      List<RgbImage> frames, String question, String target, List<io.decostream.shapes.Box> boxes) {
    return encode(frames, question, target, boxes, "");
  }

  /**
   * As above, plus the content loss's target word at the naming word (the named object's colour, or
   * see Example).
   */
  Encoded encode(
      List<RgbImage> frames,
      String question,
      String target,
      List<io.decostream.shapes.Box> boxes,
      String contentWord) {
    PackTokenizer tok = pack.tokenizer();
    int video = pack.config().videoTokenIndex();
    int[] ids = tok.encode(PromptTemplate.VICUNA_V1.render("<video>", question), true);
    int at = -1;
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == video) {
        at = i;
      }
    }
    if (at < 0) {
      throw new IllegalStateException("the tokenizer did not keep <video> as one token");
    }
    int[] answer = tok.encode(target, false);
    int[] targetIds = Arrays.copyOf(answer, answer.length + 1);
    targetIds[answer.length] = eos;
    int s = pack.config().visionConfig().imageSize();
    float[] pixels = new float[frames.size() * 3 * s * s];
    for (int f = 0; f < frames.size(); f++) {
      float[] one = pack.processor().preprocess(frames.get(f));
      System.arraycopy(one, 0, pixels, f * one.length, one.length);
    }
    float[] attend = boxes.isEmpty() ? null : attendMask(frames, boxes);
    float[] insideGrown = boxes.isEmpty() ? null : insideGrownBox(frames, boxes);
    int[] questionIds = Arrays.copyOfRange(ids, at + 1, ids.length);
    int contentId = -1;
    if (!contentWord.isEmpty()) {
      int[] c = tok.encode(contentWord, false);
      contentId = c.length == 1 ? c[0] : -1;
    }
    return new Encoded(
        pixels,
        frames.size(),
        Arrays.copyOfRange(ids, 0, at),
        questionIds,
        targetIds,
        attend,
        insideGrown,
        lastNamingWord(questionIds),
        contentId);
  }

  /**
   * Index in the question's ids of its last colour or kind word (the word that names the object),
   * or -1.
   */
  private int lastNamingWord(int[] questionIds) {
    int found = -1;
    for (int j = 0; j < questionIds.length; j++) {
      if (namingIds.contains(questionIds[j])) {
        found = j;
      }
    }
    return found;
  }

  private static final java.util.Set<String> NAMING_WORDS =
      java.util.stream.Stream.concat(
              Arrays.stream(io.decostream.shapes.ShapeColor.values())
                  .map(io.decostream.shapes.ShapeColor::word),
              Arrays.stream(io.decostream.shapes.ShapeKind.values())
                  .map(io.decostream.shapes.ShapeKind::word))
          .collect(java.util.stream.Collectors.toUnmodifiableSet());

  /** A token is an attention target when the object's box covers this share of its window. */
  static final double ATTEND_COVER = 0.1;

  private float[] attendMask(List<RgbImage> frames, List<io.decostream.shapes.Box> boxes) {
    int mTok = connector.tokensPerFrame();
    int side = (int) Math.round(Math.sqrt(mTok));
    if (side * side != mTok || !connector.spatial()) {
      return null;
    }
    float[] mask = new float[frames.size() * mTok];
    for (int f = 0; f < frames.size(); f++) {
      double cw = (double) frames.get(f).width() / side;
      double ch = (double) frames.get(f).height() / side;
      for (int r = 0; r < side; r++) {
        for (int c = 0; c < side; c++) {
          io.decostream.shapes.Box cell =
              new io.decostream.shapes.Box(c * cw, r * ch, (c + 1) * cw, (r + 1) * ch);
          if (boxes.get(f).intersectionArea(cell) >= ATTEND_COVER * cell.area()) {
            mask[f * mTok + r * side + c] = 1f;
          }
        }
      }
    }
    return mask;
  }

  /**
   * Per pooled token, the share of its window's patches whose centre lies inside the object's box
   * grown by one patch: what the grounding check ({@code deco eval --grounding-check}) counts as
   * inside, since Text-to-Patch of average pooling spreads a token's relevance evenly over its
   * window (spec §7.6). Null where the tokens are not a square grid of whole patch windows.
   */
  private float[] insideGrownBox(List<RgbImage> frames, List<io.decostream.shapes.Box> boxes) {
    int mTok = connector.tokensPerFrame();
    int side = (int) Math.round(Math.sqrt(mTok));
    int grid = pack.config().visionConfig().gridSize();
    if (side * side != mTok || !connector.spatial()) {
      return null;
    }
    float[] inside = new float[frames.size() * mTok];
    for (int f = 0; f < frames.size(); f++) {
      RgbImage frame = frames.get(f);
      float[] shares =
          new GroundingCheck(boxes.get(f), frame.width(), frame.height(), grid, grid)
              .tokenInsideShares(side);
      if (shares == null) {
        return null;
      }
      System.arraycopy(shares, 0, inside, f * mTok, mTok);
    }
    return inside;
  }
}
