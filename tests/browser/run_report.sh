#!/usr/bin/env bash
# The report page in a real browser (part of `make test`): a quick run in build/browser-run — a few
# documents annotated by the shipped models/default with the tools' proposals, the seed's comparison, two
# short fine-tunes with --log (calls and control), a few eval rows — then `toolformer report` on it, and
# headless Chromium (Debian's chromium, driven by npm puppeteer-core) opens the page: no console error,
# nothing fetched, each chart with its bars; the screenshot goes to build/report-browser.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${TF_BIN:-build/toolformer}
M=models/default
RUN=build/browser-run
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
if ! command -v chromium >/dev/null || [ ! -d node_modules/puppeteer-core ]; then
    echo "browser: chromium or puppeteer-core is missing (scripts/setup.sh installs them)" >&2
    exit 1
fi
rm -rf "$RUN"
mkdir -p "$RUN"
cat > "$RUN/corpus.jsonl" <<'JSONL'
{"id": "b0", "text": "Here is a short note. Today is Monday, so the shop is open.", "date": "2023-01-30"}
{"id": "b1", "text": "The museum sells 663 pears and 120 plums, a total of 783 fruits. <script>alert(1)</script>", "date": "2021-06-12"}
{"id": "b2", "text": "A clerk wrote it down. There were 25 apples and 17 more came, which makes 42 apples.", "date": "2019-03-02"}
{"id": "b3", "text": "It was a busy week. Dear diary, today is Friday and the market is full.", "date": "2024-05-17"}
{"id": "b4", "text": "Ida has 300 pencils and buys 200 more, so now she has 500 pencils.", "date": "2020-11-05"}
{"id": "b5", "text": "The store is never open on the weekend, so today it is closed.", "date": "2023-01-28"}
JSONL
cat > "$RUN/eval_math.data.jsonl" <<'JSONL'
{"prompt": "There were 793 apples on the first shelf and 945 on the second, which makes", "answer": "1738"}
{"prompt": "Ida has 688 pencils and buys 855 more, so now she has", "answer": "1543"}
{"prompt": "The farm keeps 12 cows and 30 sheep, a total of", "answer": "42"}
JSONL
q() { "$@" 2>>"$RUN/stderr.log" || { cat "$RUN/stderr.log" >&2; exit 1; }; }  # progress bars kept off the output
q $B annotate --model $M --data "$RUN/corpus.jsonl" --tools calendar,calculator --proposer tool --top-k 4 --samples 2 \
    --set calendar.top_k=8 --placement inline --out "$RUN/round1.jsonl" --rejected "$RUN/round1.rejected.jsonl" \
    --quiet --json > "$RUN/round1.summary.json"
q $B compare --model $M --text "The store is never open on the weekend, so today it is closed." --call 'Calendar()' \
    --at 'so today it is' --date 2023-01-28 --json > "$RUN/compare_calendar.json"
FT="--steps 6 --batch 2 --seq-len 64 --lr 3e-4 --warmup 1"
[ -s "$RUN/round1.jsonl" ] && TRAIN="$RUN/round1.jsonl" || TRAIN="$RUN/corpus.jsonl"
q $B finetune --model $M --data "$TRAIN" --out "$RUN/toolformer" $FT --log "$RUN/finetune.log.jsonl" --json > "$RUN/finetune.json"
q $B finetune --model $M --data "$RUN/corpus.jsonl" --out "$RUN/control" $FT --log "$RUN/finetune_control.log.jsonl" \
    --json > "$RUN/finetune_control.json"
EV="--task math --data $RUN/eval_math.data.jsonl --max-examples 3 --quiet --json"
q $B eval --model $M $EV --no-tools > "$RUN/eval_math_base.json"
q $B eval --model "$RUN/toolformer" $EV --tools calendar,calculator --details "$RUN/eval_math_toolformer.details.jsonl" \
    > "$RUN/eval_math_toolformer.json"
q $B eval --model "$RUN/toolformer" $EV --tools calendar,calculator --disable-tools > "$RUN/eval_math_disabled.json"
q $B eval --model "$RUN/toolformer" --task ppl --data "$RUN/corpus.jsonl" --json > "$RUN/ppl_toolformer.json"
q $B eval --model "$RUN/control" --task ppl --data "$RUN/corpus.jsonl" --json > "$RUN/ppl_control.json"
rm -rf "$RUN/toolformer" "$RUN/control"
$B report "$RUN" --out "$RUN/report.html" --force
node tests/browser/check_report.js "$RUN/report.html" build/report-browser.png "$RUN"
