package io.decostream.lab;

import io.decostream.train.AttendProbe;
import io.decostream.train.ContentProbe;
import io.decostream.train.KindProbe;
import io.decostream.train.LeakProbe;
import io.decostream.train.MotionErrProbe;
import io.decostream.train.MotionProbe;
import io.decostream.train.TieProbe;
import io.decostream.train.VarProbe;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code deco diagnose NAME PACK [ARGS]}: the one-off probes behind the analyses in
 * docs/shapes-model.md, compiled and tested with the lab (they were scripts compiled outside the
 * build).
 */
@Command(
    name = "diagnose",
    mixinStandardHelpOptions = true,
    description = "Probes of a trained pack behind docs/shapes-model.md's analyses.",
    footer = {
      "",
      "Probes (the optional counts default to the analyses' sizes):",
      "  KindProbe PACK [scenes]   2-shape windows: colour and where answers for each named kind",
      "  Var PACK [proj|tower [scenes]]  between-class variance of pooled cell features by kind and colour",
      "  Tie PACK [scenes]         2-shape colour answers: right, larger shape's, later-drawn shape's",
      "  Attend PACK [F [answer|word [scenes]]]  per type: the lookup head's mass on the named object",
      "  MotionProbe PACK [n]      a linear probe of motion on the named object's visual rows",
      "  MotionErr PACK [scenes]   16-frame motion answers: lookup, ends and relay mass",
      "  Leak PACK [scenes]        colour questions: R-GAE relevance on the latest frame by layer",
      "  Content PACK [F [answer [LAYER [scenes]]]]  how well the naming word predicts the named colour"
    })
final class DiagnoseCommand implements Callable<Integer> {

  /** A probe's entry point: its arguments after the probe's name. */
  interface Probe {
    void run(String[] args) throws Exception;
  }

  static final Map<String, Probe> PROBES = new LinkedHashMap<>();

  static {
    PROBES.put("KindProbe", KindProbe::main);
    PROBES.put("Var", VarProbe::main);
    PROBES.put("Tie", TieProbe::main);
    PROBES.put("Attend", AttendProbe::main);
    PROBES.put("MotionProbe", MotionProbe::main);
    PROBES.put("MotionErr", MotionErrProbe::main);
    PROBES.put("Leak", LeakProbe::main);
    PROBES.put("Content", ContentProbe::main);
  }

  @Parameters(index = "0", description = "The probe: ${COMPLETION-CANDIDATES}.")
  String probe;

  @Parameters(
      index = "1..*",
      arity = "1..*",
      description = "The pack directory, then the probe's own arguments.")
  List<String> args = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    Probe p = PROBES.get(probe);
    if (p == null) {
      throw new IllegalArgumentException(
          "no probe named '" + probe + "'; the probes are " + String.join(", ", PROBES.keySet()));
    }
    p.run(args.toArray(String[]::new));
    return 0;
  }
}
