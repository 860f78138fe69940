#!/usr/bin/env bash
# Accuracy and overhead of LoadBench against a vLLM-style Python client.
#
#   scripts/bench/loadbench-accuracy.sh [compare_clients.py options]
#
# Builds LoadBench in release mode, compiles the harness driver against it, makes a
# venv with aiohttp under ~/.cache, then runs scripts/bench/compare_clients.py, which
# prints both clients' figures, the ratios and the targets. Needs python3 (3.9+), and
# taskset (util-linux) to pin client and server to separate cores.
# Env: SCRATCH (SwiftPM scratch path, default .build-bench), VENV (default
# ~/.cache/cellbook-bench-venv), DRIVER (where to put the driver binary).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCRATCH="${SCRATCH:-$ROOT/.build-bench}"
VENV="${VENV:-$HOME/.cache/cellbook-bench-venv}"
DRIVER="${DRIVER:-$SCRATCH/loadbench-harness}"

echo "== building LoadBench (release) in $SCRATCH" >&2
(cd "$ROOT" && swift build -c release --scratch-path "$SCRATCH" --target LoadBench >&2)
BIN="$(cd "$ROOT" && swift build -c release --scratch-path "$SCRATCH" --show-bin-path)"

# No executable target may be added to Package.swift from here, so the driver is compiled
# against the release objects directly; an executableTarget over scripts/bench/driver does the same.
echo "== compiling the harness driver -> $DRIVER" >&2
swiftc -O -o "$DRIVER" "$ROOT/scripts/bench/driver/main.swift" \
    -I "$BIN/Modules" \
    -Xcc -fmodule-map-file="$BIN/CCurlShim.build/module.modulemap" \
    -Xcc -I -Xcc "$ROOT/Sources/CCurlShim/include" \
    "$BIN"/LoadBench.build/*.o "$BIN"/CellbookHTTP.build/*.o "$BIN"/CCurlShim.build/*.o \
    -lcurl

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import aiohttp" 2>/dev/null; then
    echo "== creating $VENV with aiohttp" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check aiohttp >&2
fi
echo "== aiohttp $("$VENV/bin/python" -c 'import aiohttp; print(aiohttp.__version__)'), $(nproc) cores" >&2

exec python3 "$ROOT/scripts/bench/compare_clients.py" --driver "$DRIVER" --python "$VENV/bin/python" "$@"
