#!/usr/bin/env bash
# Annotate throughput on the embedded default model (issue 6): documents/s and candidate calls
# scored/s (each executed candidate is three scored rows: L+, L(e(c, eps)), L(eps)), for one process
# with 2 threads, and for 2 shard processes with 1 thread each (--shard 0/2 and 1/2 side by side).
#   bench/bench_annotate.sh [MODEL] [DATA_DIR] [N_DOCS]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/default}
DATA=${2:-build/default-data}
N=${3:-200}
B=build/toolformer
OUT=$(mktemp -d /tmp/tf_bench_annotate.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
make -j2 build/toolformer >/dev/null
head -n "$N" "$DATA/annotate.jsonl" > "$OUT/corpus.jsonl"
ARGS="--model $MODEL --data $OUT/corpus.jsonl --tools calendar,calculator,wikisearch --index $DATA/search.db --proposer tool --quiet --json"
report() {  # label seconds summary.json...
    python3 - "$@" <<'PY'
import json, sys
label, secs, files = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
docs = cands = kept = 0
for f in files:
    s = json.load(open(f))
    docs += s["documents"]
    for t in s["tools"]:
        cands += t["executed"]
        kept += t["kept"]
print(f"{label:28} {docs:6d} docs {secs:7.2f} s {docs / secs:8.2f} docs/s {cands / secs:9.1f} candidates/s ({kept} kept)")
PY
}
t0=$(date +%s.%N)
$B annotate $ARGS --threads 2 --out "$OUT/one.jsonl" > "$OUT/one.json"
t1=$(date +%s.%N)
report "1 process x 2 threads" "$(python3 -c "print($t1 - $t0)")" "$OUT/one.json"
t0=$(date +%s.%N)
$B annotate $ARGS --threads 1 --shard 0/2 --out "$OUT/s0.jsonl" > "$OUT/s0.json" &
$B annotate $ARGS --threads 1 --shard 1/2 --out "$OUT/s1.jsonl" > "$OUT/s1.json"
wait
t1=$(date +%s.%N)
report "2 shards x 1 thread" "$(python3 -c "print($t1 - $t0)")" "$OUT/s0.json" "$OUT/s1.json"
