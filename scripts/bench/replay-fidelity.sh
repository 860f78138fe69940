#!/usr/bin/env bash
# Timing fidelity of the replay target: runs the default playbook on its `replay` target (the
# committed recording, at the recorded pace) while recording the replay, then compares when each
# replayed piece of every answer arrived (after its request started) with when it arrived in the
# original run. Target: median |difference| < 1 ms, p99 < 5 ms.
#   bash scripts/bench/replay-fidelity.sh            (uses .build/release/cellbook)
#   CELLBOOK=.build/debug/cellbook bash scripts/bench/replay-fidelity.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
CELLBOOK=${CELLBOOK:-.build/release/cellbook}
RECORDING=recordings/deploy-llama3-local.jsonl
[ -x "$CELLBOOK" ] || { echo "build cellbook first: swift build -c release --product cellbook" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "replaying $RECORDING at its recorded pace (as long as the original run's chat and benchmark)..."
"$CELLBOOK" run playbooks/deploy-llama3.yaml --target replay --no-cache --outputs "$work/outputs" \
  --record "$work/replayed.jsonl" > "$work/run.txt"
python3 scripts/bench/replay_fidelity.py "$RECORDING" "$work/replayed.jsonl"
