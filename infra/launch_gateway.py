"""The launch gateway: the S3 trigger's only way into Dagster.

Dagster's GraphQL endpoint does whatever its caller asks (launch any job with any config and tags,
stop sensors, delete runs) and has no authentication of its own. People reach it through the load
balancer's sign-in; the trigger Lambda reaches this process instead, which runs beside the webserver
in the same ECS task and forwards to it on localhost exactly two requests, the ones
`infra/lambda_handler.py` makes:

  * FIND_RUNS for one object version (the run lookup that makes launches idempotent; read-only), and
  * LAUNCH_RUN of the ingestion job for one landing file, only that file's asset selected, tagged
    with `pulseops/trigger`, `pulseops/bucket`, `pulseops/key` and `pulseops/etag` and nothing else.

A request is accepted only if it carries the bearer token and its variables equal the ones this
gateway rebuilds from the object's bucket, key and ETag (so job, location, config and tags are fixed
here, and no `ecs/*` or other tag can get through); it then forwards its own copy of the document and
variables, never the caller's text. Everything else is refused with a 4xx and never reaches Dagster.

Environment:
    PULSEOPS_GATEWAY_TOKEN      the bearer token (ECS injects it from Secrets Manager); 32+ characters
    PULSEOPS_GATEWAY_UPSTREAM   Dagster GraphQL, e.g. http://127.0.0.1:3000/graphql
    PULSEOPS_GATEWAY_HOST/PORT  where to listen (default 0.0.0.0:8080)
    PULSEOPS_S3_BUCKET          when set, the only bucket whose files may be launched
    PULSEOPS_S3_PREFIX          optional key prefix in front of landing/
    DAGSTER_LOCATION, DAGSTER_JOB   the code location and job (default pulseops, ingest_job)

Standard library only.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from infra.lambda_handler import (
    FIND_RUNS,
    LAUNCH_RUN,
    TAG_PREFIX,
    find_runs_variables,
    landing_target,
    launch_variables,
)

logger = logging.getLogger("pulseops.gateway")
MAX_BODY_BYTES = 64 * 1024
MIN_TOKEN_LENGTH = 32


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class GatewaySettings:
    token: str
    upstream: str
    location: str
    job: str
    bucket: str
    key_prefix: str

    @classmethod
    def from_env(cls) -> GatewaySettings:
        env = os.environ
        token = env.get("PULSEOPS_GATEWAY_TOKEN", "").strip()
        if len(token) < MIN_TOKEN_LENGTH:
            raise SystemExit(f"PULSEOPS_GATEWAY_TOKEN must hold at least {MIN_TOKEN_LENGTH} characters")
        return cls(
            token=token,
            upstream=env["PULSEOPS_GATEWAY_UPSTREAM"],
            location=env.get("DAGSTER_LOCATION", "pulseops"),
            job=env.get("DAGSTER_JOB", "ingest_job"),
            bucket=env.get("PULSEOPS_S3_BUCKET", ""),
            key_prefix=env.get("PULSEOPS_S3_PREFIX", "").strip("/"),
        )


def object_of(tags: object) -> dict:
    """Bucket, key and ETag named by the request's `pulseops/` tags (the caller's claim, checked later)."""
    if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("key"), str) for t in tags):
        raise Refused(403, "tags must be a list of {key, value}")
    named = {t["key"][len(TAG_PREFIX) :]: t.get("value") for t in tags if t["key"].startswith(TAG_PREFIX)}
    obj = {name: named.get(name) for name in ("bucket", "key", "etag")}
    if not all(isinstance(value, str) and value for value in obj.values()):
        raise Refused(403, "the request must name one object: pulseops/bucket, pulseops/key, pulseops/etag")
    return obj


def allowed_request(settings: GatewaySettings, request: object) -> tuple[str, dict]:
    """(document, variables) to forward for an allowed request; Refused for anything else."""
    if not isinstance(request, dict) or set(request) - {"query", "variables"}:
        raise Refused(403, "only query and variables may be sent")
    query, variables = request.get("query"), request.get("variables")
    if not isinstance(variables, dict):
        raise Refused(403, "variables are required")
    if query == FIND_RUNS:
        obj = object_of(variables.get("filter", {}).get("tags") if isinstance(variables.get("filter"), dict) else None)
        expected = find_runs_variables(obj)
        document = FIND_RUNS
    elif query == LAUNCH_RUN:
        params = variables.get("executionParams")
        metadata = params.get("executionMetadata") if isinstance(params, dict) else None
        obj = object_of(metadata.get("tags") if isinstance(metadata, dict) else None)
        target = landing_target(obj["key"], settings.key_prefix)
        if target is None:
            raise Refused(403, "not a data file in the landing zone")
        expected = launch_variables(settings.location, settings.job, obj, *target)
        document = LAUNCH_RUN
    else:
        raise Refused(403, "only the ingestion launch and its run lookup are allowed")
    if settings.bucket and obj["bucket"] != settings.bucket:
        raise Refused(403, "not the data bucket")
    # Equal to what the gateway builds from bucket, key and ETag: no other job, config, or tag.
    if variables != expected:
        raise Refused(403, "the request differs from the ingestion launch for this object")
    return document, expected


def forward(settings: GatewaySettings, document: str, variables: dict) -> tuple[int, bytes]:
    body = json.dumps({"query": document, "variables": variables}).encode()
    request = urllib.request.Request(
        settings.upstream, body, {"Content-Type": "application/json", "Accept": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError as error:  # the webserver is restarting: the trigger retries 5xx
        return 502, json.dumps({"error": f"Dagster unreachable: {type(error).__name__}"}).encode()


def make_handler(settings: GatewaySettings) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            try:
                if self.path != "/graphql":
                    raise Refused(404, "not found")
                supplied = self.headers.get("Authorization", "")
                if not hmac.compare_digest(supplied.encode(), f"Bearer {settings.token}".encode()):
                    raise Refused(401, "missing or wrong token")
                length = self.headers.get("Content-Length", "")
                if not length.isdigit():
                    raise Refused(411, "Content-Length required")
                length = int(length)
                if length > MAX_BODY_BYTES:
                    raise Refused(413, "request too large")
                try:
                    request = json.loads(self.rfile.read(length))
                except ValueError:
                    raise Refused(400, "not JSON") from None
                document, variables = allowed_request(settings, request)
            except Refused as refusal:
                logger.warning(
                    json.dumps({"refused": refusal.status, "reason": str(refusal), "client": self.client_address[0]})
                )
                self._answer(refusal.status, json.dumps({"error": str(refusal)}).encode())
                return
            self._answer(*forward(settings, document, variables))

        def do_GET(self):
            if self.path == "/health":
                self._answer(200, b'{"ok": true}')
            else:
                self._answer(405, b'{"error": "POST /graphql only"}')

        do_PUT = do_DELETE = do_PATCH = lambda self: self._answer(405, b'{"error": "POST /graphql only"}')

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # refusals are logged above; launches are in Dagster
            pass

    return Handler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = GatewaySettings.from_env()
    host, port = (
        os.environ.get("PULSEOPS_GATEWAY_HOST", "0.0.0.0"),
        int(os.environ.get("PULSEOPS_GATEWAY_PORT", "8080")),
    )
    server = ThreadingHTTPServer((host, port), make_handler(settings))
    logger.info(json.dumps({"listening": f"{host}:{port}", "upstream": settings.upstream}))
    server.serve_forever()


if __name__ == "__main__":
    main()
