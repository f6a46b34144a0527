"""Scheduled reports and asynchronous chart queries on the scaled-out Superset tier.

Everything is real: Superset's web server, its Celery worker and beat on the Redis at
127.0.0.1:6379, a warehouse the real pipeline filled, Debian's chromium rendering the report, and
an SMTP server (aiosmtpd) receiving the mail. A Client Review report is scheduled from a
configuration file with the operator's command; beat finds it due, the worker renders it as the
client's own viewer user and mails the PDF, whose text (read back with OCR: Superset's PDF holds
page images) must show that client's figures and no other client's name.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from superset_config import access
from superset_config.client_logins import add_client_login
from superset_config.report_schedules import (
    ReportConfigError,
    Schedule,
    apply,
    client_review_name,
)
from superset_config.rest import SupersetClient
from tests.superset_support import SupersetApi, start_superset
from tests.support import free_port, query, scalar

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parent.parent
# A Redis database of the machine's server for these tests; this Superset's keys carry its own prefix.
REDIS_URL = "redis://127.0.0.1:6379/11"
# beat checks every minute; the worker then opens the dashboard in chromium and waits for its charts
REPORT_TIMEOUT_S = 420
VIEWER = "report-client-viewer"
CONTACTS = ["it-lead@client.invalid", "finance@client.invalid"]


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append((list(envelope.rcpt_tos), message))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, subject_part: str, timeout: float, explain) -> tuple[list[str], email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for recipients, message in self.messages:
                    if subject_part in message["Subject"]:
                        return recipients, message
                if time.monotonic() > deadline:
                    raise AssertionError(f"no mail with {subject_part!r} after {timeout} s; {explain()}")
                self.arrived.wait(5)


@pytest.fixture(scope="module")
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def superset(embedded_pipeline, inbox, tmp_path_factory):
    """The production setting: Redis caches and broker, worker and beat, asynchronous chart queries."""
    analyst_password = (Path(embedded_pipeline.env["PULSEOPS_HOME"]) / "secrets" / "analyst_password").read_text()
    server = start_superset(
        tmp_path_factory.mktemp("superset-reports"),
        embedded_pipeline.database_url,
        analyst_password=analyst_password.strip(),
        extra_env={
            "SUPERSET_CACHE_REDIS_URL": REDIS_URL,
            "PULSEOPS_SUPERSET_ASYNC_QUERIES": "on",
            "PULSEOPS_SUPERSET_WORKERS": "2",
            "SUPERSET_SMTP_HOST": "127.0.0.1",
            "SUPERSET_SMTP_PORT": str(inbox[1]),
            "SUPERSET_SMTP_STARTTLS": "false",
        },
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(superset) -> SupersetApi:
    return SupersetApi.for_server(superset)


@pytest.fixture(scope="module")
def client(embedded_pipeline) -> tuple[str, str, float]:
    """The second-biggest client (never the first one in a list): id, name, MRR."""
    client_id, name, mrr = query(
        embedded_pipeline.database_url,
        "select client_id, client_name, current_mrr "
        "from marts.clients order by current_mrr desc, client_id limit 1 offset 1",
    )[0]
    return client_id, name, float(mrr)


@pytest.fixture(scope="module")
def viewer(superset, embedded_pipeline, client) -> SupersetApi:
    operator = SupersetClient(superset.url, superset.admin_username, superset.admin_password)
    login = add_client_login(
        operator, embedded_pipeline.database_url, superset.client_login_key, client[0], VIEWER, "viewer@client.invalid"
    )
    return SupersetApi(superset.url, VIEWER, login.password)


def async_chart_rows(session: SupersetApi, chart_id: int, timeout: float = 120) -> tuple[int, list[dict]]:
    """A chart's rows the way the browser gets them with asynchronous queries: the first answer's
    status (202: queued on the worker; 200: from the cache), then the job's events and result."""
    response = session.session.get(f"{session.base_url}/api/v1/chart/{chart_id}/data/", timeout=60)
    assert response.status_code in (200, 202), response.text[:500]
    if response.status_code == 200:
        return 200, [row for result in response.json()["result"] for row in result["data"]]
    job = response.json()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in session.get("/api/v1/async_event/", last_id="0")["result"]:
            if event["job_id"] != job["job_id"]:
                continue
            assert event["status"] != "error", event["errors"]
            if event["status"] == "done":
                result = session.get(event["result_url"].removeprefix(session.base_url))["result"]
                return 202, [row for item in result for row in item["data"]]
        time.sleep(0.5)
    raise AssertionError(f"chart {chart_id}: asynchronous job {job['job_id']} not done after {timeout} s")


def test_a_client_viewers_chart_queries_run_on_the_worker_and_see_its_rows_only(
    admin, viewer, client, embedded_pipeline
):
    client_id, name, mrr = client
    charts = {c["slice_name"]: c["id"] for c in admin.dashboard_charts(access.CLIENT_DASHBOARD)}
    status, profile = async_chart_rows(viewer, charts["Client"])
    assert status == 202, "the query was queued for the Celery worker"
    assert [row["client_name"] for row in profile] == [name]
    _, (row,) = async_chart_rows(viewer, charts["Monthly recurring revenue"])
    assert row["current_mrr"] == pytest.approx(mrr)
    _, services = async_chart_rows(viewer, charts["Services and licences"])
    assert len(services) == scalar(
        embedded_pipeline.database_url, "select count(*) from marts.agreements where client_id = %s", (client_id,)
    )
    # the same chart for the admin, also through the worker, holds every client's rows
    _, everyone = async_chart_rows(admin, charts["Client"])
    assert len(everyone) == scalar(embedded_pipeline.database_url, "select count(*) from marts.clients")


def test_a_scheduled_client_review_mails_a_pdf_of_that_clients_rows_only(
    superset, admin, viewer, client, inbox, embedded_pipeline, tmp_path
):
    client_id, name, mrr = client
    config = tmp_path / "reports.yaml"
    config.write_text(
        "timezone: UTC\n"
        "client_reviews:\n"
        "  crontab: '* * * * *'\n"  # due at every minute's check, so beat sends it now
        "  format: PDF\n"
        "  clients:\n"
        f"    {client_id}:\n"
        f"      viewer: {VIEWER}\n"
        f"      recipients: [{', '.join(CONTACTS)}]\n"
    )
    password_file = tmp_path / "admin-password"
    password_file.write_text(superset.admin_password)
    command = [
        sys.executable,
        "-m",
        "superset_config.report_schedules",
        "--config",
        str(config),
        "--url",
        superset.url,
        "--password-file",
        str(password_file),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    made = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, check=False)
    assert made.returncode == 0, made.stderr
    (report,) = admin.list("report", name=client_review_name(client_id))
    detail = admin.get(f"/api/v1/report/{report['id']}")["result"]
    assert [owner["id"] for owner in detail["owners"]] == [admin.list("security/users", username=VIEWER)[0]["id"]]
    # a rerun of the command updates the schedule, never adds a second one
    subprocess.run(command, env=env, capture_output=True, timeout=120, cwd=REPO_ROOT, check=True)
    assert len(admin.list("report", name=client_review_name(client_id))) == 1

    def report_log() -> str:
        logs = admin.get(f"/api/v1/report/{report['id']}/log/")["result"]
        return f"report log: {[(log['state'], log['error_message']) for log in logs]}"

    try:
        recipients, message = inbox[0].wait_for(client_review_name(client_id), REPORT_TIMEOUT_S, report_log)
    finally:
        admin.put(f"/api/v1/report/{report['id']}", {"active": False})
    assert sorted(recipients) == sorted(CONTACTS)
    # Superset attaches the PDF under the report's name (as application/octet-stream)
    (attachment,) = [
        part for part in message.iter_attachments() if (part.get_filename() or "").strip("'\"").endswith(".pdf")
    ]
    pdf = tmp_path / "review.pdf"
    pdf.write_bytes(attachment.get_content())
    assert pdf.read_bytes().startswith(b"%PDF")
    text = re.sub(r"\s+", " ", pdf_text(pdf))
    (tmp_path / "review.txt").write_text(text)
    assert shows(text, name), f"the client's name is missing from the report: {text[:3000]}"
    # the MRR tile ($,.0f): digits grouped by commas, which OCR may read as spaces
    numbers = re.sub(r"(?<=\d)[,. ](?=\d{3}(?!\d))", "", text)
    assert re.search(rf"(?<!\d){round(mrr)}(?!\d)", numbers), f"MRR {mrr:,.0f} missing from the report: {text[:3000]}"
    others = {
        other
        for (other,) in query(
            embedded_pipeline.database_url, "select client_name from marts.clients where client_id <> %s", (client_id,)
        )
    }
    assert len(others) >= 20
    assert sorted(other for other in others if shows(text, other) and not shows(name, other)) == []


def shows(text: str, name: str) -> bool:
    """Whether a client name stands in the text as a whole (\"Acme Dental\" is not in \"Acme Dental 2\")."""
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, re.IGNORECASE) is not None


def pdf_text(pdf: Path) -> str:
    """The text of a PDF whose pages are images, read by OCR at the page's own size (where large
    numbers read best) and at twice it (where small table text does)."""
    texts = []
    for dpi in (72, 144):
        prefix = pdf.parent / f"{pdf.stem}-{dpi}"
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, timeout=120)
        pages = sorted(pdf.parent.glob(f"{prefix.name}-*.png"))
        assert pages, "the PDF has no page"
        texts += [
            subprocess.run(
                ["tesseract", str(page), "stdout"], check=True, capture_output=True, text=True, timeout=300
            ).stdout
            for page in pages
        ]
    return "\n".join(texts)


def test_a_weekly_dashboard_report_goes_to_every_active_member_of_its_roles(superset, admin):
    admin.add_user("report-msp-analyst", access.MSP_ANALYST)  # e-mail report-msp-analyst@pulseops.invalid
    admin.add_user("report-it-manager", access.IT_MANAGER)
    operator = SupersetClient(superset.url, superset.admin_username, superset.admin_password)
    schedule = Schedule(
        name="Weekly MSP portfolio",
        dashboard=access.MSP_DASHBOARD,
        crontab="0 7 * * 1",
        timezone="UTC",
        report_format="PDF",
        owner=superset.admin_username,
        recipients=("owner@msp.invalid",),
        roles=(access.MSP_ANALYST,),
    )
    report_id = apply(operator, [schedule])[schedule.name]
    detail = admin.get(f"/api/v1/report/{report_id}")["result"]
    admin.put(f"/api/v1/report/{report_id}", {"active": False})
    (recipient,) = detail["recipients"]
    config = recipient["recipient_config_json"]
    config = json.loads(config) if isinstance(config, str) else config
    assert sorted(config["target"].split(", ")) == ["owner@msp.invalid", "report-msp-analyst@pulseops.invalid"]
    assert (detail["crontab"], detail["report_format"], detail["type"]) == ("0 7 * * 1", "PDF", "Report")
    with pytest.raises(ReportConfigError, match="role 'No Such Role' does not exist"):
        apply(operator, [Schedule(**{**schedule.__dict__, "roles": ("No Such Role",)})])
