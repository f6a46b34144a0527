"""The alerts file (who gets what) and the delivery plan, without servers: clear errors naming the
file and entry, secrets only by reference, thresholds, digests in parts, resolutions to those told."""

from __future__ import annotations

import pytest

from orchestration.defs.alerts.config import AlertsConfigError, Recipient, load_alerts_config, parse
from orchestration.defs.alerts.delivery import plan
from orchestration.defs.alerts.incidents import Incident

EMAIL = {"host": "smtp.example.com", "password_env": "SMTP_PW"}


def incident(kind: str, subject: str, resolved: bool = False, **figures) -> Incident:
    return Incident(
        kind, subject, f"{subject} title", [["Subject", subject]], figures, since="2026-11-25", resolved=resolved
    )


@pytest.mark.parametrize(
    "data, error",
    [
        (
            {"email": {"host": "h", "password": "hunter2"}},
            (
                "alerts.yaml: email: `password` must not be written in the file; name its environment variable "
                "(`password_env`) or file (`password_file`)"
            ),
        ),
        (
            {"channels": {"ops": {"format": "slack", "url": "https://hooks.slack.com/x"}}},
            "alerts.yaml: channel 'ops': `url` must not be written in the file",
        ),
        (
            {"channels": {"ops": {"format": "discord", "url_env": "X"}}},
            "alerts.yaml: channel 'ops': format must be slack or teams",
        ),
        (
            {"email": EMAIL, "routes": [{"to": ["a@x"], "kinds": ["churn"]}]},
            "alerts.yaml: route 1: unknown kind(s) ['churn']",
        ),
        (
            {"email": EMAIL, "routes": [{"to": [{"role": "cfo"}]}]},
            "alerts.yaml: route 1: role 'cfo' is not under `roles`",
        ),
        ({"routes": [{"to": ["a@x"]}]}, "alerts.yaml: route 1: sends email but the file has no `email` server"),
        (
            {"email": EMAIL, "routes": [{"to": ["a@x"], "mode": "hourly"}]},
            "alerts.yaml: route 1: mode must be immediate or digest, not 'hourly'",
        ),
    ],
)
def test_a_bad_alerts_file_names_file_and_entry(data, error):
    with pytest.raises(AlertsConfigError) as raised:
        parse(data, "alerts.yaml", env={})
    assert str(raised.value).startswith(error)


def test_secrets_are_read_when_sent_and_never_shown(tmp_path):
    (tmp_path / "hook").write_text("https://hooks.example/secret-path\n")
    config = parse(
        {"email": EMAIL, "channels": {"ops": {"format": "teams", "url_file": str(tmp_path / "hook")}}}, "f", env={}
    )
    assert config.webhook_url("ops") == "https://hooks.example/secret-path"
    assert "secret-path" not in repr(config)
    with pytest.raises(AlertsConfigError, match="the environment variable SMTP_PW is not set"):
        config.email.password.value()


def test_links_come_from_the_environment_then_the_file(tmp_path):
    path = tmp_path / "alerts.toml"
    path.write_text('superset_url = "https://bi.example/"\n')
    assert load_alerts_config({"PULSEOPS_ALERTS_FILE": str(path)}).superset_url == "https://bi.example"
    assert (
        load_alerts_config({"PULSEOPS_ALERTS_FILE": str(path), "PULSEOPS_SUPERSET_URL": "https://x"}).superset_url
        == "https://x"
    )
    assert load_alerts_config({}).superset_url == "http://127.0.0.1:8088"
    assert load_alerts_config({}).routes == ()


def test_plan_applies_kinds_thresholds_modes_and_the_ledger():
    config = parse(
        {
            "email": EMAIL,
            "roles": {"msp": ["a@x", "b@x"]},
            "routes": [
                {
                    "to": [{"role": "msp"}],
                    "kinds": ["churn_risk"],
                    "mode": "immediate",
                    "at_least": {"mrr_at_risk": 100},
                },
                {
                    "to": ["it@x"],
                    "kinds": ["subscription_renewal"],
                    "mode": "digest",
                    "at_most": {"days_to_renewal": 14},
                },
            ],
        },
        "f",
        env={},
    )
    churn = [incident("churn_risk", f"C{n}", mrr_at_risk=50 * n) for n in range(1, 5)]
    renewals = [incident("subscription_renewal", f"S{n}", days_to_renewal=n) for n in range(30)]
    already = {("churn_risk", "C3@2026-11-25", "opened", "email:a@x")}
    messages = plan(config, churn + renewals, already)
    by_recipient = {}
    for recipient, batch in messages:
        by_recipient.setdefault(recipient.address, []).append([i.subject for i in batch])
    assert by_recipient["a@x"] == [["C2"], ["C4"]]  # C1 under the threshold, C3 already sent
    assert by_recipient["b@x"] == [["C2"], ["C3"], ["C4"]]
    assert by_recipient["it@x"] == [[f"S{n}" for n in range(15)]]  # one digest of those within 14 days


def test_a_resolution_goes_only_to_those_told_of_the_incident():
    config = parse(
        {
            "channels": {"ops": {"format": "slack", "url_env": "X"}},
            "email": EMAIL,
            "routes": [{"to": [{"channel": "ops"}, "a@x"], "kinds": ["stale_source"]}],
        },
        "f",
        env={},
    )
    over = incident("stale_source", "focus/costs", resolved=True)
    told = {("stale_source", over.key, "opened", "slack:ops")}
    assert [(r, [i.key for i in b]) for r, b in plan(config, [over], told)] == [
        (Recipient("slack", "ops"), ["focus/costs@2026-11-25"])
    ]
