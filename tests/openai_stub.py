"""A real HTTP server on loopback that speaks the OpenAI chat-completions API (a test double of the
endpoint, not of our code): it answers from a script of replies and records every request."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def hashed_vector(text, dims: int = 64) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words are close (enough for routing tests)."""
    import hashlib
    import math
    import re

    if isinstance(text, list):  # token ids
        text = " ".join(str(t) for t in text)
    vec = [0.0] * dims
    for word in re.findall(r"[a-z0-9]+", str(text).lower()):
        vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % dims] += 1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


class OpenAIStub:
    def __init__(self):
        self.replies: list[dict] = []  # each: {"content": str} or {"status": int} or {"sleep": s, "content": str}
        self.requests: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address
        return f"http://{host}:{port}/v1"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def reply(self, content: str | None = None, *, status: int = 200, sleep: float = 0.0) -> None:
        self.replies.append({"content": content, "status": status, "sleep": sleep})

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append({"path": self.path, "body": body,
                                      "auth": self.headers.get("Authorization", "")})
                if self.path.endswith("/embeddings"):
                    inputs = body.get("input", [])
                    inputs = [inputs] if isinstance(inputs, (str, int)) else inputs
                    data = [{"object": "embedding", "index": i, "embedding": hashed_vector(x)}
                            for i, x in enumerate(inputs)]
                    self._send(200, {"object": "list", "data": data, "model": body.get("model", "stub"),
                                     "usage": {"prompt_tokens": 1, "total_tokens": 1}})
                    return
                plan = stub.replies.pop(0) if stub.replies else {"content": "The guides do not cover this.",
                                                                 "status": 200, "sleep": 0}
                if plan["sleep"]:
                    time.sleep(plan["sleep"])
                if plan["status"] != 200:
                    self._send(plan["status"], {"error": {"message": "stub failure", "type": "server_error"}})
                    return
                self._send(200, {
                    "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "stub"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": plan["content"]}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                })

            def _send(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        return Handler
