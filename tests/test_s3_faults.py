"""Loads through an S3 that throttles and drops connections: a small fault-injecting proxy in front
of the moto server answers some requests 503 SlowDown and cuts others off without an answer. The
store's retries carry every load through, and every file's rows land exactly once."""
from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import psycopg
import pytest

from ingestion.contracts import BY_NAME, CONTRACTS
from ingestion.loader import load_file
from ingestion.object_store import S3ObjectStore
from ingestion.raw_tables import ensure_raw_schema
from tests.support import environment, make_bucket, s3_environment, throwaway_database

CONTRACT = BY_NAME["psa__tickets"]
BUCKET = "pulseops-faults"
SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")


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
                upstream.request(self.command, self.path, body=body or None,
                                 headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
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


@pytest.fixture
def faulty_s3(s3_endpoint):
    make_bucket(s3_endpoint, BUCKET)
    proxy = FaultyS3(s3_endpoint)
    try:
        yield proxy
    finally:
        proxy.close()


def test_loads_complete_through_throttling_and_dropped_connections(faulty_s3, s3_endpoint):
    header = ("ticket_id,client_id,priority,category,created_at,first_response_at,resolved_at,"
              "sla_response_met,sla_resolution_met,reopen_count\n")
    with environment(**s3_environment(faulty_s3.url, BUCKET)), throwaway_database() as url:
        store = S3ObjectStore(BUCKET, endpoint_url=faulty_s3.url)
        for n in range(4):
            rows = "".join(f"S3F{n}-{i},C1,P{1 + i % 4},Net,2024-03-01T10:00:00,,,true,,0\n" for i in range(50))
            store.put_bytes(f"{CONTRACT.landing_prefix}faulty_{n}.csv", (header + rows).encode())
        with psycopg.connect(url) as conn:
            ensure_raw_schema(conn, CONTRACTS)
            statuses = [load_file(conn, store, CONTRACT, stored).status
                        for stored in store.list(CONTRACT.landing_prefix)]
            loaded = conn.execute("select count(*), count(distinct ticket_id) from raw.psa__tickets").fetchone()
    assert statuses == ["loaded"] * 4
    assert loaded == (200, 200), "every row exactly once"
    assert faulty_s3.faults >= 5, f"only {faulty_s3.faults} faults were injected in {faulty_s3.requests} requests"
