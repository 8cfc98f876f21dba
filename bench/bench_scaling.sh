#!/usr/bin/env bash
# bench_scaling.sh — annotate and fine-tune throughput with 1 and 2 processes (mpirun), on a small
# GPT-2 made on the fly from a generated corpus. Prints a table; docs/scaling.md holds the figures.
#
#   make && bench/bench_scaling.sh            # needs a build with Open MPI (mpirun on PATH)
#
# Knobs (environment): DOCS (annotated documents, default 64), STEPS (fine-tune updates, 12),
# LAYERS/WIDTH (model shape, 4 x 256), BATCH (global micro-batch, 8), SEQ (64), TF_BIN.
# Each configuration is given the same cores: 1 process x 2 threads against 2 processes x 1 thread,
# and 1 x 1 as the baseline a second process adds to.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TF_BIN:-build/toolformer}
DOCS=${DOCS:-64}
STEPS=${STEPS:-12}
LAYERS=${LAYERS:-4}
WIDTH=${WIDTH:-256}
BATCH=${BATCH:-8}
SEQ=${SEQ:-64}
[ -x "$BIN" ] || { echo "bench_scaling: $BIN not built (make)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "bench_scaling: mpirun not found (Debian: openmpi-bin libopenmpi-dev)" >&2; exit 1; }
# local launch without ssh, shared memory, no binding (the machine may be shared)
export OMPI_MCA_plm=isolated OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
W=$(mktemp -d /tmp/tf_bench_scaling_XXXXXX)
trap 'rm -rf "$W"' EXIT

# ---- a corpus of arithmetic stories, a tokenizer, a model trained for a few steps ----------------
names=(Ana Ben Chen Dana Eli Fatima Gus Hana Ivan Jo)
things=(apples pears books coins stamps marbles cards shells)
: >"$W/corpus.jsonl"
for ((d = 0; d < DOCS * 2; d++)); do
    a=$((12 + (d * 37) % 80)) b=$((3 + (d * 11) % 40)) n=${names[d % 10]} t=${things[d % 8]}
    printf '{"id": "s%d", "date": "2023-03-%02d", "text": "%s had %d %s and bought %d more, so %s had %d %s in total. Later %s gave away %d of them, which left %d. The shop sold %d %s on Monday and %d on Tuesday, a total of %d."}\n' \
        "$d" $((1 + d % 28)) "$n" "$a" "$t" "$b" "$n" $((a + b)) "$t" "$n" "$b" "$a" $((a * 2)) "$t" $((b * 3)) $((a * 2 + b * 3)) \
        >>"$W/corpus.jsonl"
done
head -n "$DOCS" "$W/corpus.jsonl" >"$W/annotate.jsonl"
"$BIN" tokenizer train --data "$W/corpus.jsonl" --vocab-size 1024 --out "$W/tok" >/dev/null 2>&1
V=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$W/tok/vocab.json")
cat >"$W/config.json" <<EOF
{"model_type": "gpt2", "n_layer": $LAYERS, "n_embd": $WIDTH, "n_head": 4, "n_positions": 256,
 "vocab_size": $V, "bos_token_id": $((V - 1)), "eos_token_id": $((V - 1)), "activation_function": "gelu_new",
 "tie_word_embeddings": true}
EOF
OMP_NUM_THREADS=2 "$BIN" train --config "$W/config.json" --tokenizer "$W/tok" --data "$W/corpus.jsonl" \
    --out "$W/model" --steps 20 --batch 8 --seq-len 64 --lr 1e-3 >/dev/null
PARAMS=$(OMP_NUM_THREADS=1 "$BIN" train --model "$W/model" --data "$W/corpus.jsonl" --out "$W/p" --steps 1 \
    --batch 1 --seq-len 8 --json | sed 's/.*"params": \([0-9]*\).*/\1/')

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
field() { sed "s/.*\"$1\": \([0-9.]*\).*/\1/"; }
# run NP THREADS CMD...: runs the command with NP processes (mpirun when NP > 1), prints its stdout
run() {
    local np=$1 th=$2
    shift 2
    if [ "$np" = 1 ]; then OMP_NUM_THREADS=$th "$BIN" "$@"; else OMP_NUM_THREADS=$th "${MPIRUN[@]}" -np "$np" "$BIN" "$@"; fi
}

printf '\nmodel: GPT-2 %d layers x %d, vocab %d, %s parameters; allreduce per update %.1f MB\n' \
    "$LAYERS" "$WIDTH" "$V" "$PARAMS" "$(calc "$PARAMS * 4 / 1000000")"
printf 'cores: %s, load before: %s\n\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-22s %14s %10s %8s\n' stage "processes x threads" throughput "wall (s)" speedup
base_a="" base_f=""
for cfg in "1 1" "1 2" "2 1"; do
    set -- $cfg
    np=$1 th=$2
    rm -rf "$W/ann.jsonl"* "$W/ft"
    t0=$(now)
    out=$(run "$np" "$th" annotate --model "$W/model" --data "$W/annotate.jsonl" --tools calculator --proposer tool \
        --tau-f -100 --top-k 4 --samples 2 --quiet --json --out "$W/ann.jsonl" 2>/dev/null)
    t1=$(now)
    dps=$(echo "$out" | field documents_per_s)
    [ -z "$base_a" ] && base_a=$dps
    printf '%-9s %-22s %9.2f doc/s %10.2f %7.2fx\n' annotate "$np x $th" "$dps" "$(calc "$t1 - $t0")" \
        "$(calc "$dps / $base_a")"
    t0=$(now)
    out=$(run "$np" "$th" finetune --model "$W/model" --data "$W/corpus.jsonl" --out "$W/ft" --steps "$STEPS" \
        --batch "$BATCH" --seq-len "$SEQ" --json 2>/dev/null)
    t1=$(now)
    tps=$(echo "$out" | field tokens_per_s)
    [ -z "$base_f" ] && base_f=$tps
    printf '%-9s %-22s %9.0f tok/s %10.2f %7.2fx\n' finetune "$np x $th" "$tps" "$(calc "$t1 - $t0")" \
        "$(calc "$tps / $base_f")"
done
printf '\nload after: %s (throughput excludes start-up; wall includes loading and mpirun)\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
