#!/usr/bin/env bash
# Times the cellbook CLI as a user feels it: a whole process, start to exit.
#
#   scripts/bench-cli.sh [playbook]     (default: playbooks/shell-basics.yaml)
#
# Builds a release binary, copies the playbook to a temporary folder, runs it once to fill the
# cache, checks that a second run is served entirely from cache, then times with hyperfine:
#   - a fully cached `cellbook run`   target: median < 100 ms
#   - `cellbook validate`             target: median <  50 ms
# Prints the median and p95 of each in ms with the machine's core count, and exits 1 when a
# target is missed (2 when the benchmark itself cannot run).
#
# Environment: RUNS (default 30), WARMUP (default 3), SCRATCH (default .build-release),
# KEEP=1 to keep the temporary folder and hyperfine's JSON exports.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
playbook="${1:-playbooks/shell-basics.yaml}"
runs="${RUNS:-30}"
warmup="${WARMUP:-3}"
scratch="${SCRATCH:-.build-release}"
run_target_ms=100
validate_target_ms=50

die() { echo "bench-cli: $*" >&2; exit 2; }

for tool in hyperfine jq; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install -y $tool)"
done
[ -f "$playbook" ] || die "no playbook at $playbook"

echo "==> building release cellbook (scratch path $scratch)"
swift build -c release --product cellbook --scratch-path "$scratch" >&2
bin="$(swift build -c release --product cellbook --scratch-path "$scratch" --show-bin-path)/cellbook"
[ -x "$bin" ] || die "no binary at $bin"

work="$(mktemp -d "${TMPDIR:-/tmp}/cellbook-bench.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then echo "==> keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
cp "$playbook" "$work/bench.yaml"
outputs="$work/outputs"
export NO_COLOR=1 CELLBOOK_CACHE="$work/cache"

cells="$(jq -r '.cells' < <("$bin" validate "$work/bench.yaml" --outputs "$outputs" --format json))" \
    || die "the playbook does not validate"

echo "==> filling the cache ($cells cells)"
"$bin" run "$work/bench.yaml" --outputs "$outputs" > "$work/first-run.txt" 2>&1 \
    || { cat "$work/first-run.txt" >&2; die "the first run failed"; }
not_cached="$("$bin" run "$work/bench.yaml" --outputs "$outputs" --format json 2>/dev/null \
    | jq -r '[.cells[] | select(.status != "cached") | .id] | join(", ")')"
[ -z "$not_cached" ] || die "a second run still executed: $not_cached"

echo "==> timing with hyperfine (--warmup $warmup --runs $runs)"
hyperfine -N --warmup "$warmup" --runs "$runs" --style basic \
    --command-name "cached run" --export-json "$work/run.json" \
    "$bin run $work/bench.yaml --outputs $outputs" >&2
hyperfine -N --warmup "$warmup" --runs "$runs" --style basic \
    --command-name "validate" --export-json "$work/validate.json" \
    "$bin validate $work/bench.yaml --outputs $outputs" >&2

# Median and nearest-rank p95 of hyperfine's per-run times, in ms.
stat_ms() { # file, "median" or "p95"
    jq -r --arg which "$2" '
        .results[0].times | sort as $t | ($t | length) as $n
        | (if $which == "median" then
               (if $n % 2 == 1 then $t[($n - 1) / 2] else ($t[$n / 2 - 1] + $t[$n / 2]) / 2 end)
           else $t[((0.95 * $n) | ceil) - 1] end) * 1000
        | . * 10 | round / 10' "$1"
}

run_median="$(stat_ms "$work/run.json" median)"
run_p95="$(stat_ms "$work/run.json" p95)"
validate_median="$(stat_ms "$work/validate.json" median)"
validate_p95="$(stat_ms "$work/validate.json" p95)"

status=0
verdict() { # median, target
    if awk -v m="$1" -v t="$2" 'BEGIN { exit !(m < t) }'; then echo "ok"; else echo "MISSED"; fi
}
run_verdict="$(verdict "$run_median" "$run_target_ms")"
[ "$run_verdict" = ok ] || status=1
validate_verdict="$(verdict "$validate_median" "$validate_target_ms")"
[ "$validate_verdict" = ok ] || status=1

echo
echo "cellbook CLI benchmark: $(basename "$playbook"), $cells cells, $(nproc) cores ($(uname -m)), $runs runs after $warmup warm-up"
printf '%-22s %10s %10s %14s  %s\n' "command" "median" "p95" "target" "verdict"
printf '%-22s %7s ms %7s ms %8s median  %s\n' "cellbook run (cached)" "$run_median" "$run_p95" "< $run_target_ms ms" "$run_verdict"
printf '%-22s %7s ms %7s ms %8s median  %s\n' "cellbook validate" "$validate_median" "$validate_p95" "< $validate_target_ms ms" "$validate_verdict"
exit "$status"
