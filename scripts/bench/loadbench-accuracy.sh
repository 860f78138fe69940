#!/usr/bin/env bash
# Accuracy and overhead of LoadBench against a vLLM-style Python client.
#
#   scripts/bench/loadbench-accuracy.sh [compare_clients.py options]
#
# Builds the harness driver (the package's loadbench-harness product, release mode), makes a
# venv with aiohttp under ~/.cache, compiles the C firehose server (cc), then runs
# scripts/bench/compare_clients.py, which prints both
# clients' figures, the ratios and the targets, then LoadBench over SageMaker's response stream
# next to its SSE path on the same chunks (--only clients|sagemaker runs one part). Needs python3
# (3.9+), and taskset (util-linux) to pin client and server to separate cores, and a C compiler;
# with botocore importable by python3, the fake SageMaker also checks the requests' signatures.
# Env: SCRATCH (SwiftPM scratch path, default .build), VENV (default ~/.cache/cellbook-bench-venv),
# STATIC_STDLIB (1, the default, links the Swift runtime statically; 0 dynamically).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCRATCH="${SCRATCH:-$ROOT/.build}"
VENV="${VENV:-$HOME/.cache/cellbook-bench-venv}"

# The Swift runtime is linked statically, as a shipped Linux command-line tool would be: it
# spares the dynamic relocations of libswiftCore and Foundation (about 6 MiB of peak RSS).
# STATIC_STDLIB=0 links it dynamically instead.
BUILD=(swift build -c release --scratch-path "$SCRATCH")
if [ "${STATIC_STDLIB:-1}" = 1 ]; then BUILD+=(--static-swift-stdlib); fi
echo "== building loadbench-harness (release) in $SCRATCH" >&2
(cd "$ROOT" && "${BUILD[@]}" --product loadbench-harness >&2)
DRIVER="$(cd "$ROOT" && "${BUILD[@]}" --show-bin-path)/loadbench-harness"
FIREHOSE="$SCRATCH/firehose_server"
echo "== compiling $FIREHOSE" >&2
"${CC:-cc}" -O2 -Wall -o "$FIREHOSE" "$ROOT/scripts/bench/firehose_server.c"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import aiohttp" 2>/dev/null; then
    echo "== creating $VENV with aiohttp" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check aiohttp >&2
fi
echo "== aiohttp $("$VENV/bin/python" -c 'import aiohttp; print(aiohttp.__version__)'), $(nproc) cores" >&2

exec python3 "$ROOT/scripts/bench/compare_clients.py" --driver "$DRIVER" --python "$VENV/bin/python" --firehose "$FIREHOSE" "$@"
