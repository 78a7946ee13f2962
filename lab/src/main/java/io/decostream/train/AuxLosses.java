package io.decostream.train;

import java.util.List;
import java.util.Objects;

/**
 * The auxiliary losses of a training forward beside the answers' cross-entropy, each off at weight
 * 0 (docs/shapes-model.md): the attention loss's lookup and, with the lookup at the naming word,
 * its relay and ends; the content loss; the stray loss; the map loss. Validated at construction.
 */
public record AuxLosses(
    LookupLoss.Options attend,
    ContentLoss.Options content,
    StrayLoss.Options stray,
    MapLoss.Options map) {

  /** No auxiliary loss. */
  public static final AuxLosses NONE = new AuxLosses(0, AttendAt.ANSWER, 0, -1, 0, 0);

  /** The losses as {@code deco train}'s options give them. */
  public AuxLosses(
      double attendWeight,
      AttendAt at,
      double contentWeight,
      int contentLayer,
      double strayWeight,
      double mapWeight) {
    this(
        new LookupLoss.Options(attendWeight, at),
        new ContentLoss.Options(contentWeight, contentLayer),
        new StrayLoss.Options(strayWeight),
        new MapLoss.Options(mapWeight));
  }

  public AuxLosses {
    Objects.requireNonNull(attend, "attend");
    Objects.requireNonNull(content, "content");
    Objects.requireNonNull(stray, "stray");
    Objects.requireNonNull(map, "map");
    if (!attend.atWord() && content.layer() > 0) {
      throw new IllegalArgumentException(
          "a content layer reads the naming word's row, which only the lookup at word "
              + "or ends selects, got "
              + attend.at());
    }
  }

  /** The losses in the order their terms are added to the cross-entropy. */
  List<AuxLoss> losses() {
    return List.of(
        new ContentLoss(content),
        new LookupLoss(attend),
        new EndsLoss(attend),
        new RelayLoss(attend),
        new StrayLoss(stray),
        new MapLoss(map));
  }

  /** Whether any loss reads the decoder's trace (the content loss only through its lens). */
  boolean readsTrace() {
    return attend.weight() > 0 || content.lens() || stray.weight() > 0 || map.weight() > 0;
  }

  /**
   * The trace's rows before the question's: the lookup row (the naming word's at word and ends,
   * else the answer's) and, at the naming word, the answer's (the relay and the stray loss).
   */
  int lookupRows() {
    return attend.atWord() ? 2 : 1;
  }

  public double attendWeight() {
    return attend.weight();
  }

  public AttendAt at() {
    return attend.at();
  }

  boolean atWord() {
    return attend.atWord();
  }

  public double contentWeight() {
    return content.weight();
  }

  public double strayWeight() {
    return stray.weight();
  }

  public double mapWeight() {
    return map.weight();
  }
}
