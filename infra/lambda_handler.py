"""AWS Lambda: when a file lands in the S3 landing zone, launch the Dagster ingestion run for it.

Events understood:
  * an S3 event notification (``Records[].s3``), invoked directly by S3;
  * an EventBridge "Object Created" event from S3, invoked directly by a rule;
  * an SQS batch whose message bodies are either of the above. This is the deployed shape
    (S3 -> SQS -> Lambda, see infra/template.yaml): the queue gives redelivery and a dead-letter queue.

Every object gets a result: ``launched``, ``duplicate`` (Dagster already has a run for the same bucket,
key and ETag), ``ignored`` (outside the landing zone, or not a data file) or ``failed``. Nothing is
dropped silently:
  * SQS batches answer ``batchItemFailures`` with the failed messages' ids, so only those come back,
    and after the queue's maxReceiveCount they move to the dead-letter queue;
  * direct invocations raise ``LaunchFailed`` after the whole event was tried, because Lambda retries an
    asynchronous invocation (and finally sends it to its dead-letter queue) only when the function fails.
Retrying a whole event is safe: objects already launched come back as duplicates.

Environment:
    DAGSTER_GRAPHQL_URL      e.g. http://webserver.pulseops.local:8080/graphql (on AWS the launch gateway,
                             infra/launch_gateway.py, which accepts exactly the two requests below)
    DAGSTER_LOCATION         code location name (default "pulseops")
    DAGSTER_JOB              job to launch (default "ingest_job")
    DAGSTER_TOKEN_SECRET_ARN optional Secrets Manager secret whose value is sent as a bearer token; read
                             once per cold start (and again after the endpoint answers 401)
    DAGSTER_MAX_ATTEMPTS     attempts per request on transient errors (default 4)
    DAGSTER_BACKOFF_SECONDS  first retry delay, doubled on each retry (default 0.5)
    DAGSTER_TIMEOUT_SECONDS  per request (default 10)
    PULSEOPS_S3_PREFIX       optional key prefix in front of landing/

Standard library, plus boto3 (part of the Lambda Python runtime) to read the token: no layer needed.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

logger = logging.getLogger("pulseops.lambda")
logger.setLevel(logging.INFO)

# What the ingestion loader reads (pandas infers the compression from the suffix; JSON: lines, or an
# API response read through a mapping profile).
DATA_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".parquet", ".json", ".jsonl", ".jsonl.gz", ".ndjson")
# A provider's manifest (AWS `<export>-Manifest.json`, Azure `manifest.json`) is JSON too: it
# completes a delivery of several files, and its run loads the files it lists (ingestion/deliveries.py).
TAG_PREFIX = "pulseops/"

FIND_RUNS = """
query FindRuns($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 1) {
    __typename
    ... on Runs { results { runId status } }
    ... on PythonError { message }
  }
}
"""
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


class TransientError(Exception):
    """The endpoint did not answer properly (refused, timed out, 5xx): asking again may work."""


class RefusedError(Exception):
    """Dagster answered and said no: asking again gives the same answer."""


class LaunchFailed(RuntimeError):
    """Raised for direct invocations with failed objects, so Lambda retries and dead-letters the event."""

    def __init__(self, report: dict):
        super().__init__(json.dumps(report["batchItemFailures"]))
        self.report = report


@dataclass(frozen=True)
class Settings:
    graphql_url: str
    location: str
    job: str
    token: str
    max_attempts: int
    backoff_seconds: float
    timeout_seconds: float
    key_prefix: str

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            graphql_url=env["DAGSTER_GRAPHQL_URL"],
            location=env.get("DAGSTER_LOCATION", "pulseops"),
            job=env.get("DAGSTER_JOB", "ingest_job"),
            token=gateway_token(env.get("DAGSTER_TOKEN_SECRET_ARN", "")),
            max_attempts=max(1, int(env.get("DAGSTER_MAX_ATTEMPTS", "4"))),
            backoff_seconds=float(env.get("DAGSTER_BACKOFF_SECONDS", "0.5")),
            timeout_seconds=float(env.get("DAGSTER_TIMEOUT_SECONDS", "10")),
            key_prefix=env.get("PULSEOPS_S3_PREFIX", "").strip("/"),
        )


_tokens: dict[str, str] = {}  # secret ARN -> value, for the life of the execution environment


def gateway_token(secret_arn: str) -> str:
    """The bearer token kept in Secrets Manager (none without an ARN), read once per cold start."""
    if not secret_arn:
        return ""
    if secret_arn not in _tokens:
        import boto3  # in the Lambda runtime; imported here so the module loads without it

        secret = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)
        _tokens[secret_arn] = secret["SecretString"].strip()
    return _tokens[secret_arn]


def log(level: int, message: str, **fields) -> None:
    """One JSON object per line, so CloudWatch Logs Insights can filter on any field."""
    logger.log(level, json.dumps({"level": logging.getLevelName(level), "message": message, **fields}, default=str))


# --- events -> objects ---------------------------------------------------------------------------


def s3_objects(event: dict) -> list[dict]:
    """Bucket, key and ETag of every created object in an S3 notification or an EventBridge event."""
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        detail = event["detail"]
        return [
            {
                "bucket": detail["bucket"]["name"],
                "key": detail["object"]["key"],
                "etag": detail["object"].get("etag", ""),
            }
        ]
    objects = []
    for record in event.get("Records", []):
        if record.get("eventSource") != "aws:s3" or not record.get("eventName", "").startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        objects.append(
            {
                "bucket": s3["bucket"]["name"],
                # S3 notifications URL-encode keys, with '+' for a space
                "key": urllib.parse.unquote_plus(s3["object"]["key"]),
                "etag": s3["object"].get("eTag", ""),
            }
        )
    return objects


def deliveries(event: dict) -> tuple[list[tuple[str, list[dict]]], bool]:
    """(item id, objects) per delivery unit, and whether the event is an SQS batch.

    A message that cannot be read is a delivery with no readable objects: it is reported as failed
    rather than acknowledged, so it ends in the dead-letter queue where someone can look at it.
    """
    records = event.get("Records", [])
    if records and all(r.get("eventSource") == "aws:sqs" for r in records):
        units = []
        for record in records:
            try:
                units.append((record["messageId"], s3_objects(json.loads(record["body"]))))
            except (ValueError, KeyError, TypeError) as error:
                units.append((record.get("messageId", ""), [{"unreadable": str(error)}]))
        return units, True
    return [(obj["key"], [obj]) for obj in s3_objects(event)], False


def landing_target(key: str, prefix: str = "") -> tuple[str, str, str] | None:
    """(key relative to the object store, source, entity) for a data file in the landing zone, else None."""
    if prefix:
        if not key.startswith(prefix + "/"):
            return None
        key = key[len(prefix) + 1 :]
    parts = key.split("/")
    name = parts[-1]
    if len(parts) < 4 or parts[0] != "landing" or not all(parts[1:3]):
        return None
    # Marker and hidden files (_SUCCESS, .DS_Store) and unfinished uploads are not deliveries.
    if name.startswith((".", "_")) or not name.lower().endswith(DATA_SUFFIXES):
        return None
    return key, parts[1], parts[2]


# --- Dagster GraphQL ----------------------------------------------------------------------------


def call_dagster(settings: Settings, query: str, variables: dict) -> dict:
    """POST one GraphQL request; TransientError when asking again may help, RefusedError when not."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(settings.graphql_url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:
            reply = json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 401:
            _tokens.clear()  # the token may have been rotated: the next invocation reads it again
        if error.code >= 500 or error.code in (408, 429):
            raise TransientError(f"HTTP {error.code}") from error
        raise RefusedError(f"HTTP {error.code}: {error.read()[:300]!r}") from error
    except (OSError, http.client.HTTPException) as error:  # refused, reset, DNS, timeout
        raise TransientError(f"{type(error).__name__}: {error}") from error
    except ValueError as error:
        raise RefusedError(f"not a GraphQL answer: {error}") from error
    if reply.get("errors"):
        raise RefusedError(f"GraphQL errors: {json.dumps(reply['errors'])[:300]}")
    return reply["data"]


def object_tags(obj: dict) -> list[dict]:
    """The run tags naming one object version: bucket, key and ETag."""
    return [{"key": f"{TAG_PREFIX}{name}", "value": obj[name]} for name in ("bucket", "key", "etag")]


def find_runs_variables(obj: dict) -> dict:
    """Variables of FIND_RUNS for one object version."""
    return {"filter": {"tags": object_tags(obj)}}


def launch_variables(location: str, job: str, obj: dict, landing_key: str, source: str, entity: str) -> dict:
    """Variables of LAUNCH_RUN: the job for one file, only its asset selected, tagged with the object."""
    return {
        "executionParams": {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": "__repository__",
                "jobName": job,
                "assetSelection": [{"path": ["raw", f"{source}__{entity}"]}],
            },
            "runConfigData": {"ops": {f"raw__{source}__{entity}": {"config": {"object_keys": [landing_key]}}}},
            "executionMetadata": {"tags": [{"key": f"{TAG_PREFIX}trigger", "value": "s3_lambda"}, *object_tags(obj)]},
        }
    }


# A run that ended like this did not load the file: the object is launched again, not a duplicate.
UNFINISHED_BUSINESS = ("FAILURE", "CANCELED")


def existing_run(settings: Settings, obj: dict) -> str | None:
    """The id of the latest run for this exact object version, unless it failed or was canceled."""
    reply = call_dagster(settings, FIND_RUNS, find_runs_variables(obj))["runsOrError"]
    if reply["__typename"] != "Runs":
        raise RefusedError(f"run lookup failed: {reply.get('message', reply['__typename'])}")
    latest = reply["results"][0] if reply["results"] else None
    return latest["runId"] if latest and latest["status"] not in UNFINISHED_BUSINESS else None


def launch_run(settings: Settings, obj: dict, landing_key: str, source: str, entity: str) -> str:
    """Launch the ingestion job for one file, only its asset selected; return the run id."""
    variables = launch_variables(settings.location, settings.job, obj, landing_key, source, entity)
    reply = call_dagster(settings, LAUNCH_RUN, variables)["launchRun"]
    if reply["__typename"] != "LaunchRunSuccess":
        raise RefusedError(f"{reply['__typename']}: {json.dumps(reply)[:300]}")
    return reply["run"]["runId"]


def launch_once(settings: Settings, obj: dict, target: tuple[str, str, str]) -> tuple[str, str]:
    """(run id, "launched" or "duplicate"), retrying transient errors with exponential backoff.

    Each attempt looks for an existing run first: a launch whose answer was lost (a timeout after
    Dagster created the run) is then found instead of launched twice.
    """
    for attempt in range(1, settings.max_attempts + 1):
        try:
            run_id = existing_run(settings, obj)
            if run_id:
                return run_id, "duplicate"
            return launch_run(settings, obj, *target), "launched"
        except TransientError as error:
            if attempt == settings.max_attempts:
                raise TransientError(f"{error} (after {attempt} attempts)") from error
            delay = settings.backoff_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)
            log(
                logging.WARNING,
                "dagster request failed, retrying",
                key=obj["key"],
                attempt=attempt,
                retry_in_s=round(delay, 3),
                error=str(error),
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


# --- the handler --------------------------------------------------------------------------------


class _Batch:
    """State shared by the objects of one invocation."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.runs: dict[tuple, str] = {}  # the same object twice in one batch launches once
        self.unreachable: str | None = None  # after retries ran out, skip the wait for the rest

    def handle(self, obj: dict) -> dict:
        if "unreadable" in obj:
            return {"status": "failed", "error": f"unreadable message: {obj['unreadable']}"}
        target = landing_target(obj["key"], self.settings.key_prefix)
        if target is None:
            return {**obj, "status": "ignored", "reason": "not a data file in the landing zone"}
        identity = (obj["bucket"], obj["key"], obj["etag"])
        if identity in self.runs:
            return {**obj, "status": "duplicate", "run_id": self.runs[identity]}
        if self.unreachable:
            return {**obj, "status": "failed", "error": f"not attempted: {self.unreachable}", "retryable": True}
        try:
            run_id, status = launch_once(self.settings, obj, target)
        except TransientError as error:
            self.unreachable = f"Dagster unreachable: {error}"
            return {**obj, "status": "failed", "error": str(error), "retryable": True}
        except RefusedError as error:
            return {**obj, "status": "failed", "error": str(error), "retryable": False}
        self.runs[identity] = run_id
        return {**obj, "status": status, "run_id": run_id, "source": target[1], "entity": target[2]}


def handler(event: dict, context=None) -> dict:
    """Lambda entry point: launch a run per new landing file; report failures for redelivery."""
    batch = _Batch(Settings.from_env())
    units, from_sqs = deliveries(event)
    results, failures = [], []
    for item_id, objects in units:
        outcomes = [batch.handle(obj) for obj in objects]
        for outcome in outcomes:
            level = logging.ERROR if outcome["status"] == "failed" else logging.INFO
            log(level, f"object {outcome['status']}", item=item_id, **outcome)
        results.extend(outcomes)
        if any(o["status"] == "failed" for o in outcomes):
            failures.append({"itemIdentifier": item_id})
    report = {"batchItemFailures": failures, "results": results}
    log(
        logging.INFO,
        "batch done",
        objects=len(results),
        failed=len(failures),
        request_id=getattr(context, "aws_request_id", None),
    )
    if failures and not from_sqs:
        raise LaunchFailed(report)
    return report
