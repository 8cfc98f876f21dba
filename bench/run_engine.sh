#!/usr/bin/env bash
# run_engine.sh — the engine benchmark and its PyTorch twin on the shapes of the engine issue, in one
# invocation, printed as one table (C tok/s, PyTorch tok/s, ratio, achieved GFLOP/s).
#
#   bench/run_engine.sh            # both shapes (~5 minutes on the 2-core machine when it is idle)
#   SHAPES=small bench/run_engine.sh    # only L6 d256;  SHAPES=124m for GPT-2 124M only
#   THREADS=2 bench/run_engine.sh       # thread count for both (default: physical cores)
#   OMP_WAIT_POLICY=passive bench/run_engine.sh   # when other programs share the cores (both engines
#                                       # use libgomp; its spinning threads otherwise wait whole time
#                                       # slices at every parallel region)
#   TORCH_BLAS_DIR=DIR bench/run_engine.sh   # a directory holding OpenBLAS's libblas.so.3 for the twin
#
# PyTorch on Debian takes its fp32 GEMM from whichever package provides libblas.so.3. With only the
# reference BLAS (libblas3) installed, PyTorch fp32 runs ~10x slower than with OpenBLAS, which makes
# the C/PyTorch ratio meaningless: install libopenblas0, or extract it without installing
# (apt-get download libopenblas0-pthread; dpkg -x *.deb DIR) and pass
# TORCH_BLAS_DIR=DIR/usr/lib/x86_64-linux-gnu/openblas-pthread. The twin's JSON names the BLAS it used.
#
# JSON of every run lands in build/bench/engine-<shape>-{c,torch}.json. Needs Debian's python3-torch
# (/usr/bin/python3) for the twin; without it the C column alone is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s bench >/dev/null
out=build/bench
py=/usr/bin/python3
have_torch=1
"$py" -c "import torch" 2>/dev/null || have_torch=0

threads=${THREADS:-$(build/bench/bench_engine --print-threads)}
shapes=${SHAPES:-"small 124m"}
echo "engine benchmark, $threads threads, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-default}; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

for s in $shapes; do
    case $s in
        small) args="--layers 6 --embd 256 --heads 8 --vocab 4096 --batch 8 --seq 256 --warmup 1 --repeats 3 --prompt 16 --decode-steps 32" ;;
        124m)  args="--layers 12 --embd 768 --heads 12 --vocab 50257 --batch 4 --seq 64 --warmup 1 --repeats 3 --prompt 16 --decode-steps 16" ;;
        *) echo "run_engine.sh: unknown shape '$s' (small, 124m)" >&2; exit 2 ;;
    esac
    # shellcheck disable=SC2086
    build/bench/bench_engine $args --threads "$threads" --json >"$out/engine-$s-c.json"
    if [ "$have_torch" = 1 ]; then
        # shellcheck disable=SC2086
        LD_LIBRARY_PATH="${TORCH_BLAS_DIR:+$TORCH_BLAS_DIR:}${LD_LIBRARY_PATH:-}" OPENBLAS_NUM_THREADS="$threads" \
            "$py" bench/bench_engine.py $args --threads "$threads" --json >"$out/engine-$s-torch.json"
    else
        rm -f "$out/engine-$s-torch.json"
    fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$have_torch" = 1 ] && "$py" -c "import json, sys; print('PyTorch BLAS:', ' '.join(json.load(open(sys.argv[1]))['blas']))" \
    "$out/engine-${shapes%% *}-torch.json"

"${py}" - "$out" $shapes <<'EOF'
import json, os, sys
out, shapes = sys.argv[1], sys.argv[2:]
targets = {"train": 4.0, "score": 3.0, "decode": 5.0, "decode_b1": 5.0}


def num(r, key):
    return f"{r[key]:10.1f}" if r else f"{'-':>10}"


print(f"{'shape':<34} {'':<10} {'C tok/s':>10} {'PT fp32':>10} {'C/PT':>6} {'target':>6} "
      f"{'C GFLOP/s':>10} {'PT GFLOP/s':>10} {'PT bf16':>10}")
for s in shapes:
    c = json.load(open(f"{out}/engine-{s}-c.json"))
    tp = f"{out}/engine-{s}-torch.json"
    t = json.load(open(tp)) if os.path.exists(tp) else {}
    sh = c["shape"]
    name = f"L{sh['layers']} d{sh['embd']} h{sh['heads']} V{sh['vocab']} B{sh['batch']} T{sh['seq']}"
    for k in ("train", "score", "decode", "decode_b1"):
        cr = c.get(k)
        if not cr:
            continue
        pf, pb = t.get("fp32", {}).get(k), t.get("bf16", {}).get(k)
        label = {"train": "train", "score": "score", "decode": f"decode B{sh['batch']}",
                 "decode_b1": "decode B1"}[k]
        ratio = f"{cr['tok_s'] / pf['tok_s']:6.2f}" if pf else f"{'-':>6}"
        print(f"{name:<34} {label:<10} {num(cr, 'tok_s')} {num(pf, 'tok_s')} {ratio} {targets[k]:5.0f}x "
              f"{num(cr, 'gflops')} {num(pf, 'gflops')} {num(pb, 'tok_s')}")
        name = ""
EOF
