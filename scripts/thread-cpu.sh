#!/usr/bin/env bash
# thread-cpu.sh PID [SECONDS] — CPU of each thread of a running process over SECONDS (default 30),
# by the kernel's thread names, busiest first (issue 22: where the load test's CPU goes).
# Unlike the load test's own per-stage figures (JVM thread clocks), this also sees the threads the
# JVM does not run: the JIT compilers (C1/C2), GC, and the native threads libraries start, which
# inherit their creator's name (libtorch's OpenMP workers are named after the encoder's stream
# thread that first called libtorch). Linux only: reads /proc/PID/task/*/stat.
set -euo pipefail
pid="${1:?usage: thread-cpu.sh PID [SECONDS]}"
secs="${2:-30}"
snap() {
  for t in /proc/"$pid"/task/*; do
    # fields 14 and 15 of stat (utime, stime), counted after the ")" that closes the name
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    set -- $rest
    printf '%s\t%s\t%s\n' "${t##*/}" "$(cat "$t/comm" 2>/dev/null)" "$(( ${12} + ${13} ))"
  done
}
before=$(snap)
sleep "$secs"
after=$(snap)
hz=$(getconf CLK_TCK)
out=$(awk -F'\t' -v secs="$secs" -v hz="$hz" '
  NR == FNR { t0[$1] = $3; next }
  { d = $3 - ($1 in t0 ? t0[$1] : 0); if (d > 0) { cores = d / hz / secs; total += cores;
      printf "%7.3f cores  tid %-7s %s\n", cores, $1, $2 } }
  END { printf "%7.3f cores  in all over %s s\n", total, secs }
' <(echo "$before") <(echo "$after"))
grep -v ' in all ' <<<"$out" | sort -rn
grep ' in all ' <<<"$out"
