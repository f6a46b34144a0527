"""The S3 -> Dagster Lambda, run in process against a real `dagster dev` webserver and a real warehouse.

Only the AWS control plane is stood in for: the Lambda service, S3's event delivery and SQS cannot run
here, so the handler is called directly with events of AWS's documented shapes (tests/data/*.json)
and the test plays SQS's part (redelivering what the handler reports as failed). S3 and Secrets
Manager (the gateway token) are moto_server; Dagster is real, with the run coordinator of the AWS
instance (infra/run_tag_policy.py), and so are its runs and the rows they load. The launch gateway
(infra/launch_gateway.py) is a real process in front of it. A loopback HTTP server in front of Dagster
fails on purpose, to count retries.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from infra import lambda_handler
from pulseops_cli.dagster_home import DAGSTER_YAML
from tests.support import REPO, environment, free_port, make_bucket, s3_environment, scalar, throwaway_database

DATA = Path(__file__).parent / "data"
BUCKET = "pulseops-lambda"


@dataclass
class Stack:
    dagster_url: str
    database_url: str
    s3: object
    landing: dict[str, pd.DataFrame]

    @property
    def graphql_url(self) -> str:
        return f"{self.dagster_url}/graphql"

    def put(self, key: str, entity: str) -> str:
        """Upload an entity's demo rows under `key`; return the object's ETag."""
        # the demo's own landing format (ingestion.demo.write_to_landing), which the contracts accept
        body = self.landing[entity].to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S").encode()
        return self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"].strip('"')


@pytest.fixture(scope="module")
def stack(s3_endpoint, tmp_path_factory):
    """One `dagster dev` for the module: it takes ~30 s and ~850 MB to start."""
    from ingestion.demo import SCALES, generate
    from pulseops_cli.dagster_service import start_dagster

    client = make_bucket(s3_endpoint, BUCKET)
    landing = generate(SCALES["XS"], date(2026, 11, 25))[0]
    state = tmp_path_factory.mktemp("lambda-state")
    # The local instance, with the run coordinator the AWS instance uses (infra/dagster/dagster.yaml).
    (state / "dagster").mkdir()
    (state / "dagster" / "dagster.yaml").write_text(
        DAGSTER_YAML.replace(
            "module: dagster._core.run_coordinator\n  class: QueuedRunCoordinator",
            "module: infra.run_tag_policy\n  class: NoEcsTagsRunCoordinator",
        )
    )
    assert "NoEcsTagsRunCoordinator" in (state / "dagster" / "dagster.yaml").read_text()
    with throwaway_database() as url:
        env = {
            "PULSEOPS_HOME": str(state),
            "DATABASE_URL": url,
            **s3_environment(s3_endpoint, BUCKET),
            "PYTHONPATH": str(REPO),
        }
        dagster = start_dagster(state, free_port(), env=env)
        try:
            stack = Stack(dagster.url, url, client, landing)
            stop_landing_sensor(stack)
            yield stack
        finally:
            dagster.stop()


@dataclass
class Gateway:
    url: str
    token: str
    token_secret_arn: str


@pytest.fixture(scope="module")
def gateway(stack, s3_endpoint):
    """The launch gateway as a real process in front of Dagster; its token in (moto) Secrets Manager."""
    import boto3

    token = secrets.token_urlsafe(36)
    # moto accepts any credentials; these are not secrets of any real account
    client = boto3.client(
        "secretsmanager",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    arn = client.create_secret(Name=f"gateway-token-{uuid.uuid4().hex[:8]}", SecretString=token)["ARN"]
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PULSEOPS_GATEWAY_TOKEN": token,
        "PULSEOPS_GATEWAY_UPSTREAM": stack.graphql_url,
        "PULSEOPS_GATEWAY_HOST": "127.0.0.1",
        "PULSEOPS_GATEWAY_PORT": str(port),
        "PULSEOPS_S3_BUCKET": BUCKET,
        "DAGSTER_LOCATION": "pulseops",
        "DAGSTER_JOB": "ingest_job",
    }
    process = subprocess.Popen([sys.executable, str(REPO / "infra" / "launch_gateway.py")], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.2)
        with environment(
            AWS_ENDPOINT_URL_SECRETS_MANAGER=s3_endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        ):
            yield Gateway(f"{url}/graphql", token, arn)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # a machine too busy to let it stop in time
            process.kill()
            process.wait()


# --- events of AWS's documented shapes -----------------------------------------------------------


def s3_notification(*objects: tuple[str, str], bucket: str = BUCKET) -> dict:
    """An S3 event notification with one record per (key, etag); keys URL-encoded as S3 does."""
    template = json.loads((DATA / "s3_object_created_event.json").read_text())["Records"][0]
    records = []
    for key, etag in objects:
        record = copy.deepcopy(template)
        record["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
        record["s3"]["object"].update(key=urllib.parse.quote_plus(key, safe="/"), eTag=etag)
        records.append(record)
    return {"Records": records}


def eventbridge_event(key: str, etag: str, bucket: str = BUCKET) -> dict:
    text = (DATA / "eventbridge_object_created_event.json").read_text()
    event = json.loads(text.replace("BUCKET", bucket).replace("ETAG", etag))
    event["detail"]["object"]["key"] = key
    return event


def sqs_batch(*bodies: dict) -> dict:
    """An SQS event whose messages carry the given S3 / EventBridge events, as S3 -> SQS delivers them."""
    template = json.loads((DATA / "sqs_message_event.json").read_text())["Records"][0]
    return {"Records": [{**template, "messageId": str(uuid.uuid4()), "body": json.dumps(body)} for body in bodies]}


# --- Dagster as the tests see it -----------------------------------------------------------------


def graphql(url: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps({"query": query, "variables": variables}).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["data"]
    except urllib.error.HTTPError as error:  # Dagster answers a PythonError result with HTTP 500
        return json.loads(error.read())["data"]


def stop_landing_sensor(stack: Stack) -> None:
    """The landing sensor would load the same files; stopped, every row is owed to a Lambda-launched run."""
    find = "query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { id } } }"
    stop = """mutation($id: String) { stopSensor(id: $id) {
                ... on StopSensorMutationResult { instigationState { status } } } }"""
    selector = {
        "repositoryName": "__repository__",
        "repositoryLocationName": "pulseops",
        "sensorName": "landing_sensor",
    }
    sensor = graphql(stack.graphql_url, find, {"s": selector})["sensorOrError"]
    stopped = graphql(stack.graphql_url, stop, {"id": sensor["id"]})["stopSensor"]
    assert stopped["instigationState"]["status"] == "STOPPED"


def runs_for(stack: Stack, key: str) -> list[dict]:
    """Every run Dagster knows for this landing key, whatever launched it."""
    query = """query($filter: RunsFilter) { runsOrError(filter: $filter) {
                 ... on Runs { results { runId status tags { key value } } } } }"""
    return graphql(stack.graphql_url, query, {"filter": {"tags": [{"key": "pulseops/key", "value": key}]}})[
        "runsOrError"
    ]["results"]


def wait_for_run(stack: Stack, run_id: str, timeout: float = 300) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
    deadline = time.monotonic() + timeout
    while True:
        status = graphql(stack.graphql_url, query, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {status} after {timeout} s")
        time.sleep(1)


def invoke(event: dict, graphql_url: str, **env: str) -> dict:
    settings = {
        "DAGSTER_GRAPHQL_URL": graphql_url,
        "DAGSTER_LOCATION": "pulseops",
        "DAGSTER_BACKOFF_SECONDS": "0.05",
        "DAGSTER_TIMEOUT_SECONDS": "30",
        "PULSEOPS_S3_PREFIX": None,
    }
    with environment(**{**settings, **env}):
        return lambda_handler.handler(event, None)


@contextmanager
def flaky_endpoint(upstream: str | None, refuse: set[int] = frozenset(), lose: set[int] = frozenset()):
    """A loopback GraphQL endpoint in front of Dagster. Request n (from 1) is answered 503 without
    being forwarded when n is in `refuse`, forwarded but answered 503 when n is in `lose` (Dagster acted,
    the answer got lost), else forwarded; without an upstream every request gets 503.
    Yields an object counting the requests and keeping their headers."""
    seen = type("Seen", (), {"requests": 0, "headers": []})()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.requests += 1
            seen.headers.append(dict(self.headers))
            status, reply = 503, b"Service Unavailable"
            if upstream and seen.requests not in refuse:
                request = urllib.request.Request(
                    upstream,
                    body,
                    {"Content-Type": "application/json", "Authorization": self.headers.get("Authorization", "")},
                )
                with urllib.request.urlopen(request, timeout=30) as response:
                    if seen.requests not in lose:
                        status, reply = response.status, response.read()
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen.url = f"http://127.0.0.1:{server.server_port}/graphql"
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


# --- against a real Dagster ----------------------------------------------------------------------


def test_s3_notification_launches_one_run_and_a_repeat_starts_none(stack, gateway):
    key = "landing/psa/clients/clients 2026-11-25.csv"  # a space: S3 notifications URL-encode keys
    etag = stack.put(key, "psa/clients")
    event = s3_notification((key, etag), ("exports/readme.txt", "x"), ("landing/psa/clients/_SUCCESS", "y"))

    # as deployed: through the launch gateway, with the token read from Secrets Manager
    reply = invoke(event, gateway.url, DAGSTER_TOKEN_SECRET_ARN=gateway.token_secret_arn)

    assert reply["batchItemFailures"] == []
    launched, outside, marker = reply["results"]
    assert (launched["status"], launched["key"], launched["source"], launched["entity"]) == (
        "launched",
        key,
        "psa",
        "clients",
    )
    assert outside["status"] == marker["status"] == "ignored"
    # S3 delivers at least once: the same event again, and the object twice in one batch
    again = invoke(
        s3_notification((key, etag), (key, etag)), gateway.url, DAGSTER_TOKEN_SECRET_ARN=gateway.token_secret_arn
    )
    assert [(r["status"], r["run_id"]) for r in again["results"]] == [("duplicate", launched["run_id"])] * 2

    assert wait_for_run(stack, launched["run_id"]) == "SUCCESS"
    runs = runs_for(stack, key)
    assert [r["runId"] for r in runs] == [launched["run_id"]]
    assert {"key": "pulseops/bucket", "value": BUCKET} in runs[0]["tags"]
    assert {"key": "pulseops/etag", "value": etag} in runs[0]["tags"]
    assert scalar(stack.database_url, "select count(*) from raw.psa__clients") == len(stack.landing["psa/clients"])


def test_an_object_whose_run_was_canceled_is_launched_again(stack, gateway):
    """A run that did not load the file (canceled here, as an operator would, or failed) is no
    duplicate: the same object version is launched again, and its rows land once."""
    key = "landing/hr/employees/employees relaunched.csv"  # an entity no other test here counts
    etag = stack.put(key, "hr/employees")
    event = s3_notification((key, etag))
    (first,) = invoke(event, gateway.url, DAGSTER_TOKEN_SECRET_ARN=gateway.token_secret_arn)["results"]
    graphql(
        stack.graphql_url, "mutation($id: String!) { terminateRun(runId: $id) { __typename } }", {"id": first["run_id"]}
    )
    assert wait_for_run(stack, first["run_id"]) == "CANCELED"

    (again,) = invoke(event, gateway.url, DAGSTER_TOKEN_SECRET_ARN=gateway.token_secret_arn)["results"]

    assert again["status"] == "launched" and again["run_id"] != first["run_id"]
    assert wait_for_run(stack, again["run_id"]) == "SUCCESS"
    assert scalar(
        stack.database_url,
        "select count(*) from raw.hr__employees e join raw._ingestion_ledger l "
        "on l.file_id = e._file_id where l.file_key = %s",
        (key,),
    ) == len(stack.landing["hr/employees"])


def test_transient_errors_are_retried_without_ever_launching_twice(stack, gateway):
    key = "landing/saas/applications/applications.csv"
    batch = sqs_batch(eventbridge_event(key, stack.put(key, "saas/applications")))

    # 1: lookup refused (503); 2: lookup, nothing yet; 3: launch reaches Dagster but its answer is lost;
    # 4: lookup again finds the run that 3 created
    with flaky_endpoint(gateway.url, refuse={1}, lose={3}) as endpoint:
        reply = invoke(batch, endpoint.url, DAGSTER_TOKEN_SECRET_ARN=gateway.token_secret_arn)

    assert reply["batchItemFailures"] == []
    (result,) = reply["results"]
    assert endpoint.requests == 4
    assert [r["runId"] for r in runs_for(stack, key)] == [result["run_id"]]
    assert all(h.get("Authorization") == f"Bearer {gateway.token}" for h in endpoint.headers)
    assert wait_for_run(stack, result["run_id"]) == "SUCCESS"
    assert scalar(stack.database_url, "select count(*) from raw.saas__applications") == len(
        stack.landing["saas/applications"]
    )


def test_a_definite_refusal_is_not_retried_and_fails_only_its_message(stack):
    unknown = s3_notification(("landing/nosuch/things/things.csv", "e"))  # no contract, so no asset
    batch = sqs_batch(unknown, {"Service": "Amazon S3", "Event": "s3:TestEvent"})

    with flaky_endpoint(stack.graphql_url) as endpoint:
        reply = invoke(batch, endpoint.url)

    assert reply["batchItemFailures"] == [{"itemIdentifier": batch["Records"][0]["messageId"]}]
    (refused,) = reply["results"]
    assert (refused["status"], refused["retryable"]) == ("failed", False)
    assert endpoint.requests == 2  # the run lookup and the refused launch, each asked once


def test_dagster_down_fails_the_messages_and_redelivery_loads_them(stack):
    keys = {
        "landing/psa/agreements/agreements.csv": "psa/agreements",
        "landing/saas/subscriptions/subscriptions.csv": "saas/subscriptions",
    }
    batch = sqs_batch(*(s3_notification((key, stack.put(key, entity))) for key, entity in keys.items()))

    with flaky_endpoint(None) as endpoint:
        reply = invoke(batch, endpoint.url, DAGSTER_MAX_ATTEMPTS="3")

    assert reply["batchItemFailures"] == [{"itemIdentifier": r["messageId"]} for r in batch["Records"]]
    assert [r["status"] for r in reply["results"]] == ["failed", "failed"]
    # three attempts for the first object; the second is not tried against an endpoint known to be down
    assert endpoint.requests == 3
    assert all(runs_for(stack, key) == [] for key in keys)

    # SQS redelivers exactly the failed messages once Dagster answers again
    failed = {f["itemIdentifier"] for f in reply["batchItemFailures"]}
    redelivered = {"Records": [r for r in batch["Records"] if r["messageId"] in failed]}
    retry = invoke(redelivered, stack.graphql_url)

    assert retry["batchItemFailures"] == []
    assert [r["status"] for r in retry["results"]] == ["launched", "launched"]
    for result in retry["results"]:
        assert wait_for_run(stack, result["run_id"]) == "SUCCESS"
    for entity in keys.values():
        table = "raw." + entity.replace("/", "__")
        assert scalar(stack.database_url, f"select count(*) from {table}") == len(stack.landing[entity])


def all_run_ids(stack: Stack) -> set[str]:
    reply = graphql(stack.graphql_url, "{ runsOrError { ... on Runs { results { runId } } } }", {})
    return {r["runId"] for r in reply["runsOrError"]["results"]}


def post(url: str, body: dict | bytes, token: str | None, method: str = "POST") -> int:
    """The HTTP status the gateway answers."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data if method == "POST" else None, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_gateway_forwards_only_the_ingestion_launch(stack, gateway):
    key = "landing/psa/tickets/tickets.csv"
    obj = {"bucket": BUCKET, "key": key, "etag": stack.put(key, "psa/tickets")}
    launch = {
        "query": lambda_handler.LAUNCH_RUN,
        "variables": lambda_handler.launch_variables("pulseops", "ingest_job", obj, key, "psa", "tickets"),
    }

    def changed(edit) -> dict:
        request = copy.deepcopy(launch)
        edit(request["variables"]["executionParams"])
        return request

    other_graphql = [
        # the launch mutation asking for ECS task overrides, another role, more memory
        changed(
            lambda p: p["executionMetadata"]["tags"].append(
                {"key": "ecs/task_overrides", "value": json.dumps({"taskRoleArn": "arn:aws:iam::1:role/admin"})}
            )
        ),
        changed(lambda p: p["executionMetadata"]["tags"].append({"key": "ecs/memory", "value": "30720"})),
        changed(lambda p: p["executionMetadata"]["tags"].append({"key": "team", "value": "x"})),
        # another job, another asset, another file, another bucket
        changed(lambda p: p["selector"].update(jobName="__ASSET_JOB")),
        changed(lambda p: p["selector"].update(assetSelection=[{"path": ["raw", "psa__clients"]}])),
        changed(
            lambda p: p["runConfigData"]["ops"]["raw__psa__tickets"]["config"].update(
                object_keys=["landing/psa/clients/clients 2026-11-25.csv"]
            )
        ),
        changed(lambda p: p["executionMetadata"]["tags"][1].update(value="someone-elses-bucket")),
        changed(lambda p: p.update(mode="default")),
        # the same mutation text with one more field asked for, a different mutation, queries
        {**launch, "query": lambda_handler.LAUNCH_RUN.replace("runId", "runId status", 1)},
        {"query": "mutation($id: String) { stopSensor(id: $id) { __typename } }", "variables": {"id": "x"}},
        {"query": 'mutation { deletePipelineRun(runId: "x") { __typename } }', "variables": {}},
        {"query": "{ runsOrError { ... on Runs { results { runId tags { key value } } } } }", "variables": {}},
        {"query": lambda_handler.FIND_RUNS, "variables": {"filter": {"statuses": ["SUCCESS"]}}},
        {**launch, "operationName": "LaunchRun"},
    ]
    before = all_run_ids(stack)

    assert [post(gateway.url, request, gateway.token) for request in other_graphql] == [403] * len(other_graphql)
    assert post(gateway.url, launch, None) == 401
    wrong_token = gateway.token[:-1] + ("y" if gateway.token.endswith("x") else "x")
    assert post(gateway.url, launch, wrong_token) == 401
    assert post(gateway.url, b"{not json", gateway.token) == 400
    assert post(gateway.url.replace("/graphql", "/graphql/"), launch, gateway.token) == 404
    assert post(gateway.url, launch, gateway.token, method="GET") == 405
    assert all_run_ids(stack) == before  # nothing reached Dagster's run storage

    # the one allowed request, as the trigger sends it, launches the file's run
    assert post(gateway.url, launch, gateway.token) == 200
    (launched,) = all_run_ids(stack) - before
    assert wait_for_run(stack, launched) == "SUCCESS"
    assert scalar(stack.database_url, "select count(*) from raw.psa__tickets") == len(stack.landing["psa/tickets"])


def test_dagster_refuses_runs_with_ecs_tags_from_any_caller(stack):
    """Signed-in people reach GraphQL directly: the instance's run coordinator refuses ecs/* tags."""
    key = "landing/psa/time_entries/time_entries.csv"
    obj = {"bucket": BUCKET, "key": key, "etag": stack.put(key, "psa/time_entries")}
    variables = lambda_handler.launch_variables("pulseops", "ingest_job", obj, key, "psa", "time_entries")
    tags = variables["executionParams"]["executionMetadata"]["tags"]
    tags.append({"key": "ecs/run_task_kwargs", "value": json.dumps({"launchType": "EC2"})})

    refused = graphql(stack.graphql_url, lambda_handler.LAUNCH_RUN, variables)["launchRun"]

    assert refused["__typename"] == "PythonError" and "ecs/run_task_kwargs" in refused["message"]
    (run,) = runs_for(stack, key)
    events = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status
                  eventConnection { events { __typename } } } } }"""
    refused_run = graphql(stack.graphql_url, events, {"id": run["runId"]})["runOrError"]
    kinds = {e["__typename"] for e in refused_run["eventConnection"]["events"]}
    assert refused_run["status"] == "FAILURE" and "RunFailureEvent" in kinds
    assert not kinds & {"RunEnqueuedEvent", "RunStartingEvent", "RunStartEvent", "ExecutionStepStartEvent"}, kinds

    # a re-execution copies the launcher's own bookkeeping tags from its parent: blanked, not refused
    tags[-1] = {"key": "ecs/cluster", "value": "arn:aws:ecs:us-east-1:123456789012:cluster/elsewhere"}
    launched = graphql(stack.graphql_url, lambda_handler.LAUNCH_RUN, variables)["launchRun"]

    assert launched["__typename"] == "LaunchRunSuccess"
    assert wait_for_run(stack, launched["run"]["runId"]) == "SUCCESS"
    rerun = next(r for r in runs_for(stack, key) if r["runId"] == launched["run"]["runId"])
    assert {"key": "ecs/cluster", "value": ""} in rerun["tags"]


# --- without Dagster -----------------------------------------------------------------------------


def test_direct_invocation_raises_so_lambda_retries_and_dead_letters(caplog):
    key = "landing/psa/tickets/t.csv"
    caplog.set_level(logging.INFO, logger="pulseops.lambda")

    with pytest.raises(lambda_handler.LaunchFailed) as failure:
        invoke(s3_notification((key, "e")), f"http://127.0.0.1:{free_port()}/graphql", DAGSTER_MAX_ATTEMPTS="3")

    assert failure.value.report["batchItemFailures"] == [{"itemIdentifier": key}]
    (result,) = failure.value.report["results"]
    assert (result["status"], result["retryable"]) == ("failed", True)
    lines = [json.loads(r.getMessage()) for r in caplog.records]
    assert [line["attempt"] for line in lines if line["message"] == "dagster request failed, retrying"] == [1, 2]
    assert any(line["level"] == "ERROR" and line.get("key") == key for line in lines)


@pytest.mark.parametrize(
    ("key", "prefix", "expected"),
    [
        ("landing/psa/tickets/t.csv", "", ("landing/psa/tickets/t.csv", "psa", "tickets")),
        ("landing/focus/costs/2026/11/c.csv.gz", "", ("landing/focus/costs/2026/11/c.csv.gz", "focus", "costs")),
        (
            "acme/landing/saas/subscriptions/s.parquet",
            "acme",
            ("landing/saas/subscriptions/s.parquet", "saas", "subscriptions"),
        ),
        # a file for a mapping profile lands in its folder; the run's load reads the profile from the key
        (
            "landing/psa/tickets/profile=connectwise/t.jsonl",
            "",
            ("landing/psa/tickets/profile=connectwise/t.jsonl", "psa", "tickets"),
        ),
        (
            "landing/m365/active_user_detail/profile=m365_graph/r.json",
            "",
            ("landing/m365/active_user_detail/profile=m365_graph/r.json", "m365", "active_user_detail"),
        ),
        ("landing/psa/tickets/t.csv", "acme", None),
        ("raw/psa/tickets/t.parquet", "", None),
        ("landing/psa/t.csv", "", None),
        ("landing/psa/tickets/", "", None),
        ("landing/psa/tickets/.DS_Store", "", None),
        ("landing/psa/tickets/t.csv.partial", "", None),
        ("landing/psa/tickets/notes.txt", "", None),
        (
            "landing/focus/costs/aws/cur/metadata/BILLING_PERIOD=2025-01/cur-Manifest.json",
            "",
            ("landing/focus/costs/aws/cur/metadata/BILLING_PERIOD=2025-01/cur-Manifest.json", "focus", "costs"),
        ),
        (
            "landing/focus/costs/azure/exports/focus/20250101-20250131/run-1/manifest.json",
            "",
            ("landing/focus/costs/azure/exports/focus/20250101-20250131/run-1/manifest.json", "focus", "costs"),
        ),
        # any JSON under landing is a delivery (JSON lines, or an API response read through a profile)
        ("landing/psa/tickets/export.json", "", ("landing/psa/tickets/export.json", "psa", "tickets")),
    ],
)
def test_keys_map_to_source_and_entity(key, prefix, expected):
    assert lambda_handler.landing_target(key, prefix) == expected


def test_both_event_forms_name_the_same_object():
    key = "landing/psa/clients/a+b c.csv"
    expected = [{"bucket": BUCKET, "key": key, "etag": "e"}]
    assert lambda_handler.s3_objects(s3_notification((key, "e"))) == expected
    assert lambda_handler.s3_objects(eventbridge_event(key, "e")) == expected


def test_a_rotated_token_is_read_again_after_the_gateway_refuses_the_old_one(stack, gateway):
    import boto3

    client = boto3.client("secretsmanager")  # moto_server, through the gateway fixture's environment
    stale = client.create_secret(Name=f"stale-{uuid.uuid4().hex[:8]}", SecretString=secrets.token_urlsafe(36))["ARN"]
    key = "landing/psa/invoices/invoices.csv"
    event = sqs_batch(s3_notification((key, stack.put(key, "psa/invoices"))))

    # a warm Lambda still holds the token from before the rotation: refused, not retried
    refused = invoke(event, gateway.url, DAGSTER_TOKEN_SECRET_ARN=stale)["results"][0]
    assert (refused["status"], refused["retryable"]) == ("failed", False) and "HTTP 401" in refused["error"]
    assert runs_for(stack, key) == []

    # the secret now holds the token the gateway was restarted with; the next invocation reads it again
    client.put_secret_value(SecretId=stale, SecretString=gateway.token)
    (launched,) = invoke(event, gateway.url, DAGSTER_TOKEN_SECRET_ARN=stale)["results"]

    assert launched["status"] == "launched"
    assert wait_for_run(stack, launched["run_id"]) == "SUCCESS"
