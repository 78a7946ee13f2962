#!/usr/bin/env bash
# Issue 22 point 4: the load test's achieved answer rate with WORKERS worker processes (docs/scaling.md,
# "Scale-out"). Starts a fresh broker, one frames stage (frames at the demo model's 168x168), one
# encoder and WORKERS workers as separate OS processes (libtorch at one thread each), then drives them
# with `deco loadtest --external-stages` and stops everything. Figures in OUT/lt.log and OUT/lt.json.
# usage: scripts/worker-scaleout.sh WORKERS [QUESTIONS_PER_MINUTE] [SECONDS] [STREAMS] [MAX_NEW_TOKENS] [OUT]
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
pids=(); workers=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; sleep 5; for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; }
trap stop EXIT
DECO_JAVA_OPTS="-Xmx2g" ./deco broker --port "$port" >"$out/broker.log" 2>&1 & pids+=($!)
for _ in $(seq 90); do grep -q "ready at" "$out/broker.log" && break; sleep 1; done
DECO_JAVA_OPTS="-Xmx2g" ./deco frames --bootstrap "$bootstrap" --max-size 168 --state-dir "$out/st-frames" >"$out/frames.log" 2>&1 & pids+=($!)
DECO_JAVA_OPTS="-Xmx2g -Dai.djl.pytorch.num_threads=1" OMP_NUM_THREADS=1 ./deco encoder --bootstrap "$bootstrap" \
  --model "$model" --state-dir "$out/st-encoder" >"$out/encoder.log" 2>&1 & pids+=($!)
for i in $(seq "$n"); do
  DECO_JAVA_OPTS="-Xmx2g -Dai.djl.pytorch.num_threads=1" OMP_NUM_THREADS=1 ./deco worker --bootstrap "$bootstrap" \
    --model "$model" --state-dir "$out/st-worker$i" --instance-id "worker-$i" >"$out/worker$i.log" 2>&1 & pids+=($!); workers+=($!)
done
echo "==> broker, frames, encoder and $n worker process(es) on $bootstrap; waiting 45 s for them to start"
sleep 45
DECO_JAVA_OPTS="-Xmx2g" ./deco loadtest --bootstrap "$bootstrap" --external-stages --streams "$streams" \
  --seconds "$secs" --questions-per-minute "$qpm" --max-new-tokens "$tokens" --preroll 0 --drain 20 \
  --progress-every 15 --json "$out/lt.json" 2>&1 | tee "$out/lt.log"
for p in "${workers[@]}"; do echo "worker process $p: $(ps -o time= -p "$p") of CPU"; done | tee "$out/workers-cpu.txt"
