#!/usr/bin/env bash
# bench_lora_twin.sh — LoRA training tokens/s, the engine (bench/bench_lora.c: a mapped BF16 base,
# fp32 adapters, activation checkpointing) beside its PyTorch twin (bench/bench_lora_twin.py: bf16
# base weights, fp32 adapters, autocast bf16, the same LoRA math), in one run on the same machine,
# for a GPT-2 124M shape and a 1.5B shape (48 x 1600). The issue's target: engine >= 2x PyTorch.
# The engine runs twice per shape: keeping every layer's activations as the twin does (the fair
# comparison), and with activation checkpointing (each layer recomputed in the backward: a third
# more products, for the memory a 6B model needs).
#
#   bench/bench_lora_twin.sh [--quick]     (--quick: a 2-layer 124M-wide shape only, for a smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
make -j2 build/bench/bench_lora >/dev/null
T=${THREADS:-2}
shapes=("12 768 12 4 64" "48 1600 25 1 64")
[ "${1:-}" = --quick ] && shapes=("2 768 12 4 64")
lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print "CPU: " $2}'
for s in "${shapes[@]}"; do
    read -r L C H Bt Tt <<< "$s"
    e=$(build/bench/bench_lora --layers "$L" --embd "$C" --heads "$H" --vocab 50257 --batch "$Bt" --seq "$Tt" \
        --rank 16 --targets c_attn --threads "$T" --no-checkpoint --json)
    c=$(build/bench/bench_lora --layers "$L" --embd "$C" --heads "$H" --vocab 50257 --batch "$Bt" --seq "$Tt" \
        --rank 16 --targets c_attn --threads "$T" --json)
    p=$(/usr/bin/python3 bench/bench_lora_twin.py --layers "$L" --embd "$C" --heads "$H" --vocab 50257 \
        --batch "$Bt" --seq "$Tt" --rank 16 --targets c_attn --threads "$T")
    python3 - "$e" "$c" "$p" "$L" "$C" "$Bt" "$Tt" <<'PY'
import json, sys
e, c, p = (json.loads(a) for a in sys.argv[1:4])
L, C, B, T = sys.argv[4:8]
et, ct, pt = e["step_tokens_per_s"], c["step_tokens_per_s"], p["tokens_per_s"]
print(f"L{L} C{C} B{B} T{T}, LoRA r16 on c_attn: PyTorch (bf16 autocast) {pt:.1f} tokens/s; engine "
      f"{et:.1f} tokens/s (ratio {et / pt:.2f}), with checkpointing {ct:.1f} (ratio {ct / pt:.2f}); "
      f"engine scoring {e['score_gflops']:.0f} GFLOP/s, step {e['step_gflops']:.0f} GFLOP/s")
PY
done
uptime
