#!/usr/bin/env bash
# Issue 22 point 4: the load test's achieved answer rate with WORKERS worker processes (docs/scaling.md,
# "Scale-out"). Starts a fresh broker, one frames stage (frames at the demo model's 168x168), one
# encoder and WORKERS workers as separate OS processes (libtorch at one thread each), then drives them
# with `deco loadtest --external-stages` and stops everything. Figures in OUT/lt.log and OUT/lt.json.
# usage: scripts/worker-scaleout.sh WORKERS [QUESTIONS_PER_MINUTE] [SECONDS] [STREAMS] [MAX_NEW_TOKENS] [OUT]
#        [LOADTEST FLAGS...]   (e.g. --even-partitions); env PREROLL = the load test's --preroll (default 0)
# env WORKER_CPU (e.g. 0.5): each worker process in a cgroup of its own, limited to that many cores, as a pod's CPU
# limit would: on a machine whose few cores the other stages share, one worker process against two is then a
# comparison of one worker's share against two (needs a writable cgroup cpu controller, v1 or v2; root)
# env WORKER_JAVA_OPTS: more JVM options for the workers (e.g. -Dorg.slf4j.simpleLogger.log.io.decostream.worker=info)
set -uo pipefail
n=${1:?usage: worker-scaleout.sh WORKERS [QPM] [SECONDS] [STREAMS] [MAX_NEW_TOKENS] [OUT]}
qpm=${2:-60}; secs=${3:-120}; streams=${4:-12}; tokens=${5:-32}
root="$(cd "$(dirname "$0")/.." && pwd)"
out=${6:-$root/runs/scaleout/w$n-q$qpm}
cd "$root"
./deco --version >/dev/null # builds once, before the processes start
export DECO_SKIP_BUILD=1 OPT_OUT_TRACKING=true
port=$((19090 + n)); bootstrap=127.0.0.1:$port
model=$root/models/shapes-demo
rm -rf "$out"; mkdir -p "$out"
pids=(); workers=(); names=()
# CPU seconds a process has used so far (utime + stime from /proc)
busy() { awk '/^cpu / { printf "%d %d", $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
groups=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 5; for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  sleep 1; for g in "${groups[@]}"; do rmdir "$g" 2>/dev/null; done
}
# limit PID NAME: the process (all its threads) into a cgroup of WORKER_CPU cores; nothing without WORKER_CPU
limit() {
  [ -n "${WORKER_CPU:-}" ] || return 0
  local quota g
  quota=$(awk -v c="$WORKER_CPU" 'BEGIN { printf "%d", c * 100000 }')
  if [ -w /sys/fs/cgroup/cpu ]; then
    g=/sys/fs/cgroup/cpu/deco-scaleout-$2; mkdir -p "$g"
    echo 100000 >"$g/cpu.cfs_period_us"; echo "$quota" >"$g/cpu.cfs_quota_us"
  elif [ -w /sys/fs/cgroup/cgroup.subtree_control ]; then
    echo +cpu >/sys/fs/cgroup/cgroup.subtree_control
    g=/sys/fs/cgroup/deco-scaleout-$2; mkdir -p "$g"; echo "$quota 100000" >"$g/cpu.max"
  else
    echo "WORKER_CPU needs a writable cgroup cpu controller (/sys/fs/cgroup/cpu or cgroup v2), as root" >&2; exit 2
  fi
  echo "$1" >"$g/cgroup.procs"; groups+=("$g")
}
trap stop EXIT
DECO_JAVA_OPTS="-Xmx2g" ./deco broker --port "$port" >"$out/broker.log" 2>&1 & pids+=($!); names+=(broker)
for _ in $(seq 90); do grep -q "ready at" "$out/broker.log" && break; sleep 1; done
DECO_JAVA_OPTS="-Xmx2g" ./deco frames --bootstrap "$bootstrap" --max-size 168 --state-dir "$out/st-frames" >"$out/frames.log" 2>&1 & pids+=($!); names+=(frames)
DECO_JAVA_OPTS="-Xmx2g -Dai.djl.pytorch.num_threads=1" OMP_NUM_THREADS=1 ./deco encoder --bootstrap "$bootstrap" \
  --model "$model" --state-dir "$out/st-encoder" >"$out/encoder.log" 2>&1 & pids+=($!); names+=(encoder)
for i in $(seq "$n"); do
  DECO_JAVA_OPTS="-Xmx2g -Dai.djl.pytorch.num_threads=1 ${WORKER_JAVA_OPTS:-}" OMP_NUM_THREADS=1 ./deco worker --bootstrap "$bootstrap" \
    --model "$model" --state-dir "$out/st-worker$i" --instance-id "worker-$i" >"$out/worker$i.log" 2>&1 & pids+=($!); workers+=($!); names+=("worker$i")
  limit "$!" "worker$i"
done
[ -n "${WORKER_CPU:-}" ] && echo "==> each worker process limited to $WORKER_CPU cores (${groups[*]})"
echo "==> broker, frames, encoder and $n worker process(es) on $bootstrap; waiting 45 s for them to start"
sleep 45
# CPU of each stage process over the measured run (its first progress line to "cameras stopped",
# the pre-roll left out), and the workers' threads over 10 s in its middle: which thread is the limit
window() {
  until grep -q "^==> .*question(s) per stream per minute" "$out/lt.log" 2>/dev/null; do sleep 0.5; done
  local before=() t0 busy0 idle0 busy1 idle1
  for p in "${pids[@]}"; do before+=("$(cpu "$p")"); done
  t0=$(date +%s); read -r busy0 idle0 < <(busy)
  (sleep $((secs / 2)); top -H -b -d 10 -n 2 -p "$(IFS=,; echo "${workers[*]}")" | awk '/^top -/ {n++} n == 2' |
    head -30) >"$out/worker-threads.txt" 2>&1 &
  until grep -q "^==> cameras stopped" "$out/lt.log" 2>/dev/null; do sleep 0.5; done
  local wall=$(($(date +%s) - t0)); read -r busy1 idle1 < <(busy)
  echo "CPU of each stage process during the measured ${wall} s (the load test's own JVM not included):"
  for i in "${!pids[@]}"; do
    awk -v a="${before[$i]}" -v b="$(cpu "${pids[$i]}")" -v w="$wall" -v n="${names[$i]}" \
      'BEGIN { printf "  %-8s %6.1f s  %.2f cores\n", n, b - a, (b - a) / w }'
  done
  awk -v b=$((busy1 - busy0)) -v i=$((idle1 - idle0)) -v c="$(nproc)" \
    'BEGIN { printf "  machine busy %.0f%% of %d cores (all processes, the load test included)\n", 100 * b / (b + i), c }'
}
window >"$out/stage-cpu.txt" & watcher=$!
DECO_JAVA_OPTS="-Xmx2g" ./deco loadtest --bootstrap "$bootstrap" --external-stages --streams "$streams" \
  --seconds "$secs" --questions-per-minute "$qpm" --max-new-tokens "$tokens" --preroll "${PREROLL:-0}" --drain 20 \
  --progress-every 15 --json "$out/lt.json" "${@:7}" 2>&1 | tee "$out/lt.log"
sleep 1; kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
for g in "${groups[@]}"; do # how often the limit held a worker back (whole run)
  echo "  ${g##*/}: $(tr '\n' ' ' <"$g/cpu.stat")" >>"$out/stage-cpu.txt"
done
cat "$out/stage-cpu.txt"
