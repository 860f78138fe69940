#!/usr/bin/env python3
"""Measures LoadBench against a vLLM-style Python client on the fake TGI server.

Accuracy: --acc-streams concurrent streams on a known schedule; each client's
chunk receive times are compared with the times the server logged writing each
chunk (both CLOCK_MONOTONIC). TTFT error = receive(first) - write(first) (the
start time is the client's own, so it cancels); gap error = receive gap -
write gap. Medians and p99s of the absolute errors are reported.

Overhead: --ovh-streams concurrent streams from firehose_server.c (the same
bytes, written as fast as one core can, faster than either client reads); the
client is pinned to one core (taskset) and its CPU time and peak RSS come from
wait4()'s rusage. The server runs on the other core. Each client runs --reps
times and the median run (by CPU per token) is reported. cellbook runs twice:
as shipped (reads batched above 32 MB/s, in windows that widen while reading is
busy) and with batching off.

Paced: every stream at a realistic rate on the Python fake server.

SageMaker response stream: LoadBench over InvokeEndpointWithResponseStream
(--transport sagemaker: SigV4-signed, AWS event-stream body whose PayloadPart
payloads carry the SSE bytes) next to the SSE path, on the same chunk stream:
the accuracy run on fake_tgi_server.py's SageMaker route, the overhead run on
firehose_server.c --eventstream. The two paths alternate run by run (this VM's
CPU figures drift with its neighbours); the target is at most 1.5x the SSE
path's CPU-seconds per million tokens, with TTFT |error| median < 1 ms.

Prints both clients' figures, the ratios and whether the targets are met; exit 0
when they are, 1 when not, 2 on a setup error.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_tgi_server.py")
FAKE_SAGEMAKER = os.path.join(HERE, "..", "..", "Tests", "Fakes", "fake_sagemaker.py")
# The fixed test credentials `loadbench-harness --transport sagemaker` signs with.
SAGEMAKER_KEY = ("AKIDLOADBENCH", "loadbench-secret")


def pinned(core, argv):
    """Prefix argv with taskset when there are cores to separate client and server."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)] + argv
    return argv


class Server:
    def __init__(self, args, log, command=None):
        command = command or [sys.executable, SERVER]
        self.proc = subprocess.Popen(pinned(0, command + ["--port", "0"] + args
                                            + (["--log", log] if log else [])),
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            self.proc.kill()
            raise SystemExit("fake server did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d/v1/chat/completions" % self.port

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_client(argv):
    """Runs a client on core 1; returns (report dict, cpu seconds, peak RSS MiB)."""
    proc = subprocess.Popen(pinned(1, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wait4 on the child gives its own rusage; taskset execs the client, so the pid is the client's.
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit("client %s failed (%d): %s %s" % (argv[0], proc.returncode, out[-500:], err[-2000:]))
    report = json.loads(out.strip().splitlines()[-1])
    return report, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def quantile(values, q):
    """numpy's default (linear) quantile."""
    values = sorted(values)
    if not values:
        return float("nan")
    pos = (len(values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def accuracy_errors(server_log, timeline_file):
    writes = {}
    with open(server_log) as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] == "W":
                writes.setdefault(parts[1], {})[int(parts[2])] = int(parts[3])
    ttft_err, gap_err, bias, missing = [], [], [], 0
    with open(timeline_file) as f:
        for line in f:
            r = json.loads(line)
            w = writes.get(r["id"])
            chunks = r["chunks_ns"]
            if not w or len(w) != len(chunks) or r["error"]:
                missing += 1
                continue
            w = [w[i] for i in range(len(chunks))]
            ttft_err.append(abs(chunks[0] - w[0]) / 1e6)
            for i, (rt, wt) in enumerate(zip(chunks, w)):
                bias.append((rt - wt) / 1e6)
                if i:
                    gap_err.append(abs((rt - chunks[i - 1]) - (wt - w[i - 1])) / 1e6)
    return {
        "requests_compared": len(ttft_err), "requests_unmatched": missing, "gaps_compared": len(gap_err),
        "ttft_abs_err_ms_p50": quantile(ttft_err, 0.5), "ttft_abs_err_ms_p99": quantile(ttft_err, 0.99),
        "gap_abs_err_ms_p50": quantile(gap_err, 0.5), "gap_abs_err_ms_p99": quantile(gap_err, 0.99),
        "receive_minus_write_ms_mean": statistics.fmean(bias) if bias else float("nan"),
    }


def load_figures(report, cpu, rss):
    """Throughput and cost of one client run, from its report and its rusage."""
    tokens = report["chunks"]
    return {
        "tokens": tokens, "wall_s": report["wall_s"], "tokens_per_s": tokens / report["wall_s"],
        "cpu_s": cpu, "cpu_utilisation": cpu / report["wall_s"],
        "cpu_s_per_million_tokens": cpu / tokens * 1e6,
        "tokens_per_cpu_s": tokens / cpu, "peak_rss_mib": rss,
        "batched_read_share": report.get("batched_read_share", float("nan")),
        "widest_window_ms": report.get("widest_window_ms", float("nan")),
    }


SAGEMAKER_ENDPOINT = "loadbench"


def sagemaker_url(url):
    """The runtime base URL (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME) of a fake server's chat URL."""
    return url.split("/v1/", 1)[0]


def client_argv(kind, driver, venv_python, url, streams, requests, max_tokens, timeline, params):
    if kind == "cellbook":
        argv = [driver]
    elif kind == "cellbook-sagemaker":
        argv = [driver, "--transport", "sagemaker", "--endpoint-name", SAGEMAKER_ENDPOINT]
        url = sagemaker_url(url)
    elif kind == "cellbook-eager":
        argv = [driver, "--read-batching-ms", "0"]
    else:
        argv = [venv_python, os.path.join(HERE, "vllm_style_client.py")]
    argv += ["--url", url, "--streams", str(streams), "--requests-per-stream", str(requests),
             "--max-tokens", str(max_tokens), "--params", json.dumps(params)]
    if timeline:
        argv += ["--timeline", timeline]
    return argv


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--driver", required=True, help="the compiled LoadBenchHarness driver")
    p.add_argument("--python", required=True, help="python of a venv with aiohttp")
    p.add_argument("--firehose", required=True, help="the compiled firehose_server.c")
    p.add_argument("--reps", type=int, default=5, help="overhead runs per client (median reported)")
    p.add_argument("--acc-streams", type=int, default=32)
    p.add_argument("--acc-requests", type=int, default=3)
    p.add_argument("--acc-tokens", type=int, default=100)
    p.add_argument("--acc-ttft-ms", type=float, default=50)
    p.add_argument("--acc-itl-ms", type=float, default=10)
    p.add_argument("--ovh-streams", type=int, default=128)
    p.add_argument("--ovh-requests", type=int, default=4)
    p.add_argument("--ovh-tokens", type=int, default=2000)
    p.add_argument("--ovh-events-per-write", type=int, default=1)
    p.add_argument("--paced-streams", type=int, default=128)
    p.add_argument("--paced-requests", type=int, default=2)
    p.add_argument("--paced-tokens", type=int, default=200)
    p.add_argument("--paced-itl-ms", type=float, default=20)
    p.add_argument("--sm-max-ratio", type=float, default=1.5,
                   help="response-stream target: at most this many times the SSE path's CPU-seconds per million tokens")
    p.add_argument("--only", choices=["all", "clients", "sagemaker"], default="all",
                   help="run every section, only the client comparison, or only the response-stream one")
    p.add_argument("--json", default=None, help="also write all figures here")
    args = p.parse_args()

    work = tempfile.mkdtemp(prefix="loadbench-bench-")
    results = {"cores": os.cpu_count()}
    checks = []
    if args.only in ("all", "clients"):
        checks += compare_clients(args, work, results)
    if args.only in ("all", "sagemaker"):
        if args.only == "all":
            print("")
        checks += compare_response_stream(args, work, results)
    results["targets_met"] = all(ok for _, ok in checks)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if results["targets_met"] else 1


def accuracy_run(args, work, kind, label):
    """One accuracy run of `kind` on the paced Python fake server; its errors and cost."""
    log = os.path.join(work, "acc-%s.log" % label)
    timeline = os.path.join(work, "acc-%s.jsonl" % label)
    server = Server(["--ttft-ms", str(args.acc_ttft_ms), "--itl-ms", str(args.acc_itl_ms)], log)
    try:
        report, cpu, rss = run_client(client_argv(kind, args.driver, args.python, server.url, args.acc_streams,
                                                  args.acc_requests, args.acc_tokens, timeline, {}))
    finally:
        server.stop()
    return dict(accuracy_errors(log, timeline), chunks=report["chunks"], cpu_s=cpu, peak_rss_mib=rss)


def fake_sagemaker_accuracy_run(args, work):
    """The response-stream accuracy run on Tests/Fakes/fake_sagemaker.py, which checks every
    signature with botocore (when it is installed): the signed path end to end. Its chunks
    differ from fake_tgi_server.py's (other words, multi-byte characters), hence a separate column."""
    log = os.path.join(work, "acc-fake-sagemaker.log")
    timeline = os.path.join(work, "acc-fake-sagemaker.jsonl")
    scenario = os.path.join(work, "fake-sagemaker-scenario.json")
    with open(scenario, "w") as f:
        json.dump({"runtime": {"ttft_ms": args.acc_ttft_ms, "itl_ms": args.acc_itl_ms, "data_space": False}}, f)
    try:
        import botocore  # noqa: F401  (the fake verifies signatures with it)
        verify = ["--access-key-id", SAGEMAKER_KEY[0], "--secret-access-key", SAGEMAKER_KEY[1]]
    except ImportError:
        verify = ["--no-verify"]
    proc = subprocess.Popen(pinned(0, [sys.executable, FAKE_SAGEMAKER, "--scenario", scenario, "--log-writes", log] + verify),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        endpoint = json.loads(proc.stdout.readline())["endpoint"]
        report, cpu, rss = run_client(client_argv("cellbook-sagemaker", args.driver, args.python, endpoint + "/v1/",
                                                  args.acc_streams, args.acc_requests, args.acc_tokens, timeline, {}))
    except (ValueError, KeyError):
        raise SystemExit("fake_sagemaker.py did not start")
    finally:
        proc.stdin.close()  # it exits when its standard input closes
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return dict(accuracy_errors(log, timeline), chunks=report["chunks"], cpu_s=cpu, peak_rss_mib=rss,
                signatures_checked=verify[0] != "--no-verify")


def overhead_run(args, kind, firehose_args=()):
    """One overhead run of `kind` against the C firehose server."""
    server = Server(["--events-per-write", str(args.ovh_events_per_write)] + list(firehose_args), None,
                    command=[args.firehose])
    try:
        report, cpu, rss = run_client(client_argv(kind, args.driver, args.python, server.url, args.ovh_streams,
                                                  args.ovh_requests, args.ovh_tokens, None, {}))
    finally:
        server.stop()
    return load_figures(report, cpu, rss)


def median_run(runs):
    """The median run by CPU per token, with every run's figure (in the order they ran)."""
    ordered = sorted(runs, key=lambda r: r["cpu_s_per_million_tokens"])
    median = dict(ordered[len(ordered) // 2])
    median["cpu_s_per_million_tokens_runs"] = [r["cpu_s_per_million_tokens"] for r in runs]
    return median


def compare_response_stream(args, work, results):
    """The SSE path and the SageMaker response-stream path side by side; returns the checks."""
    paths = [("cellbook", "sse"), ("cellbook-sagemaker", "sagemaker")]
    # Accuracy: one run each, back to back.
    accuracy = {label: accuracy_run(args, work, kind, "rs-" + label) for kind, label in paths}
    accuracy["fake_sagemaker"] = fake_sagemaker_accuracy_run(args, work)
    # Overhead: the paths alternate, and which goes first swaps each round, so a neighbour's
    # burst lands on both alike.
    runs = {label: [] for _, label in paths}
    for rep in range(max(1, args.reps)):
        for kind, label in (paths if rep % 2 == 0 else paths[::-1]):
            runs[label].append(overhead_run(args, kind, ["--eventstream"] if label == "sagemaker" else []))
    overhead = {label: median_run(r) for label, r in runs.items()}
    pair_ratios = [m["cpu_s_per_million_tokens"] / s["cpu_s_per_million_tokens"]
                   for s, m in zip(runs["sse"], runs["sagemaker"])]
    for label in accuracy:
        results["response_stream_accuracy_" + label] = accuracy[label]
    for label in overhead:
        results["response_stream_overhead_" + label] = overhead[label]
    s, m = overhead["sse"], overhead["sagemaker"]
    ratio = m["cpu_s_per_million_tokens"] / s["cpu_s_per_million_tokens"]
    results["response_stream_cpu_ratio"] = ratio
    results["response_stream_cpu_ratio_per_round"] = pair_ratios

    a, b, c = accuracy["sse"], accuracy["sagemaker"], accuracy["fake_sagemaker"]
    print("LoadBench over SageMaker's response stream (InvokeEndpointWithResponseStream, event-stream framed SSE)"
          " vs the SSE path, same chunk stream")
    print("")
    print("Accuracy: %d streams, TTFT %g ms, %g ms between chunks, %d chunks per request (fake_tgi_server.py, SSE"
          " route vs SageMaker route; last column fake_sagemaker.py, signatures %s)"
          % (args.acc_streams, args.acc_ttft_ms, args.acc_itl_ms, args.acc_tokens,
             "checked" if c["signatures_checked"] else "not checked (no botocore)"))
    print("  %-34s %12s %12s %14s" % ("", "SSE", "resp. stream", "fake_sagemaker"))
    for key, label in [("ttft_abs_err_ms_p50", "TTFT |error| median (ms)"), ("ttft_abs_err_ms_p99", "TTFT |error| p99 (ms)"),
                       ("gap_abs_err_ms_p50", "chunk-gap |error| median (ms)"), ("gap_abs_err_ms_p99", "chunk-gap |error| p99 (ms)"),
                       ("receive_minus_write_ms_mean", "mean receive - write (ms)")]:
        print("  %-34s %12.3f %12.3f %14.3f" % (label, a[key], b[key], c[key]))
    print("  %-34s %12d %12d %14d" % ("requests compared", a["requests_compared"], b["requests_compared"], c["requests_compared"]))
    print("")
    print("Overhead: %d streams x %d requests x %d tokens from the C firehose server (SSE vs --eventstream),"
          " client on one core, alternating, median of %d" % (args.ovh_streams, args.ovh_requests, args.ovh_tokens,
                                                             max(1, args.reps)))
    print("  %-34s %12s %12s" % ("", "SSE", "resp. stream"))
    print("  %-34s %12.0f %12.0f" % ("tokens/s ingested", s["tokens_per_s"], m["tokens_per_s"]))
    print("  %-34s %12.2f %12.2f" % ("client CPU utilisation (cores)", s["cpu_utilisation"], m["cpu_utilisation"]))
    print("  %-34s %12.2f %12.2f" % ("CPU-seconds per million tokens", s["cpu_s_per_million_tokens"], m["cpu_s_per_million_tokens"]))
    for label, r in [("SSE", s), ("resp. stream", m)]:
        print("  %-34s %s" % ("  %s, each run" % label, "  ".join("%.2f" % v for v in r["cpu_s_per_million_tokens_runs"])))
    print("  %-34s %s" % ("  ratio, each round", "  ".join("%.2f" % v for v in pair_ratios)))
    print("  %-34s %12.1f %12.1f" % ("peak RSS (MiB)", s["peak_rss_mib"], m["peak_rss_mib"]))
    print("  %-34s %12.2f %12.2f" % ("share of bytes read in batches", s["batched_read_share"], m["batched_read_share"]))
    print("")
    checks = [
        ("response stream <= %gx the SSE path's CPU-seconds per million tokens (%.2fx)" % (args.sm_max_ratio, ratio),
         ratio <= args.sm_max_ratio),
        ("response stream TTFT median |error| < 1 ms (%.3f ms)" % b["ttft_abs_err_ms_p50"], b["ttft_abs_err_ms_p50"] < 1),
    ]
    for label, ok in checks:
        print("  [%s] %s" % ("ok" if ok else "MISSED", label))
    return checks


def compare_clients(args, work, results):
    """LoadBench against the vLLM-style Python client; prints the tables and returns the checks."""
    clients = ["cellbook", "python"]

    # Accuracy
    for kind in clients:
        log = os.path.join(work, "acc-%s.log" % kind)
        timeline = os.path.join(work, "acc-%s.jsonl" % kind)
        server = Server(["--ttft-ms", str(args.acc_ttft_ms), "--itl-ms", str(args.acc_itl_ms)], log)
        try:
            report, cpu, rss = run_client(client_argv(kind, args.driver, args.python, server.url, args.acc_streams,
                                                      args.acc_requests, args.acc_tokens, timeline, {}))
        finally:
            server.stop()
        results["accuracy_" + kind] = dict(accuracy_errors(log, timeline), chunks=report["chunks"],
                                           cpu_s=cpu, peak_rss_mib=rss)

    # Overhead
    for kind in ["cellbook", "cellbook-eager", "python"]:
        runs = []
        for _ in range(max(1, args.reps)):
            server = Server(["--events-per-write", str(args.ovh_events_per_write)], None, command=[args.firehose])
            try:
                report, cpu, rss = run_client(client_argv(kind, args.driver, args.python, server.url, args.ovh_streams,
                                                          args.ovh_requests, args.ovh_tokens, None, {}))
            finally:
                server.stop()
            runs.append(load_figures(report, cpu, rss))
        runs.sort(key=lambda r: r["cpu_s_per_million_tokens"])
        median = dict(runs[len(runs) // 2])
        median["cpu_s_per_million_tokens_runs"] = [r["cpu_s_per_million_tokens"] for r in runs]
        results["overhead_" + kind.replace("-", "_")] = median

    # Paced: every stream at a realistic token rate, so each chunk arrives on its own and the
    # per-wake-up cost (not parsing) decides the CPU spent.
    for kind in clients:
        server = Server(["--ttft-ms", str(args.paced_itl_ms), "--itl-ms", str(args.paced_itl_ms)], None)
        try:
            report, cpu, rss = run_client(client_argv(kind, args.driver, args.python, server.url, args.paced_streams,
                                                      args.paced_requests, args.paced_tokens, None, {}))
        finally:
            server.stop()
        results["paced_" + kind] = load_figures(report, cpu, rss)

    a, b = results["accuracy_cellbook"], results["accuracy_python"]
    o, e, q = results["overhead_cellbook"], results["overhead_cellbook_eager"], results["overhead_python"]
    print("LoadBench vs vLLM-style Python client (aiohttp), fake TGI server, %d cores" % results["cores"])
    print("")
    print("Accuracy: %d streams, TTFT %g ms, %g ms between chunks, %d chunks per request"
          % (args.acc_streams, args.acc_ttft_ms, args.acc_itl_ms, args.acc_tokens))
    print("  %-34s %12s %12s" % ("", "cellbook", "python"))
    for key, label in [("ttft_abs_err_ms_p50", "TTFT |error| median (ms)"), ("ttft_abs_err_ms_p99", "TTFT |error| p99 (ms)"),
                       ("gap_abs_err_ms_p50", "chunk-gap |error| median (ms)"), ("gap_abs_err_ms_p99", "chunk-gap |error| p99 (ms)"),
                       ("receive_minus_write_ms_mean", "mean receive - write (ms)")]:
        print("  %-34s %12.3f %12.3f" % (label, a[key], b[key]))
    print("  %-34s %12d %12d" % ("requests compared", a["requests_compared"], b["requests_compared"]))
    print("")
    print("Overhead: %d streams x %d requests x %d tokens from the C firehose server (%d event(s)/write), client on one core, median of %d"
          % (args.ovh_streams, args.ovh_requests, args.ovh_tokens, args.ovh_events_per_write, max(1, args.reps)))
    print("  %-34s %12s %12s %12s" % ("", "cellbook", "batching off", "python"))
    print("  %-34s %12.0f %12.0f %12.0f" % ("tokens/s ingested", o["tokens_per_s"], e["tokens_per_s"], q["tokens_per_s"]))
    print("  %-34s %12.2f %12.2f %12.2f" % ("client CPU utilisation (cores)", o["cpu_utilisation"], e["cpu_utilisation"], q["cpu_utilisation"]))
    print("  %-34s %12.0f %12.0f %12.0f" % ("tokens per CPU-second (capacity)", o["tokens_per_cpu_s"], e["tokens_per_cpu_s"], q["tokens_per_cpu_s"]))
    print("  %-34s %12.2f %12.2f %12.2f" % ("CPU-seconds per million tokens", o["cpu_s_per_million_tokens"], e["cpu_s_per_million_tokens"], q["cpu_s_per_million_tokens"]))
    for label, r in [("cellbook", o), ("batching off", e), ("python", q)]:
        print("  %-34s %s" % ("  %s, each run" % label, "  ".join("%.2f" % v for v in r["cpu_s_per_million_tokens_runs"])))
    print("  %-34s %12.1f %12.1f %12.1f" % ("peak RSS (MiB)", o["peak_rss_mib"], e["peak_rss_mib"], q["peak_rss_mib"]))
    print("  %-34s %12.2f %12.2f %12s" % ("share of bytes read in batches", o["batched_read_share"], e["batched_read_share"], "-"))
    print("  %-34s %12.1f %12.1f %12s" % ("widest batching window (ms)", o["widest_window_ms"], e["widest_window_ms"], "-"))
    print("")
    pc, pp = results["paced_cellbook"], results["paced_python"]
    print("Paced: %d streams x %d requests x %d tokens, one chunk every %g ms per stream (%.0f tokens/s offered)"
          % (args.paced_streams, args.paced_requests, args.paced_tokens, args.paced_itl_ms,
             args.paced_streams * 1000.0 / args.paced_itl_ms))
    print("  %-34s %12s %12s" % ("", "cellbook", "python"))
    print("  %-34s %12.0f %12.0f" % ("tokens/s ingested", pc["tokens_per_s"], pp["tokens_per_s"]))
    print("  %-34s %12.2f %12.2f" % ("client CPU utilisation (cores)", pc["cpu_utilisation"], pp["cpu_utilisation"]))
    print("  %-34s %12.2f %12.2f" % ("CPU-seconds per million tokens", pc["cpu_s_per_million_tokens"], pp["cpu_s_per_million_tokens"]))
    print("  %-34s %12.1f %12.1f" % ("peak RSS (MiB)", pc["peak_rss_mib"], pp["peak_rss_mib"]))
    print("")
    cpu_ratio = q["cpu_s_per_million_tokens"] / o["cpu_s_per_million_tokens"]
    eager_ratio = q["cpu_s_per_million_tokens"] / e["cpu_s_per_million_tokens"]
    results["eager_cpu_ratio"] = eager_ratio
    paced_ratio = pp["cpu_s_per_million_tokens"] / pc["cpu_s_per_million_tokens"]
    results["paced_cpu_ratio"] = paced_ratio
    rss_ratio = o["peak_rss_mib"] / q["peak_rss_mib"]
    checks = [
        ("TTFT median |error| < 1 ms", a["ttft_abs_err_ms_p50"] < 1),
        ("gap median |error| < 1 ms", a["gap_abs_err_ms_p50"] < 1),
        ("TTFT p99 |error| < 5 ms", a["ttft_abs_err_ms_p99"] < 5),
        ("gap p99 |error| < 5 ms", a["gap_abs_err_ms_p99"] < 5),
        ("at least as accurate as python (p50 and p99, TTFT and gaps)",
         all(a[k] <= b[k] for k in ["ttft_abs_err_ms_p50", "ttft_abs_err_ms_p99", "gap_abs_err_ms_p50", "gap_abs_err_ms_p99"])),
        (">= 5x fewer CPU-seconds per million tokens, saturated (%.1fx)" % cpu_ratio, cpu_ratio >= 5),
        ("<= half the peak memory (%.2f of python's)" % rss_ratio, rss_ratio <= 0.5),
    ]
    for label, ok in checks:
        print("  [%s] %s" % ("ok" if ok else "MISSED", label))
    print("  (for information: batching off %.1fx, paced %.1fx fewer CPU-seconds per million tokens)" % (eager_ratio, paced_ratio))
    results["cpu_ratio"] = cpu_ratio
    results["rss_ratio"] = rss_ratio
    return checks


if __name__ == "__main__":
    sys.exit(main())
