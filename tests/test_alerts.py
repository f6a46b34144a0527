"""Alerts from the pipeline, end to end: the real pipeline runs over two days of demo data on the
external PostgreSQL, with a real SMTP server and a real webhook receiver. Each recipient gets the
alerts its route asks for, once, with the figures the warehouse holds and a link to the dashboard;
re-runs and retries send nothing twice; a mail server or webhook that fails is retried, then
reported as a failed check while the run succeeds; secrets never reach logs or tables.

Day 1 is the S demo. Day 2 delivers a new day (tests/test_incremental.py's deliveries) with one
department's spend five times its usual on the new day, a clients file missing a required column
(quarantined), and no Microsoft 365 report for three days (its last load moved back in time).
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.alert_receivers import smtp_server, webhook_receiver
from tests.conftest import AS_OF, PipelineRun
from tests.support import environment, query, throwaway_database

SUPERSET = "https://bi.example.test"
DAGSTER = "https://dagster.example.test"
SMTP_USER = "alerts"
# Made-up values the test hands to the code as secrets, to find them if they leak.
SMTP_PASSWORD = "smtp-pw-4f1c9a7e0b"
SLACK_PATH = "/services/T000/B000/slack-token-77c1e2"
TEAMS_PATH = "/workflows/teams-sig-0d93aa51"
OWNER, ACCOUNT_MANAGER, IT_MANAGER = "owner@msp.example", "am@msp.example", "it@corp.example"
CFO = "cfo@msp.example"  # asks only for clients with more MRR at risk than any demo client has
MRR_AT_RISK_FLOOR = 300
BAD_CLIENTS_FILE = Path(__file__).parent / "data" / "bad_inputs" / "missing_column.csv"  # lacks `region`


def alerts_file(path: Path, smtp_port: int) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "email": {
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "starttls": False,
                    "username": SMTP_USER,
                    "password_env": "PULSEOPS_TEST_SMTP_PASSWORD",
                    "sender": "PulseOps <alerts@msp.example>",
                },
                "channels": {
                    "msp-slack": {"format": "slack", "url_env": "PULSEOPS_TEST_SLACK_URL"},
                    "it-teams": {"format": "teams", "url_env": "PULSEOPS_TEST_TEAMS_URL"},
                },
                "roles": {"msp_owner": [OWNER]},
                "routes": [
                    {"to": [{"role": "msp_owner"}], "kinds": ["churn_risk", "agreement_renewal"], "mode": "immediate"},
                    {
                        "to": [ACCOUNT_MANAGER],
                        "kinds": ["churn_risk"],
                        "mode": "digest",
                        "at_least": {"mrr_at_risk": MRR_AT_RISK_FLOOR},
                        "resolved": False,
                    },
                    {"to": [CFO], "kinds": ["churn_risk"], "at_least": {"mrr_at_risk": 10_000_000}},
                    {"to": [{"channel": "msp-slack"}], "kinds": ["churn_risk", "spend_anomaly"], "mode": "immediate"},
                    {
                        "to": [{"channel": "it-teams"}, {"address": IT_MANAGER}],
                        "mode": "digest",
                        "kinds": [
                            "spend_anomaly",
                            "budget_outlook",
                            "subscription_renewal",
                            "stale_source",
                            "quarantined_file",
                            "failed_run",
                        ],
                    },
                ],
            }
        )
    )
    return path


@dataclass
class World:
    run: PipelineRun
    mail: object
    hooks: object
    instance: object
    results: list = field(default_factory=list)
    day1: dict = field(default_factory=dict)  # expected alerts by kind after day 1 (from the warehouse)
    day2: dict = field(default_factory=dict)
    sent_day1: dict = field(default_factory=dict)  # recipient -> alert ids received by the end of day 1
    spiked_department: str = ""
    spike_day: str = ""

    def url(self) -> str:
        return self.run.env["DATABASE_URL"]


# --- what the warehouse says should be announced -------------------------------------------------


def expected_alerts(url: str) -> dict[str, dict[str, dict]]:
    """kind -> subject -> figures, straight from the reporting and mart tables."""
    churn = {
        row[0]: {"name": row[1], "mrr_at_risk": float(row[2]), "drivers": row[3], "probability": row[4]}
        for row in query(
            url,
            "select client_id, client_name, mrr_at_risk, top_drivers, churn_probability "
            "from reporting.churn_watchlist where risk_band = 'high' and is_active",
        )
    }
    anomalies = {
        f"{scope}|{department or 'total'}|{started}": {"value": value, "expected": expected}
        for scope, department, started, value, expected in query(
            url,
            """
                     select scope, department, charge_date::date, value, expected from ml.spend_anomalies
                     where charge_date >= (select max(charge_date) from marts.department_daily_spend) - 7""",
        )
    }
    budget = {
        f"{d}|{m:%Y-%m}": {"forecast": float(f), "budget": float(b)}
        for d, m, f, b in query(
            url,
            """
        select department, month, total_forecast, budget from reporting.department_spend_forecast
        where budget_outlook in ('likely over', 'over budget') and months_ahead <= 3""",
        )
    }
    agreements = {
        f"{a}@{d}": {"annual_value": float(v)}
        for a, d, v in query(
            url,
            "select agreement_id, renewal_date, annual_value from marts.agreement_renewals "
            "where days_to_renewal between 0 and 30",
        )
    }
    subscriptions = {
        f"{s}@{d}": {}
        for s, d in query(
            url,
            "select subscription_id, renewal_date from marts.subscription_renewals "
            "where days_to_renewal between 0 and 30",
        )
    }
    stale = {
        s: {}
        for (s,) in query(
            url, "select source_entity from reporting.data_health_sources where freshness_status = 'stale'"
        )
    }
    quarantined = {
        k: {} for (k,) in query(url, "select file_key from reporting.data_health_files where is_quarantined")
    }
    return {
        "churn_risk": churn,
        "spend_anomaly": anomalies,
        "budget_outlook": budget,
        "agreement_renewal": agreements,
        "subscription_renewal": subscriptions,
        "stale_source": stale,
        "quarantined_file": quarantined,
    }


def subject(kind: str, key: str) -> str:
    """The subject of an incident key: conditions add `@<day first seen>`, file keys `@<arrival>`."""
    return (
        key.rsplit("@", 1)[0] if kind in ("churn_risk", "budget_outlook", "stale_source", "quarantined_file") else key
    )


def email_alert_ids(messages) -> list[str]:
    return [alert.strip() for m in messages for alert in m["X-PulseOps-Alerts"].split(",")]


def slack_alert_ids(payloads) -> list[str]:
    return [
        block["elements"][0]["text"].removeprefix("PulseOps alert ")
        for p in payloads
        for block in p["blocks"]
        if block["type"] == "context"
    ]


def teams_alert_ids(payloads) -> list[str]:
    return [
        item["text"].removeprefix("PulseOps alert ")
        for p in payloads
        for container in p["attachments"][0]["content"]["body"]
        if container["type"] == "Container"
        for item in container["items"]
        if item.get("isSubtle")
    ]


def received(world: World) -> dict[str, list[str]]:
    return {
        **{address: email_alert_ids(world.mail.to(address)) for address in (OWNER, ACCOUNT_MANAGER, IT_MANAGER)},
        "slack": slack_alert_ids(world.hooks.to(SLACK_PATH)),
        "teams": teams_alert_ids(world.hooks.to(TEAMS_PATH)),
    }


def by_kind(ids: list[str], event: str = "opened") -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for alert in ids:
        kind, rest = alert.split("/", 1)
        key, alert_event = rest.rsplit("/", 1)
        if alert_event == event:
            found.setdefault(kind, set()).add(subject(kind, key))
    return found


# --- the two days ----------------------------------------------------------------------------------


def spiked(costs: pd.DataFrame) -> tuple[pd.DataFrame, str, str]:
    """The cost rows with the largest department's spend five times as high on the new (last) day."""
    department = costs["Tags"].map(lambda tags: json.loads(tags)["department"])
    days = pd.to_datetime(costs["ChargePeriodStart"]).dt.tz_localize(None).dt.date
    day = days.max()
    on_day = days == day
    biggest = costs[on_day].groupby(department[on_day])["BilledCost"].sum().idxmax()
    rows = on_day & (department == biggest)
    costs = costs.copy()
    for column in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
        if column in costs:
            costs.loc[rows, column] = costs.loc[rows, column] * 5
    return costs, biggest, str(day)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from dagster import DagsterInstance

    from ingestion.demo import SCALES, generate, write_to_landing
    from orchestration.pipeline import failure_summary, run_job
    from tests.test_incremental import deliver, new_deliveries

    folder = tmp_path_factory.mktemp("alerts")
    with ExitStack() as stack:
        url = stack.enter_context(throwaway_database("pulseops_alerts"))
        mail, smtp_port = stack.enter_context(smtp_server(SMTP_USER, SMTP_PASSWORD))
        hooks = stack.enter_context(webhook_receiver())
        instance = stack.enter_context(DagsterInstance.ephemeral())
        env = {
            "PULSEOPS_HOME": str(folder / "state"),
            "DATABASE_URL": url,
            "PULSEOPS_ALERTS_FILE": str(alerts_file(folder / "alerts.yaml", smtp_port)),
            "PULSEOPS_SUPERSET_URL": SUPERSET,
            "PULSEOPS_DAGSTER_URL": DAGSTER,
            "PULSEOPS_TEST_SMTP_PASSWORD": SMTP_PASSWORD,
            "PULSEOPS_TEST_SLACK_URL": hooks.url(SLACK_PATH),
            "PULSEOPS_TEST_TEAMS_URL": hooks.url(TEAMS_PATH),
        }
        run = PipelineRun("alerts", env)
        world = World(run, mail, hooks, instance)
        stack.enter_context(run.activate())
        stack.enter_context(environment(**{k: v for k, v in env.items() if k.startswith("PULSEOPS_")}))
        # day 1
        run.landing, run.truth = generate(SCALES["S"], AS_OF)
        write_to_landing(run.store(), "S", AS_OF)
        result = run_job(instance=instance)
        assert result.success, failure_summary(result)
        world.results.append(result)
        world.day1 = expected_alerts(url)
        world.sent_day1 = received(world)
        # day 2: a new day of files, one spiking department, a quarantined file, a silent source
        frames = new_deliveries(run.landing)
        frames["focus/costs"], world.spiked_department, world.spike_day = spiked(frames["focus/costs"])
        deliver(run.store(), frames, folder, suffix="day2")
        run.store().put_bytes("landing/psa/clients/clients_day2_missing_region.csv", BAD_CLIENTS_FILE.read_bytes())
        query(
            url,
            "update raw._ingestion_ledger set loaded_at = loaded_at - interval '3 days' "
            "where source = 'm365' returning 1",
        )
        result = run_job(instance=instance, tags={"dagster/schedule_name": "daily_pulseops"})
        assert result.success, failure_summary(result)
        world.results.append(result)
        world.day2 = expected_alerts(url)
        yield world


def run_alerts_job(world: World):
    """The alerts step alone, as the hourly schedule runs it (same step, retry policy and check)."""
    from orchestration.pipeline import run_job

    result = run_job("alerts_job", instance=world.instance)
    world.results.append(result)
    return result


def check_result(result):
    evaluations = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(evaluations) == 1
    return evaluations[0]


# --- day 1 -------------------------------------------------------------------------------------------


def test_day_one_sends_what_the_warehouse_shows(world):
    sent, expected = world.sent_day1, world.day1
    assert expected["churn_risk"] and expected["agreement_renewal"]
    # the owner: every high-risk client and every agreement renewing within 30 days, one email each
    owner = by_kind(sent[OWNER])
    assert owner == {"churn_risk": set(expected["churn_risk"]), "agreement_renewal": set(expected["agreement_renewal"])}
    assert len(world.mail.to(OWNER)) == len(sent[OWNER]) == len(set(sent[OWNER]))
    # the account manager: one digest of the high-risk clients with at least 300 of MRR at risk
    floor = {c for c, f in expected["churn_risk"].items() if f["mrr_at_risk"] >= MRR_AT_RISK_FLOOR}
    assert floor
    assert by_kind(sent[ACCOUNT_MANAGER]) == {"churn_risk": floor}
    assert len(world.mail.to(ACCOUNT_MANAGER)) == -(-len(floor) // 20)
    assert world.mail.to(CFO) == [], "no client reaches this route's threshold"
    # Slack: churn risk and recent spend anomalies; Teams and the IT manager: the IT side
    slack = {"churn_risk": set(expected["churn_risk"]), "spend_anomaly": set(expected["spend_anomaly"])}
    assert by_kind(sent["slack"]) == {kind: subjects for kind, subjects in slack.items() if subjects}
    it_side = {
        kind: set(expected[kind])
        for kind in ("spend_anomaly", "budget_outlook", "subscription_renewal", "stale_source", "quarantined_file")
        if expected[kind]
    }
    assert by_kind(sent["teams"]) == it_side == by_kind(sent[IT_MANAGER])
    for ids in sent.values():
        assert len(ids) == len(set(ids))


def test_churn_alert_holds_the_figures_drivers_and_link(world):
    for message in world.mail.to(OWNER):
        alert = message["X-PulseOps-Alerts"]
        if not alert.startswith("churn_risk/"):
            continue
        client = alert.split("/")[1].split("@")[0]
        figures = world.day1["churn_risk"][client]
        body = message.get_content()
        assert message["Subject"] == f"[PulseOps] {figures['name']} turned high churn risk"
        assert f"MRR at risk: {figures['mrr_at_risk']:,.2f}" in body
        assert f"Churn probability (90 days): {100 * figures['probability']:.0f}%" in body
        assert figures["drivers"] and f"Top drivers: {figures['drivers']}" in body
        assert f"Open MSP Client Portfolio: {SUPERSET}/superset/dashboard/msp-portfolio/" in body
        assert message["Message-ID"].endswith("@pulseops.alerts>")


def test_dashboard_links_name_existing_dashboards():
    from orchestration.defs.alerts.incidents import DASHBOARDS

    slugs = {
        yaml.safe_load(path.read_text())["slug"]
        for path in (Path(__file__).parents[1] / "superset_config" / "assets" / "dashboards").glob("*.yaml")
    }
    assert set(DASHBOARDS.values()) <= slugs


# --- day 2 -------------------------------------------------------------------------------------------


def test_day_two_sends_only_what_is_new(world):
    now = received(world)
    for recipient, ids in now.items():
        assert len(ids) == len(set(ids)), f"{recipient} got an alert twice"
    new = {recipient: [a for a in ids if a not in world.sent_day1[recipient]] for recipient, ids in now.items()}
    # the planted spike of the new day, to everyone routed spend anomalies
    spike = f"department|{world.spiked_department}|{world.spike_day}"
    assert spike in world.day2["spend_anomaly"]
    for recipient in ("slack", "teams", IT_MANAGER):
        assert spike in by_kind(new[recipient]).get("spend_anomaly", set())
    # the quarantined clients file and the silent Microsoft 365 report, to the IT side
    for recipient in ("teams", IT_MANAGER):
        opened = by_kind(new[recipient])
        assert opened["quarantined_file"] == {"landing/psa/clients/clients_day2_missing_region.csv"}
        assert opened["stale_source"] == {"m365/active_user_detail"}
        assert opened.get("spend_anomaly", set()) == set(world.day2["spend_anomaly"]) - set(world.day1["spend_anomaly"])
    # churn: only clients that turned high since day 1; those no longer high are announced resolved
    turned = set(world.day2["churn_risk"]) - set(world.day1["churn_risk"])
    calmed = set(world.day1["churn_risk"]) - set(world.day2["churn_risk"])
    assert by_kind(new[OWNER]).get("churn_risk", set()) == turned
    assert by_kind(new[OWNER], "resolved").get("churn_risk", set()) == calmed
    assert by_kind(new[ACCOUNT_MANAGER], "resolved") == {}, "this route does not announce resolutions"


def test_quarantine_and_stale_alerts_link_data_health(world):
    digests = [m for m in world.mail.to(IT_MANAGER) if "quarantined_file/" in m["X-PulseOps-Alerts"]]
    assert len(digests) == 1
    body = digests[0].get_content()
    summary = query(
        world.url(),
        "select error_summary from reporting.data_health_files where file_key = %s",
        ("landing/psa/clients/clients_day2_missing_region.csv",),
    )[0][0]
    assert "region" in summary and f"Why: {summary}" in body
    assert f"Open Data Health: {SUPERSET}/superset/dashboard/data-health/" in body
    assert "Source m365/active_user_detail is stale" in body


def test_slack_and_teams_payloads_have_the_shapes_they_accept(world):
    slack, teams = world.hooks.to(SLACK_PATH), world.hooks.to(TEAMS_PATH)
    assert slack and teams
    for payload in slack:  # Slack incoming webhook: text + Block Kit blocks
        assert set(payload) == {"text", "blocks"} and isinstance(payload["text"], str) and payload["text"]
        assert 0 < len(payload["blocks"]) <= 50
        for block in payload["blocks"]:
            assert block["type"] in {"header", "section", "context", "actions", "divider"}
            if block["type"] == "header":
                assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
            if block["type"] == "section":
                assert "text" in block or 0 < len(block["fields"]) <= 10
                for text in block.get("fields", []) + ([block["text"]] if "text" in block else []):
                    assert text["type"] == "mrkdwn" and len(text["text"]) <= 2000
            if block["type"] == "actions":
                for button in block["elements"]:
                    assert button["type"] == "button" and button["url"].startswith(SUPERSET + "/superset/dashboard/")
                    assert len(button["text"]["text"]) <= 75
    for payload in teams:  # Teams: a message with one Adaptive Card attachment
        assert payload["type"] == "message" and len(payload["attachments"]) == 1
        attachment = payload["attachments"][0]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
        assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
        containers = [element for element in card["body"] if element["type"] == "Container"]
        assert 0 < len(containers) <= 20
        for container in containers:
            types = [item["type"] for item in container["items"]]
            assert types == ["TextBlock", "FactSet", "TextBlock", "ActionSet"]
            facts = container["items"][1]["facts"]
            assert facts and all(set(f) == {"title", "value"} and isinstance(f["value"], str) for f in facts)
            for action in container["items"][3]["actions"]:
                assert action["type"] == "Action.OpenUrl" and action["url"].startswith(SUPERSET)


# --- re-runs, retries and failures ------------------------------------------------------------------


def test_a_rerun_sends_nothing_again(world):
    before = (len(world.mail.messages), len(world.hooks.posts))
    result = run_alerts_job(world)
    assert result.success and check_result(result).passed
    assert (len(world.mail.messages), len(world.hooks.posts)) == before


def _quarantine_another_file(world: World, name: str) -> str:
    from orchestration.pipeline import run_job

    key = f"landing/psa/clients/{name}"
    world.run.store().put_bytes(key, BAD_CLIENTS_FILE.read_bytes())
    assert run_job("ingest_job", instance=world.instance).success
    return key


def test_a_retried_step_sends_nothing_twice(world):
    key = _quarantine_another_file(world, "clients_retry.csv")
    world.hooks.failures[TEAMS_PATH] = 1  # Teams answers 500 once, then accepts
    result = run_alerts_job(world)
    assert result.success and check_result(result).passed
    assert world.hooks.refused == [TEAMS_PATH]
    assert check_result(result).metadata["attempts"].value == 2
    teams = [a for a in received(world)["teams"] if key in a]
    mails = [a for a in received(world)[IT_MANAGER] if key in a]
    assert len(teams) == 1 and len(mails) == 1, "the email sent on the first attempt is not sent again"


def test_bad_smtp_host_and_webhook_500_fail_the_check_not_the_run(world, monkeypatch):
    key = _quarantine_another_file(world, "clients_outage.csv")
    settings = yaml.safe_load(Path(world.run.env["PULSEOPS_ALERTS_FILE"]).read_text())
    broken = dict(settings, email={**settings["email"], "host": "smtp.invalid"})
    broken_file = Path(world.run.env["PULSEOPS_ALERTS_FILE"]).with_name("broken.yaml")
    broken_file.write_text(yaml.safe_dump(broken))
    monkeypatch.setenv("PULSEOPS_ALERTS_FILE", str(broken_file))
    world.hooks.failures[TEAMS_PATH] = -1
    refused_before = len(world.hooks.refused)
    result = run_alerts_job(world)
    assert result.success, "a delivery failure does not fail the run"
    check = check_result(result)
    assert not check.passed and check.metadata["attempts"].value == 3
    failed = check.metadata["failed_recipients"].value
    assert set(failed) == {"teams:it-teams", f"email:{IT_MANAGER}"}
    assert failed["teams:it-teams"] == "teams:it-teams: the webhook answered HTTP 500"
    assert failed[f"email:{IT_MANAGER}"].startswith(f"email:{IT_MANAGER}: SMTP smtp.invalid:")
    assert len(world.hooks.refused) - refused_before == 3, "tried once and retried twice"
    assert not [a for ids in received(world).values() for a in ids if key in a]
    # mended: the next run delivers what was held back, once
    world.hooks.failures[TEAMS_PATH] = 0
    monkeypatch.setenv("PULSEOPS_ALERTS_FILE", world.run.env["PULSEOPS_ALERTS_FILE"])
    result = run_alerts_job(world)
    assert result.success and check_result(result).passed
    for recipient in ("teams", IT_MANAGER):
        assert len([a for a in received(world)[recipient] if key in a]) == 1


def test_failed_run_is_announced_once_and_resolved_when_its_retry_succeeds(world):
    from dagster import build_sensor_context

    from orchestration.defs.alerts import failed_run_alerts, recovered_run_alerts
    from orchestration.resources import WarehouseResource

    def tick(sensor, cursor):
        context = build_sensor_context(
            instance=world.instance, cursor=cursor, resources={"warehouse": WarehouseResource()}
        )
        return sensor.evaluate_tick(context).cursor

    failures, recoveries = tick(failed_run_alerts, None), tick(recovered_run_alerts, None)  # start from now
    EXPLODING["now"] = True
    result = failing_job.execute_in_process(instance=world.instance, raise_on_error=False)
    assert not result.success
    before = len(world.hooks.to(TEAMS_PATH))
    after_first = tick(failed_run_alerts, failures)
    tick(failed_run_alerts, failures)  # the same tick evaluated again (a sensor restarted from an old cursor)
    cards = world.hooks.to(TEAMS_PATH)[before:]
    assert teams_alert_ids(cards) == [f"failed_run/{result.run_id}/opened"]
    facts = {f["title"]: f["value"] for f in cards[0]["attachments"][0]["content"]["body"][0]["items"][1]["facts"]}
    assert facts["Job"] == "failing_job" and facts["Failed steps"] == "explode"
    assert facts["Error"] == "RuntimeError: the warehouse went away"
    urls = [a["url"] for a in cards[0]["attachments"][0]["content"]["body"][0]["items"][3]["actions"]]
    assert urls == [f"{SUPERSET}/superset/dashboard/data-health/", f"{DAGSTER}/runs/{result.run_id}"]
    # a re-execution that fails again belongs to the same root run: no new alert
    lineage = {"dagster/root_run_id": result.run_id, "dagster/parent_run_id": result.run_id}
    assert not failing_job.execute_in_process(instance=world.instance, raise_on_error=False, tags=lineage).success
    tick(failed_run_alerts, after_first)
    assert len(world.hooks.to(TEAMS_PATH)) == before + 1
    # one that succeeds resolves it, announced once to those told of the failure
    EXPLODING["now"] = False
    recovered = failing_job.execute_in_process(instance=world.instance, raise_on_error=False, tags=lineage)
    assert recovered.success
    tick(recovered_run_alerts, recoveries)
    tick(recovered_run_alerts, recoveries)
    cards = world.hooks.to(TEAMS_PATH)[before + 1 :]
    assert teams_alert_ids(cards) == [f"failed_run/{result.run_id}/resolved"]
    facts = {f["title"]: f["value"] for f in cards[0]["attachments"][0]["content"]["body"][0]["items"][1]["facts"]}
    assert facts["Succeeded in run"] == recovered.run_id
    assert cards[0]["attachments"][0]["content"]["body"][0]["items"][0]["text"] == "Resolved: Run of failing_job failed"
    assert len([a for a in email_alert_ids(world.mail.to(IT_MANAGER)) if a.startswith("failed_run/")]) == 2


EXPLODING = {"now": True}


def _failing_job():
    from dagster import job, op

    @op(name="explode")
    def explode():
        if EXPLODING["now"]:
            raise RuntimeError("the warehouse went away")

    @job(name="failing_job")
    def failing():
        explode()

    return failing


failing_job = _failing_job()


def test_secrets_never_reach_logs_or_tables(world, capfd):
    secrets = [SMTP_PASSWORD, SLACK_PATH, TEAMS_PATH, "slack-token-77c1e2", "teams-sig-0d93aa51"]
    logs = "\n".join(str(event) for result in world.results for event in result.all_events)
    for run in world.instance.get_runs():
        logs += "\n".join(entry.message or "" for entry in world.instance.all_logs(run.run_id))
    output = capfd.readouterr()
    logs += output.out + output.err
    tables = "\n".join(
        str(row)
        for table in ("alerts.incidents", "alerts.deliveries")
        for row in query(world.url(), f"select * from {table}")
    )
    assert "churn_risk" in tables and "alert" in logs
    for secret in secrets:
        assert secret not in logs and secret not in tables
