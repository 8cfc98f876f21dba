#!/usr/bin/env bash
# bench_bf16.sh — bf16 mixed precision against fp32: the engine (bench_bf16, both precisions
# interleaved in one process) beside PyTorch fp32 and autocast bf16 (bench_engine.py), on the engine
# issue's shapes. Target from issue 4: bf16 training >= 2.5x the fp32 tokens/s.
#
#   bench/bench_bf16.sh                 # GPT-2 124M B4 T64, then the small shape (L6 C256 V4096 B8 T256)
#   SHAPES="124m 124m-long small"       # 124m-long: GPT-2 124M at B8 T256
#   SHAPES=124m bench/bench_bf16.sh     # one shape;  THREADS=2 to set the thread count
#   NO_TORCH=1 bench/bench_bf16.sh      # the engine only
#   TORCH_BLAS_DIR=DIR                  # OpenBLAS's libblas.so.3 for the twin's fp32 (see run_engine.sh)
#   PHASES=decode                       # only these phases of the engine (train, score, decode)
#   COLD=1                              # time each unit right after the other precision's (bench_bf16 --cold)
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/bench/bench_bf16 >/dev/null
threads=${THREADS:-2}
py=/usr/bin/python3
have_torch=1
[ -n "${NO_TORCH:-}" ] && have_torch=0
"$py" -c "import torch" 2>/dev/null || have_torch=0
echo "bf16 vs fp32, $threads threads; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in ${SHAPES:-124m small}; do
    case $s in
        124m)  args="--layers 12 --embd 768 --heads 12 --vocab 50257 --batch 4 --seq 64 --prompt 16 --decode-steps 16" ;;
        124m-long) args="--layers 12 --embd 768 --heads 12 --vocab 50257 --batch 8 --seq 256 --prompt 16 --decode-steps 16" ;;
        small) args="--layers 6 --embd 256 --heads 8 --vocab 4096 --batch 8 --seq 256 --prompt 16 --decode-steps 32" ;;
        *) echo "bench_bf16.sh: unknown shape '$s' (124m, 124m-long, small)" >&2; exit 2 ;;
    esac
    echo
    echo "== $s: toolformer.c"
    # shellcheck disable=SC2086
    build/bench/bench_bf16 $args --repeats 3 --threads "$threads" ${PHASES:+--phases "$PHASES"} ${COLD:+--cold}
    if [ "$have_torch" = 1 ]; then
        echo "== $s: PyTorch (fp32 and autocast bf16), tokens/s"
        # shellcheck disable=SC2086
        LD_LIBRARY_PATH="${TORCH_BLAS_DIR:+$TORCH_BLAS_DIR:}${LD_LIBRARY_PATH:-}" OPENBLAS_NUM_THREADS="$threads" \
        "$py" bench/bench_engine.py $args --warmup 1 --repeats 3 --threads "$threads" --json |
            "$py" -c '
import json, sys
r = json.load(sys.stdin)
blas = r.get("blas") or []
print("fp32 BLAS: %s" % (", ".join(blas) or "none found"))
if not any("openblas" in b or "mkl" in b or "blis" in b for b in blas):
    print("warning: PyTorch fp32 runs on the reference BLAS, not a fair twin; set TORCH_BLAS_DIR (docs/benchmarks.md)")
print("%-8s %12s %12s %8s" % ("phase", "fp32 tok/s", "bf16 tok/s", "bf16/fp32"))
for ph in ("train", "score", "decode"):
    f, b = r.get("fp32", {}).get(ph, {}), r.get("bf16", {}).get(ph, {})
    tf, tb = f.get("tok_s") or f.get("tokens_per_s"), b.get("tok_s") or b.get("tokens_per_s")
    if tf and tb:
        print("%-8s %12.1f %12.1f %8.2f" % (ph, tf, tb, tb / tf))
'
    fi
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
