#!/usr/bin/env python3
"""A streaming load client built like vLLM's benchmarks/backend_request_func.py
(async_request_openai_chat_completions): asyncio + aiohttp, a ClientSession per
request, `async for chunk_bytes in response.content`, a timestamp per chunk taken
when the coroutine gets to it.

It is the baseline LoadBench is compared against. Differences from vLLM's code,
each needed to run against a TGI-style server and to be compared fairly:
  - timestamps use time.monotonic_ns() (vLLM: time.perf_counter(); both read
    CLOCK_MONOTONIC on Linux, but monotonic_ns compares with the server's log);
  - the "data:" prefix is removed with or without the space (TGI omits it, and
    vLLM's remove_prefix("data: ") would then fail to parse every chunk);
  - each request sends an X-Request-Id header so the server log can be joined.

Closed loop: --streams users each send --requests-per-stream requests in turn.
Writes the same JSON-lines timeline as LoadBenchHarness (--timeline) and prints a
one-line JSON report.
"""

import argparse
import asyncio
import json
import sys
import time

import aiohttp

AIOHTTP_TIMEOUT = aiohttp.ClientTimeout(total=6 * 60 * 60)


def remove_prefix(text, prefix):
    if text.startswith(prefix):
        return text[len(prefix):]
    return text


async def request_chat(url, request_id, max_tokens, params, record):
    async with aiohttp.ClientSession(timeout=AIOHTTP_TIMEOUT) as session:
        payload = {
            "model": "fake/tgi-model",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Randomly stream lines from the following text with %d output tokens." % max_tokens}]}],
            "temperature": 0.0,
            "max_tokens": max_tokens,
            "stream": True,
        }
        payload.update(params)
        headers = {"Content-Type": "application/json", "Authorization": "Bearer none",
                   "X-Request-Id": request_id}
        chunks = []
        generated_text = ""
        error = None
        st = time.monotonic_ns()
        try:
            async with session.post(url=url, json=payload, headers=headers) as response:
                if response.status == 200:
                    async for chunk_bytes in response.content:
                        chunk_bytes = chunk_bytes.strip()
                        if not chunk_bytes:
                            continue
                        chunk = remove_prefix(chunk_bytes.decode("utf-8"), "data:").lstrip()
                        if chunk == "[DONE]":
                            pass
                        else:
                            timestamp = time.monotonic_ns()
                            data = json.loads(chunk)
                            if "error" in data:
                                error = str(data["error"])
                                break
                            choices = data.get("choices") or []
                            if choices:
                                delta = choices[0]["delta"]
                                if delta.get("content", None):
                                    chunks.append(timestamp)
                                    generated_text += delta["content"]
                else:
                    error = response.reason or ""
        except Exception as exc:  # the request failed; record it as vLLM does
            error = repr(exc)
        record.append({"id": request_id, "start_ns": st, "chunks_ns": chunks, "error": error})


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--streams", type=int, default=32)
    p.add_argument("--requests-per-stream", type=int, default=4)
    p.add_argument("--max-tokens", type=int, default=100)
    p.add_argument("--params", default="{}")
    p.add_argument("--timeline", default=None)
    args = p.parse_args()
    params = json.loads(args.params)
    record = []

    async def user(index):
        for k in range(args.requests_per_stream):
            request_id = "pyclient-%d-%d" % (index, k)
            await request_chat(args.url, request_id, args.max_tokens, params, record)

    start = time.monotonic_ns()
    await asyncio.gather(*(user(i) for i in range(args.streams)))
    wall = (time.monotonic_ns() - start) / 1e9
    chunks = sum(len(r["chunks_ns"]) for r in record)
    failed = sum(1 for r in record if r["error"])
    if args.timeline:
        with open(args.timeline, "w") as f:
            for r in record:
                f.write(json.dumps(r) + "\n")
    print(json.dumps({"requests": len(record), "failed": failed, "chunks": chunks, "wall_s": wall,
                      "chunks_per_s": chunks / wall if wall else 0}))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
