"""Faults injected for real, shared by the fault benchmark and the tests: an S3 that throttles and
drops connections, a database that refuses a commit, a server stopped while a load holds its file."""

from __future__ import annotations

import http.client
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import psycopg

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class FaultyS3:
    """Request n (from 1) is answered 503 SlowDown when n % 3 == 1, cut off when n % 5 == 2,
    else forwarded to the real server."""

    def __init__(self, upstream: str):
        self.upstream, self.requests, self.faults = urlsplit(upstream), 0, 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy.lock:
                    proxy.requests += 1
                    number = proxy.requests
                if number % 3 == 1:
                    proxy.faults += 1
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(SLOW_DOWN)))
                    self.end_headers()
                    self.wfile.write(SLOW_DOWN)
                    return
                if number % 5 == 2:
                    proxy.faults += 1
                    self.close_connection = True
                    self.connection.close()  # the connection drops without an answer
                    return
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                upstream.request(
                    self.command,
                    self.path,
                    body=body or None,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                )
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def commits_refused(database_url: str):
    """While open, PostgreSQL refuses every commit that writes the ingestion ledger (a deferred
    trigger raises at commit time)."""
    with psycopg.connect(database_url, autocommit=True) as owner:
        owner.execute(
            "create function refuse_commit() returns trigger language plpgsql as "
            "$$ begin raise exception 'the database refuses this commit'; end $$"
        )
        owner.execute(
            "create constraint trigger refuse_commit after insert or update on raw._ingestion_ledger "
            "deferrable initially deferred for each row execute function refuse_commit()"
        )
        try:
            yield
        finally:
            owner.execute("drop trigger refuse_commit on raw._ingestion_ledger")
            owner.execute("drop function refuse_commit()")


def wait_until_a_load_holds_its_file(database_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as watcher:
        while not watcher.execute("select count(*) from pg_locks where locktype = 'advisory'").fetchone()[0]:
            if time.monotonic() > deadline:
                raise TimeoutError("no load took its file's lock")
            time.sleep(0.05)
