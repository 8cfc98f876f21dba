#!/usr/bin/env bash
# fuzz/run.sh — builds and runs the libFuzzer targets (fuzz/fuzz_*.c). Run from anywhere.
#   fuzz/run.sh smoke [SECONDS]        each target SECONDS (default 30) over a scratch copy of its
#                                      committed seeds, two at a time; exit 1 on any crash
#   fuzz/run.sh long SECONDS [NAME..]  each target (or the named ones) SECONDS under nice -n 19,
#                                      two at a time, growing build/fuzz/corpus/NAME; prints a table
#                                      (executions, exec/s, corpus size, crashes) for docs/reliability.md
# smoke first replays the committed crash inputs tests/data/fuzz-regress/NAME-* through their target.
# Crash inputs land in build/fuzz/artifacts (or FUZZ_OUT)/; replay one with build/fuzz/fuzz_NAME FILE, then make it a
# regression test in tests/test_fuzz_regress.c (input under tests/data/fuzz-regress/).
# FUZZ_JOBS (default 2) sets how many targets run at once; FUZZ_OUT (default build/fuzz) where logs,
# artifacts and grown corpora go.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
[ "$mode" = smoke ] || [ "$mode" = long ] || { sed -n '2,11p' "$0" >&2; exit 2; }
secs=${2:-30}
shift $(( $# >= 2 ? 2 : $# ))
jobs=${FUZZ_JOBS:-2}
cc=${FUZZ_CC:-clang}

# libFuzzer present? (clang plus libclang-rt-14-dev on Debian)
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    > "$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
    echo "fuzz: skipped: $cc cannot link -fsanitize=fuzzer (install clang and libclang-rt-14-dev)" >&2
    exit 0
fi
${MAKE:-make} -s fuzz || exit 1

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in fuzz/fuzz_*.c; do n=${f#fuzz/fuzz_}; names+=("${n%.c}"); done
fi
out=${FUZZ_OUT:-build/fuzz}
mkdir -p "$out"/artifacts "$out"/logs
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# Runs one target; writes $out/logs/NAME.log and a result line to $out/logs/NAME.result.
run_one() {
    local name=$1 corpus log=$out/logs/$1.log
    if [ "$mode" = smoke ]; then
        corpus=$(mktemp -d)
        cp fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
    else
        corpus=$out/corpus/$name
        mkdir -p "$corpus"
    fi
    # the committed crash inputs of this target first: each must now run clean
    local regress=(tests/data/fuzz-regress/"$name"-*)
    if [ "$mode" = smoke ] && [ -e "${regress[0]}" ]; then
        if ! build/fuzz/fuzz_"$name" "${regress[@]}" >"$log" 2>&1; then
            printf '%-16s regression input fails again (see %s)\n' "$name" "$log" >$out/logs/"$name".result
            rm -rf "$corpus"
            return 1
        fi
    fi
    local t0=$SECONDS
    $nice build/fuzz/fuzz_"$name" "$corpus" fuzz/corpus/"$name" -max_total_time="$secs" -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$out/artifacts/"$name"- >"$log" 2>&1
    local rc=$? dt=$((SECONDS - t0))
    local execs rate files
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    # corpus size as libFuzzer counts it (units kept, seeds included) at its last status line
    files=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1 | sed 's/corp: //')
    local crash=0
    [ $rc -ne 0 ] && crash=1
    printf '%-16s %6ss %12s %8s %14s %s\n' "$name" "$dt" "${execs:-?}" "${rate:-?}" "$files" \
        "$([ $crash = 1 ] && echo "CRASH (exit $rc, see $log)" || echo 0)" >$out/logs/"$name".result
    [ "$mode" = smoke ] && rm -rf "$corpus"
    return $rc
}
nice=""
[ "$mode" = long ] && nice="nice -n 19"
export -f run_one
export mode secs nice out

printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'
status=$?
printf '%-16s %7s %12s %8s %14s %s\n' target time executions exec/s corpus crashes
for n in "${names[@]}"; do cat $out/logs/"$n".result; done
if [ $status -ne 0 ]; then
    echo "fuzz: a target crashed; the input is in $out/artifacts/, the report in $out/logs/" >&2
    for n in "${names[@]}"; do grep -q CRASH $out/logs/"$n".result && grep -m3 -E 'ERROR|property failed|runtime error' $out/logs/"$n".log >&2; done
    exit 1
fi
exit 0
