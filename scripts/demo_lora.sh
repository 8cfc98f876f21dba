#!/usr/bin/env bash
# demo_lora.sh — the demo's last fine-tuning done with LoRA adapters instead of full fine-tuning,
# evaluated on the same held-out sets, beside the full fine-tuning's figures (docs/demo.md, "LoRA
# instead of full fine-tuning"). The question it answers: does the loop close as well when only
# low-rank adapters on a frozen base are trained, as it must at 6B (docs/large-models.md)?
#
# Needs a finished `make demo` in RESULTS (default results/demo): it reuses that run's fine-tuning
# mix (ft.jsonl: rounds 1 + 2 with plain documents) and its evaluations of the fully fine-tuned
# model. Writes RESULTS/lora/ (adapter, evaluations, summary.json; replaced on every run) and prints
# one table. About 2 minutes on 2 free cores.
#
#   scripts/demo_lora.sh            LORA_R (16), LORA_ALPHA (2 x R), LORA_TARGETS (all-linear),
#                                   LORA_LR (2e-3), EPOCHS (2, as the demo) override the settings
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS=${RESULTS:-results/demo}
DATA=${DATA:-build/default-data}
MODEL=${MODEL:-models/default}
B=${TF_BIN:-build/toolformer}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
R=${LORA_R:-16}
ALPHA=${LORA_ALPHA:-$((2 * R))}
TARGETS=${LORA_TARGETS:-all-linear}
LR=${LORA_LR:-2e-3}
for f in "$RESULTS/ft.jsonl" "$RESULTS/summary.json" "$DATA/search.db"; do
    [ -e "$f" ] || { echo "demo_lora: $f is missing; run \`make demo\` first" >&2; exit 1; }
done
OUT=$RESULTS/lora
rm -rf "$OUT"   # this script's own outputs only
mkdir -p "$OUT"
TOOLS="--tools calendar,calculator,wikisearch --index $DATA/search.db"

# the demo's schedule (scripts/demo.sh ft_args): EPOCHS passes of batch 16 over the same mix, call
# results without loss unless MASK=0
n=$(grep -c . "$RESULTS/ft.jsonl")
steps=$(( (${EPOCHS:-2} * n + 15) / 16 )); [ "$steps" -ge 10 ] || steps=10
echo "== LoRA r $R, alpha $ALPHA on $TARGETS, lr $LR, $steps steps of batch 16 on $RESULTS/ft.jsonl" >&2
$B finetune --model "$MODEL" --data "$RESULTS/ft.jsonl" --out "$OUT/adapter" --lora "$R" --lora-alpha "$ALPHA" \
    --lora-targets "$TARGETS" --batch 16 --seq-len 128 --steps "$steps" --lr "$LR" --warmup $(( steps / 10 )) \
    $([ "${MASK:-1}" = 1 ] && echo --mask-results) --log "$OUT/finetune.log.jsonl" --json > "$OUT/finetune.json"

N_EVAL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("n_eval", 150))' "$RESULTS/summary.json" 2>/dev/null || echo 150)
for set in math:math:$DATA/eval_math.jsonl:${N_EVAL} dates:dates:$DATA/eval_dates.jsonl:${N_EVAL} \
    facts:facts:$DATA/eval_facts.jsonl:${N_EVAL} ood_math:math:data/ood/math.jsonl:1000 \
    ood_dates:dates:data/ood/dates.jsonl:1000 ood_facts:facts:data/ood/facts.jsonl:1000; do
    IFS=: read -r name task file nmax <<<"$set"
    $B eval --model "$MODEL" --adapter "$OUT/adapter" --task "$task" --data "$file" --max-examples "$nmax" \
        --quiet --json $TOOLS > "$OUT/eval_${name}.json"
done

python3 - "$RESULTS" "$OUT" <<'PY'
import json, sys
res, out = sys.argv[1], sys.argv[2]
names = [("math", "math (recipe's templates)"), ("dates", "dates (recipe's templates)"),
         ("facts", "facts (recipe's templates)"), ("ood_math", "word problems (everyday wordings)"),
         ("ood_dates", "dates (everyday wordings)"), ("ood_facts", "facts (everyday wordings)")]
rows, summary = [], {"sets": {}}
print("| held-out set | n | full fine-tuning | LoRA | LoRA - full | LoRA call rate |")
print("|---|---|---|---|---|---|")
for key, label in names:
    full = json.load(open(f"{res}/eval_{key}_toolformer.json"))
    lora = json.load(open(f"{out}/eval_{key}.json"))
    f, l = 100 * full["accuracy"], 100 * lora["accuracy"]
    summary["sets"][key] = {"n": lora.get("n"), "full": round(f, 1), "lora": round(l, 1),
                            "lora_call_rate": round(100 * lora.get("call_rate", 0), 1)}
    print(f"| {label} | {lora.get('n')} | {f:.1f}% | {l:.1f}% | {l - f:+.1f} | {100 * lora.get('call_rate', 0):.1f}% |")
ft = json.load(open(f"{out}/finetune.json"))
summary["finetune"] = ft
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
PY
