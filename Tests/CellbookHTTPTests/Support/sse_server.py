#!/usr/bin/env python3
"""A small HTTP server for CellbookHTTP's tests (standard library only).

Serves on 127.0.0.1, port given as the first argument or 0 for a free one,
and prints "PORT <n>" once it listens. Exits when its standard input closes
(the test process went away) or after --lifetime seconds.

Routes:
  GET  /sse?events=N&pause_ms=P     N events `data: {"i": k}`, P ms apart, then [DONE]
  GET  /split                       fixed SSE bytes in awkward pieces (mid UTF-8, between CR and LF)
  GET  /abort                       two events, then the connection closes without ending the body
  GET  /status/<code>               that status with a short text body
  GET  /slow?seconds=S              answers after S seconds
  GET  /endless?id=X&interval_ms=I  an event every I ms until the client leaves (30 s at most)
  GET  /silent?id=X&seconds=S       one event, then silence for S seconds, watching for the client to leave
  GET  /stats?id=X                  {"sent": n, "disconnected": bool} for an /endless or /silent stream
  POST /echo                        JSON with the method, headers and body (hex) it got
  POST /v1/chat/completions         a chat server; the request's "model" picks the flavour:
       tgi        TGI-style chunks (`data:` without a space), usage chunk if asked
       llama      llama-server-style: the last chunk has finish_reason, usage and timings
       tgi-error  HTTP 200 with `data:{"error": ...}` as TGI sends validation errors
       overloaded HTTP 429 with a JSON error body
       echo       (not streaming) the request body as the message content
       error-200  (not streaming) HTTP 200 with an OpenAI error object
"""

import json
import os
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKENS = ["Hello", ",", " world", "!", " How", " are", " you", "?"]
STATS = {}
STATS_LOCK = threading.Lock()

# The /split body and the pieces it is written in.
SPLIT_PIECES = [
    b": a comment first\r",
    b"\ndata: caf\xc3",
    b"\xa9\r",
    b"\n\r",
    b"\nevent: update\nid: 7\ndata:no-space\ndata: second line\n",
    b"\n",
    b"data: last\r\n\r\n",
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Small event writes must leave at once, not wait for Nagle.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        pass

    # -- helpers --------------------------------------------------------

    def start_stream(self, status=200):
        self.send_response(status)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def reply(self, status, body, content_type="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def query(self):
        return {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}

    def read_body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    # -- routes ---------------------------------------------------------

    def do_GET(self):
        path = urlparse(self.path).path
        q = self.query()
        if path == "/sse":
            events = int(q.get("events", "5"))
            pause = int(q.get("pause_ms", "100")) / 1000
            self.start_stream()
            for i in range(events):
                if i:
                    time.sleep(pause)
                self.chunk('data: {"i": %d}\n\n' % i)
            self.chunk("data: [DONE]\n\n")
            self.end_stream()
        elif path == "/split":
            self.start_stream()
            for piece in SPLIT_PIECES:
                self.chunk(piece)
                time.sleep(0.02)
            self.end_stream()
        elif path == "/abort":
            self.start_stream()
            self.chunk("data: one\n\n")
            self.chunk("data: two\n\n")
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self.reply(code, "status %d from the test server" % code)
        elif path == "/slow":
            time.sleep(float(q.get("seconds", "5")))
            self.reply(200, "slow answer")
        elif path == "/endless":
            self.endless(q.get("id", "none"), int(q.get("interval_ms", "50")) / 1000)
        elif path == "/silent":
            self.silent(q.get("id", "none"), float(q.get("seconds", "10")))
        elif path == "/stats":
            with STATS_LOCK:
                stats = dict(STATS.get(q.get("id", ""), {"sent": 0, "disconnected": False}))
            self.reply(200, json.dumps(stats), "application/json")
        else:
            self.reply(404, "no route " + path)

    def endless(self, stream_id, interval):
        with STATS_LOCK:
            STATS[stream_id] = {"sent": 0, "disconnected": False}
        self.start_stream()
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                self.chunk('data: {"tick": %d}\n\n' % STATS[stream_id]["sent"])
                with STATS_LOCK:
                    STATS[stream_id]["sent"] += 1
                time.sleep(interval)
            self.end_stream()
        except (BrokenPipeError, ConnectionResetError):
            with STATS_LOCK:
                STATS[stream_id]["disconnected"] = True
            self.close_connection = True

    def silent(self, stream_id, seconds):
        with STATS_LOCK:
            STATS[stream_id] = {"sent": 0, "disconnected": False}
        self.start_stream()
        self.chunk("data: first and last\n\n")
        with STATS_LOCK:
            STATS[stream_id]["sent"] = 1
        # Send nothing more; a closed connection shows up as readable with no bytes.
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable:
                try:
                    gone = self.connection.recv(1, socket.MSG_PEEK) == b""
                except (ConnectionResetError, OSError):
                    gone = True
                if gone:
                    with STATS_LOCK:
                        STATS[stream_id]["disconnected"] = True
                    self.close_connection = True
                    return
        try:
            self.end_stream()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        path = urlparse(self.path).path
        body = self.read_body()
        if path == "/echo":
            echoed = {
                "method": self.command,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_hex": body.hex(),
            }
            self.reply(200, json.dumps(echoed), "application/json")
        elif path == "/v1/chat/completions":
            self.chat(json.loads(body or b"{}"), body)
        else:
            self.reply(404, "no route " + path)

    def do_PUT(self):
        self.do_POST()

    def chat(self, request, raw):
        model = request.get("model", "tgi")
        max_tokens = int(request.get("max_tokens") or len(TOKENS))
        tokens = TOKENS[:max_tokens]
        finish = "length" if max_tokens < len(TOKENS) else "stop"
        usage = {"prompt_tokens": 11, "completion_tokens": len(tokens), "total_tokens": 11 + len(tokens)}

        if model == "overloaded":
            self.reply(429, json.dumps({"error": "Model is overloaded", "error_type": "overloaded"}), "application/json")
            return
        if not request.get("stream"):
            if model == "echo":
                content = raw.decode()
            elif model == "error-200":
                self.reply(200, json.dumps({"error": {"message": "model not loaded", "type": "server_error"}}),
                           "application/json")
                return
            else:
                content = "".join(tokens)
            answer = {
                "id": "chatcmpl-test", "object": "chat.completion", "created": 1717000000, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "logprobs": None, "finish_reason": finish}],
                "usage": usage,
            }
            self.reply(200, json.dumps(answer), "application/json")
            return

        self.start_stream()
        if model == "tgi-error":
            self.chunk('data:{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. '
                       'Given: 4000 `inputs` tokens and 200 `max_new_tokens`","error_type":"validation"}\n\n')
            self.end_stream()
            return
        space = "" if model == "tgi" else " "
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1717000000, "model": model,
                "system_fingerprint": "test"}
        for index, token in enumerate(tokens):
            last = index == len(tokens) - 1
            chunk = dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": token},
                                         "logprobs": None, "finish_reason": None}])
            if model == "tgi":
                chunk["usage"] = None
            self.chunk("data:%s%s\n\n" % (space, json.dumps(chunk)))
            time.sleep(0.03)
            if last:
                final = dict(base, choices=[{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}])
                if model == "llama":
                    final["usage"] = usage
                    final["timings"] = {"prompt_n": 11, "prompt_ms": 12.5, "predicted_n": len(tokens),
                                        "predicted_ms": 90.0, "predicted_per_second": 44.4}
                self.chunk("data:%s%s\n\n" % (space, json.dumps(final)))
        if model == "tgi" and (request.get("stream_options") or {}).get("include_usage"):
            self.chunk("data:%s%s\n\n" % (space, json.dumps(dict(base, choices=[], usage=usage))))
        self.chunk("data:%s[DONE]\n\n" % space)
        self.end_stream()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # 128 clients connect at once in one test


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0
    lifetime = 600
    if "--lifetime" in sys.argv:
        lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1])
    server = Server(("127.0.0.1", port), Handler)

    def exit_when_orphaned():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_when_orphaned, daemon=True).start()
    threading.Timer(lifetime, lambda: os._exit(0)).start()
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
