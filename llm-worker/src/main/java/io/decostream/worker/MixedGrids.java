package io.decostream.worker;

import io.decostream.projector.AdaptivePool2d;
import io.decostream.projector.PoolingMode;
import io.decostream.schemas.DType;
import io.decostream.schemas.FrameTokens;
import io.decostream.schemas.Tensors;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A window whose stream changed its token budget mid-window (issue 21 point 4: "windows that mix
 * grids keep answering"). One prompt needs one grid, the latest frame's: older frames on a finer
 * average grid are pooled down to it, which is exact (the same numbers the encoder would have sent
 * under the new budget, up to F16 rounding) when every grid divides the one before it, e.g. 24x24 →
 * 12x12 → 6x6, because averages of equal-sized windows compose. Frames that cannot be brought to
 * the latest grid exactly (coarser ones, max pooling, whose Query-to-Patch the encoder computed
 * from features the worker does not have, uneven windows) end the run: the prompt starts after
 * them, as before.
 */
final class MixedGrids {
  private MixedGrids() {}

  /** The newest run of {@code frames} (oldest first) that can share the latest frame's grid. */
  static List<FrameTokens> toLatestGrid(List<FrameTokens> frames) {
    if (frames.isEmpty()) {
      return frames;
    }
    FrameTokens last = frames.get(frames.size() - 1);
    List<FrameTokens> out = new ArrayList<>();
    out.add(last);
    for (int i = frames.size() - 2; i >= 0; i--) {
      FrameTokens f = frames.get(i);
      if (sameShape(f, last)) {
        out.add(f);
      } else if (poolable(f, last)) {
        out.add(pooled(f, last));
      } else {
        break;
      }
    }
    Collections.reverse(out);
    return out;
  }

  private static boolean sameShape(FrameTokens f, FrameTokens last) {
    return f.getGridHeight() == last.getGridHeight()
        && f.getGridWidth() == last.getGridWidth()
        && f.getTokens().getShape().equals(last.getTokens().getShape());
  }

  private static boolean poolable(FrameTokens f, FrameTokens last) {
    int fh = f.getGridHeight();
    int fw = f.getGridWidth();
    int th = last.getGridHeight();
    int tw = last.getGridWidth();
    return "avg".equals(last.getPooling())
        && ("avg".equals(f.getPooling()) || "none".equals(f.getPooling()))
        && f.getSourceGridHeight() == last.getSourceGridHeight()
        && f.getSourceGridWidth() == last.getSourceGridWidth()
        && f.getSourceGridHeight() % fh == 0
        && f.getSourceGridWidth() % fw == 0
        && fh % th == 0
        && fw % tw == 0
        && f.getTokens().getShape().size() == 2
        && f.getTokens().getShape().get(1).equals(last.getTokens().getShape().get(1));
  }

  private static FrameTokens pooled(FrameTokens f, FrameTokens last) {
    int dim = f.getTokens().getShape().get(1);
    int th = last.getGridHeight();
    int tw = last.getGridWidth();
    float[] x = Tensors.decode(f.getTokens());
    float[] y =
        AdaptivePool2d.pool(x, f.getGridHeight(), f.getGridWidth(), dim, th, tw, PoolingMode.AVG);
    DType dtype = f.getTokens().getDtype();
    return FrameTokens.newBuilder(f)
        .setGridHeight(th)
        .setGridWidth(tw)
        .setPooling("avg")
        .setTokens(Tensors.encode(y, new int[] {th * tw, dim}, dtype))
        .setQueryToPatch(null)
        .build();
  }
}
