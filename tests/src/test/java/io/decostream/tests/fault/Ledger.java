package io.decostream.tests.fault;

import io.decostream.schemas.Answer;
import io.decostream.schemas.Caption;
import io.decostream.schemas.Frame;
import io.decostream.schemas.FrameTokens;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The fault suite's verdict, computed from what a read_committed consumer saw: per stream, every
 * sampled frame index 0..n-1 once on the frames topic and once on the tokens topic; every question
 * answered once; no caption twice; no dead letter (all input was good). Renders the markdown table
 * docs/reliability.md shows.
 */
public final class Ledger {

  /** One kill: which process, when (s since the suite started) and its recovery time in s. */
  public record Kill(int n, String target, double atSeconds, double recoverySeconds) {}

  /** Per-stream frame accounting; {@code repeated} names the indices seen more than once. */
  public record StreamCount(
      String stream,
      int expected,
      int framesIn,
      int framesOut,
      int lost,
      int duplicated,
      String repeated) {}

  public final List<Kill> kills = new ArrayList<>();
  public final List<StreamCount> streams = new ArrayList<>();
  public int questions;
  public int answered;
  public int answersLost;
  public int answersDuplicated;
  public int captions;
  public int captionsDuplicated;

  /** The repeated captions, "stream:first..last x n (ids)", for a failure message. */
  public final List<String> repeatedCaptions = new ArrayList<>();

  public int deadLetters;

  /**
   * @param expectedFrames frames each stream should have: seconds of video published at 1 fps
   * @param asked question ids sent
   */
  public static Ledger of(
      OutputWatch w, Map<String, Integer> expectedFrames, Set<String> asked, List<Kill> kills) {
    Ledger l = new Ledger();
    l.kills.addAll(kills);
    for (Map.Entry<String, Integer> e : expectedFrames.entrySet()) {
      l.streams.add(count(w, e.getKey(), e.getValue()));
    }
    Map<String, Integer> perQuestion = new HashMap<>();
    for (Answer a : w.answers) {
      perQuestion.merge(a.getQuestionId(), 1, Integer::sum);
    }
    l.questions = asked.size();
    for (String q : asked) {
      int n = perQuestion.getOrDefault(q, 0);
      l.answered += Math.min(n, 1);
      l.answersLost += n == 0 ? 1 : 0;
      l.answersDuplicated += Math.max(0, n - 1);
    }
    Map<String, List<String>> perCaption = new TreeMap<>();
    for (Caption c : w.captions) {
      perCaption
          .computeIfAbsent(
              c.getStreamId() + ":" + c.getFirstFrameIndex() + ".." + c.getLastFrameIndex(),
              k -> new ArrayList<>())
          .add(c.getCaptionId());
    }
    l.captions = perCaption.size();
    perCaption.forEach(
        (range, ids) -> {
          if (ids.size() > 1) {
            l.captionsDuplicated += ids.size() - 1;
            l.repeatedCaptions.add(range + " x" + ids.size() + " " + ids);
          }
        });
    l.deadLetters = w.deadLetters.size();
    return l;
  }

  private static StreamCount count(OutputWatch w, String stream, int expected) {
    Map<Long, Integer> in = new HashMap<>();
    for (Frame f : w.frames) {
      if (f.getStreamId().equals(stream)) {
        in.merge(f.getFrameIndex(), 1, Integer::sum);
      }
    }
    Map<Long, Integer> out = new HashMap<>();
    for (FrameTokens t : w.tokens) {
      if (t.getStreamId().equals(stream)) {
        out.merge(t.getFrameIndex(), 1, Integer::sum);
      }
    }
    // lost: an index of 0..expected-1 missing from either topic (a frame never sampled counts too)
    Set<Long> missing = new TreeSet<>();
    for (long i = 0; i < expected; i++) {
      if (!in.containsKey(i) || !out.containsKey(i)) {
        missing.add(i);
      }
    }
    int dup =
        in.values().stream().mapToInt(n -> n - 1).sum()
            + out.values().stream().mapToInt(n -> n - 1).sum();
    TreeSet<String> repeated = new TreeSet<>();
    in.forEach((i, k) -> repeated.addAll(k > 1 ? Set.of("frame " + i + " x" + k) : Set.of()));
    out.forEach((i, k) -> repeated.addAll(k > 1 ? Set.of("tokens " + i + " x" + k) : Set.of()));
    return new StreamCount(
        stream, expected, in.size(), out.size(), missing.size(), dup, String.join(", ", repeated));
  }

  public int framesLost() {
    return streams.stream().mapToInt(StreamCount::lost).sum();
  }

  public int framesDuplicated() {
    return streams.stream().mapToInt(StreamCount::duplicated).sum();
  }

  public double worstRecoverySeconds() {
    return kills.stream().mapToDouble(Kill::recoverySeconds).max().orElse(0);
  }

  /** The tables docs/reliability.md shows. */
  public String markdown() {
    StringBuilder sb = new StringBuilder();
    sb.append("| kill | process | at (s) | processing again after (s) |\n|---:|---|---:|---:|\n");
    for (Kill k : kills) {
      sb.append(
          String.format(
              "| %d | %s | %.1f | %s |%n",
              k.n(),
              k.target(),
              k.atSeconds(),
              k.recoverySeconds() < 0
                  ? "**not within the limit**"
                  : String.format("%.1f", k.recoverySeconds())));
    }
    sb.append(
        "\n| stream | frames expected | frames in | tokens out | lost | duplicated |\n"
            + "|---|---:|---:|---:|---:|---:|\n");
    for (StreamCount s : streams) {
      sb.append(
          String.format(
              "| %s | %d | %d | %d | %d | %d |%n",
              s.stream(), s.expected(), s.framesIn(), s.framesOut(), s.lost(), s.duplicated()));
    }
    for (StreamCount s : streams) {
      if (!s.repeated().isEmpty()) {
        sb.append("\nrepeated in ")
            .append(s.stream())
            .append(": ")
            .append(s.repeated())
            .append('\n');
      }
    }
    sb.append(
        String.format(
            "%n| questions | answered once | lost | duplicated | captions | duplicated |"
                + " dead letters |%n|---:|---:|---:|---:|---:|---:|---:|%n"
                + "| %d | %d | %d | %d | %d | %d | %d |%n",
            questions,
            answered,
            answersLost,
            answersDuplicated,
            captions,
            captionsDuplicated,
            deadLetters));
    return sb.toString();
  }
}
