"""AWS Lambda: when a file lands in the S3 landing zone, launch the Dagster ingestion job for it.

Environment:
    DAGSTER_GRAPHQL_URL   e.g. http://dagster-webserver.internal:3000/graphql
    DAGSTER_LOCATION      code location name (default "pulseops")
    DAGSTER_JOB           job to launch (default "ingest_job")
    DAGSTER_AUTH_HEADER   optional "Name: value" header for a protected endpoint
    PULSEOPS_S3_PREFIX    optional key prefix in front of landing/

Standard library only, so the function needs no layer.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request

logger = logging.getLogger()
logger.setLevel(logging.INFO)

LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
  }
}
"""
DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz", ".json")


def s3_objects(event: dict) -> list[dict]:
    """(bucket, key, etag) of every object in an S3 notification or an EventBridge 'Object Created'."""
    if event.get("detail-type") == "Object Created":
        detail = event["detail"]
        return [{"bucket": detail["bucket"]["name"], "key": detail["object"]["key"],
                 "etag": detail["object"].get("etag", "")}]
    objects = []
    for record in event.get("Records", []):
        if not record.get("eventName", "").startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        objects.append({"bucket": s3["bucket"]["name"],
                        # keys arrive URL-encoded with '+' for spaces in S3 notifications
                        "key": urllib.parse.unquote_plus(s3["object"]["key"]),
                        "etag": s3["object"].get("eTag", "")})
    return objects


def landing_target(key: str, prefix: str = "") -> tuple[str, str, str] | None:
    """(landing key relative to the store, source, entity), or None for keys outside the landing zone."""
    prefix = prefix.strip("/")
    if prefix:
        if not key.startswith(prefix + "/"):
            return None
        key = key[len(prefix) + 1:]
    parts = key.split("/")
    if len(parts) < 4 or parts[0] != "landing" or not key.lower().endswith(DATA_SUFFIXES):
        return None
    return key, parts[1], parts[2]


def _post_graphql(url: str, query: str, variables: dict) -> dict:
    headers = {"Content-Type": "application/json"}
    auth = os.environ.get("DAGSTER_AUTH_HEADER")
    if auth and ":" in auth:
        name, value = auth.split(":", 1)
        headers[name.strip()] = value.strip()
    request = urllib.request.Request(url, json.dumps({"query": query, "variables": variables}).encode(),
                                     headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"Dagster answered HTTP {error.code}: {error.read()[:500]!r}") from error


def launch_ingestion(obj: dict, landing_key: str, source: str, entity: str) -> str:
    """Launch the ingestion run for one file; return its run id."""
    params = {
        "selector": {"repositoryLocationName": os.environ.get("DAGSTER_LOCATION", "pulseops"),
                     "repositoryName": "__repository__",
                     "jobName": os.environ.get("DAGSTER_JOB", "ingest_job")},
        "runConfigData": {"ops": {f"raw__{source}__{entity}": {"config": {"object_keys": [landing_key]}}}},
        "executionMetadata": {"tags": [
            {"key": "pulseops/trigger", "value": "s3_lambda"},
            {"key": "pulseops/bucket", "value": obj["bucket"]},
            {"key": "pulseops/key", "value": obj["key"]},
            {"key": "pulseops/etag", "value": obj["etag"]},
        ]},
    }
    reply = _post_graphql(os.environ["DAGSTER_GRAPHQL_URL"], LAUNCH_RUN, {"executionParams": params})
    launched = (reply.get("data") or {}).get("launchRun") or {}
    if launched.get("__typename") != "LaunchRunSuccess":
        raise RuntimeError(f"Dagster refused the run for {obj['key']}: {json.dumps(reply)[:500]}")
    return launched["run"]["runId"]


def handler(event: dict, context=None) -> dict:
    results, failures = [], []
    prefix = os.environ.get("PULSEOPS_S3_PREFIX", "")
    for obj in s3_objects(event):
        target = landing_target(obj["key"], prefix)
        if target is None:
            results.append({**obj, "status": "ignored"})
            continue
        try:
            run_id = launch_ingestion(obj, *target)
            results.append({**obj, "status": "launched", "run_id": run_id})
        except Exception as error:  # reported per record, so the rest of the batch still goes
            logger.error(json.dumps({"key": obj["key"], "error": str(error)}))
            results.append({**obj, "status": "failed", "error": str(error)})
            failures.append({"itemIdentifier": obj["key"]})
    logger.info(json.dumps({"results": results}))
    return {"results": results, "batchItemFailures": failures}
