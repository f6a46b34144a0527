"""Real receivers for the alert tests: an SMTP server (aiosmtpd) that requires a login, and an HTTP
webhook receiver (http.server in a thread) that records every POST and can answer 500."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import free_port


@dataclass
class Mailbox:
    messages: list = field(default_factory=list)  # email.message.EmailMessage, as received

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["X-Envelope-To"] == address]


@contextmanager
def smtp_server(username: str, password: str):
    """An SMTP server on loopback that accepts mail only after AUTH with this login."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == username
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok)

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class Webhooks:
    port: int
    posts: list = field(default_factory=list)  # (path, payload) of each accepted POST
    failures: dict = field(default_factory=dict)  # path -> number of 500s still to answer (-1: always)
    refused: list = field(default_factory=list)  # paths answered with 500

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[dict]:
        return [payload for p, payload in self.posts if p == path]


@contextmanager
def webhook_receiver():
    port = free_port()
    hooks = Webhooks(port)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                remaining = hooks.failures.get(self.path, 0)
                if remaining:
                    hooks.failures[self.path] = remaining - 1 if remaining > 0 else -1
                    hooks.refused.append(self.path)
                else:
                    hooks.posts.append((self.path, json.loads(body)))
            self.send_response(500 if remaining else 200)
            self.end_headers()
            self.wfile.write(b"boom" if remaining else b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hooks
    finally:
        server.shutdown()
        server.server_close()
