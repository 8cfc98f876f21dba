#!/usr/bin/env bash
# bench/bench_serve.sh [MODEL] — `toolformer serve` under load (docs/serve.md "Figures"): tokens/s and
# p50/p99 time to first token and per-token latency with 1, 8 and 32 concurrent streaming clients,
# in fp32 and bf16, then the same prompts through `toolformer generate` one after another (a process
# and a model load per prompt). Not a test: it prints figures. Needs node; about 5 minutes on 2 cores.
#   DTYPES="fp32 bf16" REQUESTS=4 MAX_TOKENS=48 bench/bench_serve.sh models/default
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/default}
dtypes=${DTYPES:-fp32 bf16}
per=${REQUESTS:-4}
max=${MAX_TOKENS:-48}
B=build/toolformer
make -s "$B"
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
python3 - "$tmp/prompts.json" <<'PY'
import json, sys
subjects = ["The farm had 12 cows and bought 30 more, so", "In the beginning", "The capital of France is",
            "Anna paid 45 dollars for 3 books and", "Once upon a time there was", "The river flows",
            "On Monday, January 30, 2023,", "He said that the", "The old man walked", "In 1990 the town",
            "She opened the door and", "The king of the land", "A total of 400 people", "The war began",
            "Every morning the baker", "The ship sailed"]
json.dump(subjects, open(sys.argv[1], "w"))
PY
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for dt in $dtypes; do
    $B serve --model "$model" --tools calculator --dtype "$dt" --max-batch 32 --port 0 2>"$tmp/err" >/dev/null &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$tmp/err" && break; sleep 0.1; done
    port=$(grep -o '127.0.0.1:[0-9]*' "$tmp/err" | cut -d: -f2)
    node bench/bench_serve.mjs "$port" 2 1 8 "$tmp/prompts.json" >/dev/null  # warm-up
    for c in 1 8 32; do
        printf '%-5s ' "$dt"
        node bench/bench_serve.mjs "$port" "$c" "$per" "$max" "$tmp/prompts.json"
    done
    kill -TERM "$pid"; wait "$pid" || true
done
# the same prompts, one `generate` after another (loads the model each time)
n=0; toks=0; t0=$(date +%s.%N)
for i in $(seq 0 $((4 * per - 1))); do
    p=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(a[int(sys.argv[2]) % len(a)])' "$tmp/prompts.json" "$i")
    k=$($B generate --model "$model" --prompt "$p" --tools calculator --max-new "$max" --stop-at-eos --json |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["ids"]))')
    toks=$((toks + k)); n=$((n + 1))
done
t1=$(date +%s.%N)
python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print('generate one after another: {\"requests\": %d, \"tokens\": %d, \"seconds\": %.2f, \"tokens_per_s\": %.1f}' % (int(sys.argv[3]), int(sys.argv[4]), t, int(sys.argv[4])/t))" "$t0" "$t1" "$n" "$toks"
