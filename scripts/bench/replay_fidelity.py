"""Compares the arrival times of replayed answer pieces with the recorded ones.

Usage: replay_fidelity.py ORIGINAL.jsonl REPLAYED.jsonl
Exchanges are paired by method, path and request body, in order; each piece's time is its
offset from its request's start (`dt`)."""
import json
import statistics
import sys
from collections import defaultdict


def exchanges(path):
    out = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            if e.get("type") == "exchange" and not e["path"].endswith("/tokenize"):
                out[(e["method"], e["path"], e["request_body"])].append(e)
    return out


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


original, replayed = exchanges(sys.argv[1]), exchanges(sys.argv[2])
diffs, pieces, paired, unpaired = [], 0, 0, 0
for key, runs in replayed.items():
    for i, r in enumerate(runs):
        o = original.get(key, [])
        if i >= len(o):
            unpaired += 1
            continue
        paired += 1
        for a, b in zip(o[i]["chunks"], r["chunks"]):
            diffs.append((b["dt"] - a["dt"]) * 1000)
            pieces += 1
if not diffs:
    sys.exit("no replayed exchange matched the original recording")
absolute = [abs(d) for d in diffs]
print(f"replayed answers: {paired} paired with the recording ({unpaired} unpaired), {pieces} pieces")
print(f"|replayed - recorded| arrival, ms: median {statistics.median(absolute):.3f}  p99 {percentile(absolute, 99):.3f}  "
      f"max {max(absolute):.3f}  (signed mean {statistics.mean(diffs):+.3f})")
ok = statistics.median(absolute) < 1 and percentile(absolute, 99) < 5
print("target (median < 1 ms, p99 < 5 ms):", "met" if ok else "NOT met")
