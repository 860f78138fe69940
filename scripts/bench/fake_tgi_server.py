#!/usr/bin/env python3
"""A fake TGI-style OpenAI chat server that streams on a known schedule.

It exists so LoadBench's measurements can be checked against ground truth:
every content chunk is written at a planned time and the moment it was
actually handed to the socket is logged with CLOCK_MONOTONIC
(time.monotonic_ns), the same clock Swift's clock_gettime(CLOCK_MONOTONIC)
reads on Linux, so client and server timestamps compare directly.

Routes
  POST /v1/chat/completions   OpenAI chat.completion.chunk SSE (stream=true)
                               or one JSON object (stream=false)
  POST /tokenize              {"content": ...} -> {"tokens": [...]}  (llama.cpp)
                              {"inputs": ...}  -> [{"id":..,"text":..}, ...] (TGI)
  GET  /health, /info, /v1/models
  POST /endpoints/<name>/invocations-response-stream
                              SageMaker's InvokeEndpointWithResponseStream: the same
                              chat stream, each SSE event the payload of one AWS
                              event-stream PayloadPart message (one HTTP chunk each),
                              Content-Type application/vnd.amazon.eventstream; the
                              signature is not checked (Tests/Fakes/fake_sagemaker.py
                              checks it)

Behaviour per request comes from the CLI defaults, overridden by an optional
"fake" object in the request body:
  ttft_ms, itl_ms          first-token delay and gap between tokens
  tokens                   tokens to emit (default: max_tokens, else 16)
  fail_status              answer this HTTP status with a JSON error body
  error_after              after N tokens send data: {"error": {...}} and stop
  disconnect_after         after N tokens close the socket mid-stream
  hang_after               after N tokens stop writing but keep the socket open
  usage                    true/false: send a usage chunk (default: what
                           stream_options.include_usage asks, or --usage)
  events_per_write         group this many SSE events per socket write
The --fail-every / --error-every / --disconnect-every / --hang-every flags
inject faults into every Nth request (counted in arrival order, from 1).

Log (--log FILE), one line per event, all times CLOCK_MONOTONIC ns:
  R <request-id> <t>          request fully read
  H <request-id> <t>          response head written
  W <request-id> <seq> <t>    content chunk <seq> (0-based) written
  E <request-id> <kind> <t>   end: done | error | disconnect | hang | status
The request id is the X-Request-Id header (X-Amzn-SageMaker-Inference-Id on the
SageMaker route), else "srv-<n>".

The first line on stdout is "LISTENING <port>" once the socket is bound.
"""

import argparse
import asyncio
import binascii
import json
import os
import re
import signal
import struct
import sys
import time

WORDS = (
    " the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog",
    " and", " sings", " of", " summer", " days", " in", " gentle", " rhyme",
)
TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
# Fixed chat-template cost, so prompt_tokens differs from the raw text count
# the way a real template (role markers, BOS) makes it differ.
TEMPLATE_TOKENS_PER_MESSAGE = 4
TEMPLATE_TOKENS_FIXED = 3


def event_stream_header(name, value):
    """A string header (type 7) of an AWS event-stream message."""
    return struct.pack(">B", len(name)) + name + b"\x07" + struct.pack(">H", len(value)) + value


PAYLOAD_PART_HEADERS = (event_stream_header(b":event-type", b"PayloadPart")
                        + event_stream_header(b":content-type", b"application/octet-stream")
                        + event_stream_header(b":message-type", b"event"))


def payload_part(payload):
    """One PayloadPart message: prelude (lengths, CRC-32), headers, payload, message CRC-32."""
    prelude = struct.pack(">II", 12 + len(PAYLOAD_PART_HEADERS) + len(payload) + 4, len(PAYLOAD_PART_HEADERS))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + PAYLOAD_PART_HEADERS + payload
    return message + struct.pack(">I", binascii.crc32(message))


def count_tokens(text):
    return len(TOKEN_RE.findall(text))


def tokenize(text):
    return TOKEN_RE.findall(text)


def message_text(content):
    """Message content may be a string or a list of parts (vLLM's client)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def prompt_tokens(messages):
    total = TEMPLATE_TOKENS_FIXED
    for m in messages:
        total += TEMPLATE_TOKENS_PER_MESSAGE + count_tokens(message_text(m.get("content", "")))
    return total


class Log:
    """Buffers log lines and flushes them in batches to keep write cost off the schedule."""

    def __init__(self, path):
        self.file = open(path, "a", buffering=1 << 20) if path else None

    def write(self, line):
        if self.file is not None:
            self.file.write(line)

    def flush(self):
        if self.file is not None:
            self.file.flush()


class Server:
    def __init__(self, args):
        self.args = args
        self.log = Log(args.log)
        self.counter = 0

    # -- HTTP plumbing -------------------------------------------------------

    async def handle(self, reader, writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            import socket
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                if headers.get("expect", "").lower() == "100-continue":
                    pass  # body already read; curl only waits 1 s for the 100 anyway
                keep = await self.route(method, path, headers, body, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    @staticmethod
    def respond_json(writer, status, obj, reason="OK"):
        data = json.dumps(obj).encode()
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode() + data
        )

    async def route(self, method, path, headers, body, writer):
        path = path.split("?", 1)[0]
        if method == "GET" and path == "/health":
            self.respond_json(writer, 200, {})
        elif method == "GET" and path == "/info":
            self.respond_json(writer, 200, {"model_id": self.args.model, "version": "fake"})
        elif method == "GET" and path == "/v1/models":
            self.respond_json(writer, 200, {"object": "list", "data": [{"id": self.args.model, "object": "model"}]})
        elif method == "POST" and path == "/tokenize" and not self.args.no_tokenize:
            req = json.loads(body or b"{}")
            if "content" in req:
                toks = tokenize(req["content"])
                self.respond_json(writer, 200, {"tokens": list(range(len(toks)))})
            else:
                toks = tokenize(req.get("inputs", ""))
                self.respond_json(writer, 200, [{"id": i, "text": t} for i, t in enumerate(toks)])
        elif method == "POST" and path in ("/v1/chat/completions", "/chat/completions"):
            return await self.chat(headers, body, writer)
        elif method == "POST" and path.startswith("/endpoints/") and path.endswith("/invocations-response-stream"):
            return await self.chat(headers, body, writer, eventstream=True)
        else:
            self.respond_json(writer, 404, {"error": f"no route {method} {path}"}, "Not Found")
        await writer.drain()
        return True

    # -- chat ------------------------------------------------------------------

    def plan(self, req):
        """Merge CLI defaults, every-Nth faults and the request's own overrides."""
        a = self.args
        self.counter += 1
        n = self.counter
        fake = req.get("fake") or {}
        plan = {
            "ttft_ms": a.ttft_ms,
            "itl_ms": a.itl_ms,
            "tokens": req.get("max_tokens") or req.get("max_completion_tokens") or 16,
            "fail_status": None,
            "error_after": None,
            "disconnect_after": None,
            "hang_after": None,
            "usage": a.usage or bool((req.get("stream_options") or {}).get("include_usage")),
            "events_per_write": a.events_per_write,
        }
        if a.no_usage:
            plan["usage"] = False
        if a.fail_every and n % a.fail_every == 0:
            plan["fail_status"] = a.fail_status
        if a.error_every and n % a.error_every == 0:
            plan["error_after"] = a.fault_after
        if a.disconnect_every and n % a.disconnect_every == 0:
            plan["disconnect_after"] = a.fault_after
        if a.hang_every and n % a.hang_every == 0:
            plan["hang_after"] = a.fault_after
        plan.update({k: v for k, v in fake.items() if k in plan})
        return plan

    async def chat(self, headers, body, writer, eventstream=False):
        t_recv = time.monotonic_ns()
        req = json.loads(body or b"{}")
        rid = (eventstream and headers.get("x-amzn-sagemaker-inference-id")) or headers.get("x-request-id") \
            or f"srv-{self.counter + 1}"
        plan = self.plan(req)
        log = self.log
        log.write(f"R {rid} {t_recv}\n")

        if plan["fail_status"]:
            status = int(plan["fail_status"])
            self.respond_json(writer, status,
                              {"error": "injected failure", "error_type": "fake"}, "Error")
            await writer.drain()
            log.write(f"E {rid} status {time.monotonic_ns()}\n")
            log.flush()
            return True

        n_tokens = int(plan["tokens"])
        n_prompt = prompt_tokens(req.get("messages") or [])
        model = req.get("model") or self.args.model
        created = int(time.time())
        cid = f"chatcmpl-{rid}"

        if not req.get("stream") and not eventstream:
            await asyncio.sleep(plan["ttft_ms"] / 1000 + plan["itl_ms"] * max(n_tokens - 1, 0) / 1000)
            text = "".join(WORDS[i % len(WORDS)] for i in range(n_tokens))
            self.respond_json(writer, 200, {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "length"}],
                "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_tokens,
                          "total_tokens": n_prompt + n_tokens},
            })
            await writer.drain()
            log.write(f"E {rid} done {time.monotonic_ns()}\n")
            return True

        if eventstream:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\n"
                         b"X-Amzn-SageMaker-Content-Type: text/event-stream\r\n"
                         b"x-Amzn-Invoked-Production-Variant: AllTraffic\r\nTransfer-Encoding: chunked\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
        log.write(f"H {rid} {time.monotonic_ns()}\n")

        def http_chunk(data):
            """One SSE event as an HTTP chunk; on the SageMaker route, in a PayloadPart message."""
            if eventstream:
                data = payload_part(data)
            return b"%x\r\n%s\r\n" % (len(data), data)

        def event(obj):
            # TGI omits the space after "data:"; keep that quirk so clients are tested on it.
            return http_chunk(b"data:" + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")

        # Chunks differ only in their content and finish reason, so the JSON around them is
        # serialised once per request; that keeps the server fast enough to load a client.
        head = json.dumps({"id": cid, "object": "chat.completion.chunk", "created": created,
                           "model": model, "system_fingerprint": "fake"},
                          separators=(",", ":"))[:-1].encode()
        head += b',"choices":[{"index":0,"delta":{"role":"assistant","content":'
        encoded_words = [json.dumps(w).encode() for w in WORDS]

        def chunk(seq, finish=None):
            return http_chunk(b"data:" + head + encoded_words[seq % len(WORDS)] + b'},"logprobs":null,"finish_reason":'
                              + (b'"%s"' % finish.encode() if finish else b"null") + b"}]}\n\n")

        if eventstream:
            # Framing costs two CRCs a chunk; the non-final chunks are framed once per request, so
            # the SageMaker route spends no more per write than the SSE one.
            framed = [chunk(i) for i in range(len(WORDS))]
            sse_chunk = chunk

            def chunk(seq, finish=None):
                return sse_chunk(seq, finish) if finish else framed[seq % len(WORDS)]

        itl_ns = int(plan["itl_ms"] * 1_000_000)
        t_first = t_recv + int(plan["ttft_ms"] * 1_000_000)
        per_write = max(1, int(plan["events_per_write"]))
        error_after = plan["error_after"]
        disconnect_after = plan["disconnect_after"]
        hang_after = plan["hang_after"]
        pending = []
        seq = 0
        end_kind = "done"
        while seq < n_tokens:
            if error_after is not None and seq >= int(error_after):
                end_kind = "error"
                break
            if disconnect_after is not None and seq >= int(disconnect_after):
                end_kind = "disconnect"
                break
            if hang_after is not None and seq >= int(hang_after):
                end_kind = "hang"
                break
            due = t_first + seq * itl_ns
            wait = due - time.monotonic_ns()
            if wait > 0:
                await asyncio.sleep(wait / 1e9)
            last = seq == n_tokens - 1
            pending.append(chunk(seq, "length" if last else None))
            seq += 1
            if len(pending) >= per_write or last:
                t = time.monotonic_ns()
                writer.write(b"".join(pending))
                for s in range(seq - len(pending), seq):
                    log.write(f"W {rid} {s} {t}\n")
                pending.clear()
                if writer.transport.get_write_buffer_size() > 1 << 16:
                    await writer.drain()
                elif itl_ns == 0 and seq % 64 == 0:
                    await asyncio.sleep(0)  # let other streams run when not paced
        if pending:
            t = time.monotonic_ns()
            writer.write(b"".join(pending))
            for s in range(seq - len(pending), seq):
                log.write(f"W {rid} {s} {t}\n")

        if end_kind == "error":
            writer.write(event({"error": {"message": "injected in-stream error after %d tokens" % seq,
                                          "type": "fake_error", "code": 424}}))
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            log.write(f"E {rid} error {time.monotonic_ns()}\n")
            log.flush()
            return True
        if end_kind == "disconnect":
            await writer.drain()
            log.write(f"E {rid} disconnect {time.monotonic_ns()}\n")
            log.flush()
            writer.transport.abort()
            return False
        if end_kind == "hang":
            await writer.drain()
            log.write(f"E {rid} hang {time.monotonic_ns()}\n")
            log.flush()
            try:
                await asyncio.sleep(self.args.hang_seconds)
            finally:
                writer.transport.abort()
            return False

        tail = []
        if plan["usage"]:
            tail.append(event({"id": cid, "object": "chat.completion.chunk", "created": created,
                               "model": model, "choices": [],
                               "usage": {"prompt_tokens": n_prompt, "completion_tokens": seq,
                                         "total_tokens": n_prompt + seq}}))
        tail.append(http_chunk(b"data:[DONE]\n\n"))
        tail.append(b"0\r\n\r\n")
        writer.write(b"".join(tail))
        await writer.drain()
        log.write(f"E {rid} done {time.monotonic_ns()}\n")
        log.flush()
        return True


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--model", default="fake/tgi-model")
    p.add_argument("--ttft-ms", type=float, default=20.0)
    p.add_argument("--itl-ms", type=float, default=5.0)
    p.add_argument("--events-per-write", type=int, default=1)
    p.add_argument("--usage", action="store_true", help="always send a usage chunk")
    p.add_argument("--no-usage", action="store_true", help="never send a usage chunk")
    p.add_argument("--no-tokenize", action="store_true", help="answer 404 on /tokenize")
    p.add_argument("--fail-every", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=500)
    p.add_argument("--error-every", type=int, default=0)
    p.add_argument("--disconnect-every", type=int, default=0)
    p.add_argument("--hang-every", type=int, default=0)
    p.add_argument("--fault-after", type=int, default=3, help="tokens sent before an injected fault")
    p.add_argument("--hang-seconds", type=float, default=30.0)
    p.add_argument("--log", default=None, help="file for the write-time log")
    args = p.parse_args()

    server = Server(args)
    srv = await asyncio.start_server(server.handle, args.host, args.port, backlog=1024)
    port = srv.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # A parent may start us with these blocked or ignored (test runners do); we must stop on them.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    srv.close()
    server.log.flush()
    # Clients keep connections alive; do not wait for them to hang up.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
