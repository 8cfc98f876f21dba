#!/usr/bin/env bash
# Regenerates the embedded default model (models/default) from scratch: the data recipe, then
# `toolformer train` on its pretraining corpus with the recorded settings. About 45-50 minutes on 2
# free cores (13,900-15,700 tokens/s on AMD EPYC Zen 4; longer when shared); the demo never needs to
# run it (the model is committed with checksums).
#
# PLAN lists "STOP:STEPS" segments: train until update STOP with a cosine schedule planned for STEPS
# updates, then resume from the checkpoint with the next segment's schedule (resuming is bit-exact).
# The committed model was trained in one segment of 20,000 steps (41 M tokens).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-build/default-data}
OUT=${OUT:-models/default}
WORK=${WORK:-build/pretrain}
PLAN=${PLAN:-"20000:20000"}
LAYERS=${LAYERS:-4} EMBD=${EMBD:-192} HEADS=${HEADS:-6} CTX=${CTX:-256}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
make -j"$(nproc)" build/toolformer >/dev/null
data/make_data.sh "$DATA" --if-stale
mkdir -p "$WORK"
python3 - "$DATA/tokenizer/tokenizer.json" "$WORK/config.json" "$LAYERS" "$EMBD" "$HEADS" "$CTX" <<'PY'
import json, sys
tok = json.load(open(sys.argv[1]))
vocab = max(tok["model"]["vocab"].values()) + 1
for t in tok.get("added_tokens", []):
    vocab = max(vocab, t["id"] + 1)
eos = next(t["id"] for t in tok["added_tokens"] if t["content"] == "<|endoftext|>")
L, C, H, T = map(int, sys.argv[3:7])
json.dump({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": L, "n_embd": C, "n_head": H,
           "n_inner": None, "vocab_size": vocab, "n_positions": T, "n_ctx": T, "layer_norm_epsilon": 1e-5,
           "activation_function": "gelu_new", "bos_token_id": eos, "eos_token_id": eos}, open(sys.argv[2], "w"), indent=1)
PY
for seg in $PLAN; do
    stop=${seg%%:*} steps=${seg##*:}
    done_steps=0
    [ -f "$WORK/model/checkpoint/trainer_state.json" ] &&
        done_steps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["step"])' "$WORK/model/checkpoint/trainer_state.json")
    [ "$done_steps" -lt "$stop" ] || continue
    RESUME=$([ "$done_steps" -gt 0 ] && echo --resume || true)
    build/toolformer train --config "$WORK/config.json" --tokenizer "$DATA/tokenizer" --data "$DATA/pretrain.jsonl" \
        --eval-data "$DATA/eval_ppl.jsonl" --eval-every 500 --out "$WORK/model" --steps "$steps" --stop-after $((stop - done_steps)) \
        --batch 16 --seq-len 128 --lr ${LR:-2e-3} --min-lr ${MIN_LR:-2e-4} --warmup 100 --weight-decay 0.1 --save-every 250 \
        --seed 1 --log "$WORK/log.jsonl" $RESUME --json | tee "$WORK/summary.json"
done
mkdir -p "$OUT"
cp "$WORK/model/config.json" "$WORK/model/model.safetensors" "$OUT/"
cp "$DATA"/tokenizer/tokenizer.json "$DATA"/tokenizer/vocab.json "$DATA"/tokenizer/merges.txt "$OUT/"
(cd "$OUT" && sha256sum config.json model.safetensors tokenizer.json vocab.json merges.txt > SHA256SUMS)
echo "wrote $OUT"
