"""`pulseops up` after a run in which an asset failed: both UIs still come up, the terminal names
the failed asset and where to look, and the Data Health dashboard shows the failure."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import psycopg
import pytest

from tests.conftest import PipelineRun
from tests.small_portfolios import NEW_CUSTOMER, demo_frames, write_frames
from tests.superset_support import SupersetApi
from tests.support import REPO, free_port, query, throwaway_database

pytestmark = pytest.mark.filterwarnings("ignore")
READY_LINE = "Press Ctrl-C to stop."
UP_TIMEOUT_S = 900


def _lines(process: subprocess.Popen) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _read_until_ready(process: subprocess.Popen, lines: queue.Queue) -> str:
    seen, deadline = [], time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if READY_LINE in line:
            return "".join(seen)
    raise AssertionError(f"pulseops up did not come up (exit {process.poll()}):\n{''.join(seen)[-6000:]}")


def _answers(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


@pytest.fixture(scope="module")
def up_after_a_failure(tmp_path_factory):
    state = tmp_path_factory.mktemp("up-state")
    with throwaway_database() as url:
        run = PipelineRun("up", {"PULSEOPS_HOME": str(state), "DATABASE_URL": url})
        with run.activate():
            write_frames(run, demo_frames(NEW_CUSTOMER)[0])
        # Something in the way of one asset's table, as a hand-made view in a shared warehouse
        # would be: the health asset cannot replace a view with its table, and fails.
        with psycopg.connect(url) as conn:
            conn.execute("create schema ml")
            conn.execute("create view ml.client_health as select 'someone else''s' as owner")
        ports = {"dagster": free_port(), "superset": free_port()}
        env = {
            **os.environ,
            **run.env,
            "PYTHONPATH": str(REPO),
            "PULSEOPS_SUPERSET_VENV": os.environ.get("PULSEOPS_SUPERSET_VENV", str(REPO / ".venv-superset")),
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pulseops_cli.main",
                "up",
                "--dagster-port",
                str(ports["dagster"]),
                "--superset-port",
                str(ports["superset"]),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines = _lines(process)
        try:
            output = _read_until_ready(process, lines)
            yield {
                "output": output,
                "url": url,
                "state": state,
                "process": process,
                "dagster": f"http://127.0.0.1:{ports['dagster']}",
                "superset": f"http://127.0.0.1:{ports['superset']}",
            }
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


def test_both_uis_serve_after_a_run_with_a_failed_asset(up_after_a_failure):
    assert _answers(f"{up_after_a_failure['dagster']}/server_info") == 200
    assert _answers(f"{up_after_a_failure['superset']}/health") == 200


def test_the_terminal_names_the_failed_asset_and_where_to_look(up_after_a_failure):
    output = up_after_a_failure["output"]
    assert "ml/client_health: " in output and "is not a table" in output
    assert "The last run failed in: ml/client_health." in output
    run_id = query(
        up_after_a_failure["url"], "select dagster_run_id from raw._pipeline_step_outcomes where not succeeded"
    )[0][0]
    assert f"{up_after_a_failure['dagster']}/runs/{run_id}" in output
    assert f"{up_after_a_failure['superset']}/superset/dashboard/data-health/" in output


def test_data_health_shows_the_failure_and_the_other_models_states(up_after_a_failure):
    password = (up_after_a_failure["state"] / "secrets" / "superset_admin_password").read_text().strip()
    api = SupersetApi(up_after_a_failure["superset"], "admin", password)
    charts = {c["slice_name"]: c["id"] for c in api.dashboard_charts("data-health")}
    failed = api.chart_data(charts["Failed check details"])
    steps = [row for row in failed if row["check_name"] == "pipeline_step_succeeded"]
    assert [row["source_entity"] for row in steps] == ["ml/client_health"]
    assert "is not a table" in steps[0]["detail"]
    assert api.chart_data(charts["Failed checks"])[0]["failed_checks"] >= 1
    # The models that ran still say what they did; the failed one has no row of its own.
    models = {row["model_name"]: row["state"] for row in api.chart_data(charts["Models: trained or waiting for data"])}
    assert models == {
        "Churn risk": "not trained",
        "Spend anomalies": "computed",
        "Spend forecast": "not trained",
        "Recommendations": "computed",
    }


def test_up_exits_non_zero_once_stopped_after_a_failed_run(up_after_a_failure):
    process = up_after_a_failure["process"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(120) == 1
