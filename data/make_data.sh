#!/usr/bin/env bash
# make_data.sh — the data recipe of the embedded default model (see data/README.md).
#
#   data/make_data.sh OUT_DIR [--quick] [--seed N] [--if-stale]
#
# Installs the Debian packages it reads when they are missing (sudo when not root), builds the
# CLI when absent (env TF_BIN overrides it), then writes into OUT_DIR: pretrain.jsonl,
# annotate.jsonl, control.jsonl, eval_{math,dates,facts,ppl}.jsonl, passages.jsonl,
# heldout.json, tokenizer/, search.db and manifest.json. Deterministic for a given seed.
# --if-stale: do nothing when OUT_DIR/manifest.json says it was made by this very recipe (the
# sha256 of gen.py, wordings.py, make_data.sh and manifest.py) with the same seed and --quick; else regenerate.
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
OUT=""
GEN_ARGS=()
QUICK=0
IF_STALE=0
SEED=20230209
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --quick) QUICK=1; GEN_ARGS+=(--quick) ;;
    --if-stale) IF_STALE=1 ;;
    --seed)
        [ $# -ge 2 ] || { echo "make_data.sh: --seed needs a value" >&2; exit 2; }
        SEED="$2"; shift ;;
    -*) echo "make_data.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *)
        [ -z "$OUT" ] || { echo "make_data.sh: one OUT_DIR only" >&2; exit 2; }
        OUT="$1" ;;
    esac
    shift
done
[ -n "$OUT" ] || { usage >&2; exit 2; }
case "$SEED" in '' | *[!0-9]*) echo "make_data.sh: --seed must be a number" >&2; exit 2 ;; esac

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
export PYTHONHASHSEED=0 LC_ALL=C.UTF-8
RECIPE=$(cat "$HERE/gen.py" "$HERE/wordings.py" "$HERE/make_data.sh" "$HERE/manifest.py" | sha256sum | cut -d' ' -f1)
if [ "$IF_STALE" = 1 ] && [ -f "$OUT/manifest.json" ]; then
    python3 - "$OUT/manifest.json" "$RECIPE" "$SEED" "$QUICK" <<'PY' && exit 0
import json, sys
try:
    m = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit(1)
same = (m.get("recipe_sha256"), m.get("seed"), m.get("quick")) == (sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1")
sys.exit(0 if same else 1)
PY
    echo "make_data.sh: $OUT was made by another recipe; regenerating" >&2
fi

# ---- packages: the files the generator reads, and the package that provides each
need=()
[ -x /usr/bin/bible ] || need+=(bible-kjv)
[ -e /usr/lib/bible.data ] || need+=(bible-kjv-text)
[ -e /usr/share/games/fortunes/wisdom ] || need+=(fortunes)
[ -e /usr/share/wordnet/data.noun ] || need+=(wordnet-base)
[ -e /usr/share/misc/countries.gz ] || need+=(miscfiles)
[ -e /usr/share/games/bsdgames/quiz/elements ] || need+=(bsdgames)
[ -e /usr/share/dictd/elements.dict.dz ] || need+=(dict-elements)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "make_data.sh: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ---- the CLI
TF_BIN="${TF_BIN:-$ROOT/build/toolformer}"
if [ ! -x "$TF_BIN" ]; then
    echo "make_data.sh: building $TF_BIN" >&2
    make -C "$ROOT" -j"$(nproc)" build/toolformer >/dev/null
fi

mkdir -p "$OUT"
t0=$(date +%s)
python3 "$HERE/gen.py" "$OUT" --seed "$SEED" "${GEN_ARGS[@]}"
t1=$(date +%s)

VOCAB=4096
[ "$QUICK" = 1 ] && VOCAB=1024
rm -rf "$OUT/tokenizer" "$OUT/search.db"
"$TF_BIN" tokenizer train --data "$OUT/pretrain.jsonl" --vocab-size "$VOCAB" --split-digits --out "$OUT/tokenizer" >/dev/null
t2=$(date +%s)
TF_PROGRESS=0 "$TF_BIN" index --data "$OUT/passages.jsonl" --out "$OUT/search.db" >/dev/null
t3=$(date +%s)

python3 "$HERE/manifest.py" "$OUT" "$SEED" "$VOCAB" "$QUICK" \
    "gen=$((t1 - t0)) tokenizer=$((t2 - t1)) index=$((t3 - t2))" "$RECIPE"
# the default model was pretrained on exactly this corpus: say so when it no longer is
if [ "$QUICK" = 0 ] && [ "$SEED" = 20230209 ]; then
    want=$(cat "$HERE/pretrain.sha256")
    got=$(sha256sum "$OUT/pretrain.jsonl" | cut -d' ' -f1)
    [ "$got" = "$want" ] || echo "make_data.sh: warning: pretrain.jsonl ($got) differs from the corpus" \
        "the default model was pretrained on ($want, data/pretrain.sha256)" >&2
fi
echo "make_data.sh: wrote $OUT (generate $((t1 - t0)) s, tokenizer $((t2 - t1)) s, index $((t3 - t2)) s)" >&2
