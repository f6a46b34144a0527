"""The Lambda that launches ingestion runs on a real Dagster webserver when a file lands in S3.
The AWS control plane (Lambda service, S3 notifications) cannot run here, so the handler is
invoked in process with an event of AWS's documented shape; S3 itself is moto_server."""
from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path

from infra import lambda_handler
from tests.support import (
    environment,
    free_port,
    make_bucket,
    s3_environment,
    scalar,
    throwaway_database,
)

EVENT_TEMPLATE = Path(__file__).parent / "data" / "s3_object_created_event.json"


def _graphql(url: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(f"{url}/graphql", json.dumps({"query": query, "variables": variables}).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def _wait_for_run(url: str, run_id: str, timeout: float = 300) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _graphql(url, query, {"id": run_id})["runOrError"].get("status")
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(2)
    raise TimeoutError(f"run {run_id} still {status} after {timeout} s")


def _event(bucket: str, key: str, etag: str) -> dict:
    text = EVENT_TEMPLATE.read_text().replace("BUCKET", bucket).replace("ETAG", etag)
    event = json.loads(text)
    event["Records"][0]["s3"]["object"]["key"] = urllib.parse.quote_plus(key, safe="/")
    return event


def test_lambda_launches_ingestion_on_dagster(s3_endpoint, tmp_path_factory):
    from ingestion.demo import SCALES, generate
    from orchestration.services import start_dagster

    client = make_bucket(s3_endpoint, "pulseops-lambda")
    clients = generate(SCALES["XS"], date(2026, 11, 25))[0]["psa/clients"]
    key = "landing/psa/clients/clients 2026-11-25.csv"  # a space: S3 events URL-encode keys
    put = client.put_object(Bucket="pulseops-lambda", Key=key, Body=clients.to_csv(index=False).encode())
    state = tmp_path_factory.mktemp("lambda-state")
    with throwaway_database() as url:
        env = {"PULSEOPS_HOME": str(state), "DATABASE_URL": url, **s3_environment(s3_endpoint, "pulseops-lambda")}
        dagster = start_dagster(state, free_port(), env=env)
        try:
            with environment(DAGSTER_GRAPHQL_URL=f"{dagster.url}/graphql", DAGSTER_LOCATION="pulseops"):
                event = _event("pulseops-lambda", key, put["ETag"].strip('"'))
                event["Records"].append({**event["Records"][0], "s3": {
                    **event["Records"][0]["s3"], "object": {"key": "exports/readme.txt", "eTag": "x"}}})
                reply = lambda_handler.handler(event, None)
            assert reply["batchItemFailures"] == []
            launched, ignored = reply["results"]
            assert (launched["status"], launched["key"]) == ("launched", key)
            assert ignored["status"] == "ignored"
            assert _wait_for_run(dagster.url, launched["run_id"]) == "SUCCESS"
            assert scalar(url, "select count(*) from raw.psa__clients") == len(clients)
            tags = _graphql(dagster.url, "query($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key value } } } }",
                            {"id": launched["run_id"]})["runOrError"]["tags"]
            assert {"key": "pulseops/key", "value": key} in tags
        finally:
            dagster.stop()


def test_lambda_reports_failure_when_dagster_is_down():
    with environment(DAGSTER_GRAPHQL_URL=f"http://127.0.0.1:{free_port()}/graphql"):
        reply = lambda_handler.handler(_event("b", "landing/psa/tickets/t.csv", "e"), None)
    assert reply["batchItemFailures"] == [{"itemIdentifier": "landing/psa/tickets/t.csv"}]
    assert reply["results"][0]["status"] == "failed"
