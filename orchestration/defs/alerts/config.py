"""Who gets which alert, and how: read from the file named by PULSEOPS_ALERTS_FILE (YAML or TOML).

The file holds no secret. The SMTP password and each webhook's URL are named by the environment
variable (`*_env`) or the file (`*_file`) that holds them, and read only when a message is sent, so
they never reach run logs, asset metadata or the Dagster UI.

    superset_url: https://bi.example.com          # or PULSEOPS_SUPERSET_URL
    email:
      host: smtp.example.com
      port: 587
      starttls: true
      username: alerts@example.com
      password_env: PULSEOPS_SMTP_PASSWORD        # or password_file: /run/secrets/smtp
      sender: PulseOps <alerts@example.com>
    channels:
      msp-slack: {format: slack, url_env: PULSEOPS_SLACK_WEBHOOK_URL}
      it-teams: {format: teams, url_file: /run/secrets/teams_webhook}
    roles:
      msp_analyst: [owner@msp.example, am@msp.example]
    routes:
      - to: [{role: msp_analyst}, {channel: msp-slack}]
        kinds: [churn_risk, agreement_renewal]
        mode: immediate                            # or digest: one message per run
        at_least: {mrr_at_risk: 500}               # figures an incident must reach
        resolved: true                             # also announce when it is over
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ALERTS_FILE_ENV = "PULSEOPS_ALERTS_FILE"

KINDS = (
    "churn_risk",
    "spend_anomaly",
    "budget_outlook",
    "agreement_renewal",
    "subscription_renewal",
    "stale_source",
    "quarantined_file",
    "failed_run",
)
FORMATS = ("email", "slack", "teams")
MODES = ("immediate", "digest")


class AlertsConfigError(ValueError):
    """The alerts file is not what this module reads; the message names the file and the entry."""


@dataclass(frozen=True)
class Secret:
    """Where a secret is read from: an environment variable or a file. Its value is never stored."""

    env: str | None = None
    file: str | None = None

    def value(self) -> str:
        if self.env:
            value = os.environ.get(self.env)
            if not value:
                raise AlertsConfigError(f"the environment variable {self.env} is not set")
            return value
        if self.file:
            return Path(self.file).read_text().strip()
        return ""

    def __repr__(self) -> str:  # what a log may show: where the secret lives, not what it is
        return f"Secret(env={self.env!r}, file={self.file!r})"


@dataclass(frozen=True)
class EmailServer:
    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: Secret = field(default_factory=Secret)
    sender: str = "PulseOps <pulseops@localhost>"
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Recipient:
    """One destination: an email address or a named webhook channel (Slack or Teams)."""

    format: str  # email, slack or teams
    address: str  # the email address, or the channel's name in the file (never its URL)

    @property
    def ledger_name(self) -> str:
        return f"{self.format}:{self.address}"


@dataclass(frozen=True)
class Route:
    recipients: tuple[Recipient, ...]
    kinds: tuple[str, ...]
    mode: str = "immediate"
    at_least: dict = field(default_factory=dict)
    at_most: dict = field(default_factory=dict)
    resolved: bool = True

    def wants(self, kind: str, figures: dict) -> bool:
        """This route takes incidents of `kind` whose figures pass its thresholds."""
        if kind not in self.kinds:
            return False
        for name, limit in self.at_least.items():
            if name in figures and (figures[name] is None or figures[name] < limit):
                return False
        for name, limit in self.at_most.items():
            if name in figures and (figures[name] is None or figures[name] > limit):
                return False
        return True


@dataclass(frozen=True)
class AlertsConfig:
    routes: tuple[Route, ...] = ()
    email: EmailServer | None = None
    channels: dict = field(default_factory=dict)  # name -> (format, Secret url)
    superset_url: str = ""
    dagster_url: str = ""
    source: str = "no alerts file"
    # Event incidents (anomalies, files) older than this when first seen are history, not news:
    # the first run on years of data does not send years of alerts.
    lookback_days: int = 7
    renewal_days: int = 30

    def webhook_url(self, channel: str) -> str:
        return self.channels[channel][1].value()


def _secret(entry: dict, name: str, where: str) -> Secret:
    if name in entry:
        raise AlertsConfigError(
            f"{where}: `{name}` must not be written in the file; "
            f"name its environment variable (`{name}_env`) or file (`{name}_file`)"
        )
    return Secret(env=entry.get(f"{name}_env"), file=entry.get(f"{name}_file"))


def _recipients(targets, roles: dict, channels: dict, where: str) -> tuple[Recipient, ...]:
    found = []
    for target in targets if isinstance(targets, list) else [targets]:
        if isinstance(target, str):
            target = {"address": target}
        if "address" in target:
            found.append(Recipient("email", target["address"]))
        elif "role" in target:
            if target["role"] not in roles:
                raise AlertsConfigError(f"{where}: role {target['role']!r} is not under `roles`")
            found += [Recipient("email", address) for address in roles[target["role"]]]
        elif "channel" in target:
            if target["channel"] not in channels:
                raise AlertsConfigError(f"{where}: channel {target['channel']!r} is not under `channels`")
            found.append(Recipient(channels[target["channel"]][0], target["channel"]))
        else:
            raise AlertsConfigError(f"{where}: each `to` entry is an address, a role or a channel, not {target!r}")
    return tuple(dict.fromkeys(found))


def parse(data: dict, source: str, env=os.environ) -> AlertsConfig:
    """The alerts configuration from the file's content; links default to the local UIs."""
    channels = {}
    for name, entry in (data.get("channels") or {}).items():
        if entry.get("format") not in ("slack", "teams"):
            raise AlertsConfigError(f"{source}: channel {name!r}: format must be slack or teams")
        channels[name] = (entry["format"], _secret(entry, "url", f"{source}: channel {name!r}"))
    email = None
    if data.get("email"):
        entry = dict(data["email"])
        password = _secret(entry, "password", f"{source}: email")
        known = {"host", "port", "starttls", "username", "sender", "timeout_seconds"}
        email = EmailServer(password=password, **{k: v for k, v in entry.items() if k in known})
    roles = {name: list(addresses) for name, addresses in (data.get("roles") or {}).items()}
    routes = []
    for number, entry in enumerate(data.get("routes") or [], start=1):
        where = f"{source}: route {number}"
        kinds = tuple(entry.get("kinds") or KINDS)
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise AlertsConfigError(f"{where}: unknown kind(s) {unknown}; known: {', '.join(KINDS)}")
        mode = entry.get("mode", "immediate")
        if mode not in MODES:
            raise AlertsConfigError(f"{where}: mode must be immediate or digest, not {mode!r}")
        recipients = _recipients(entry.get("to") or [], roles, channels, where)
        if any(r.format == "email" for r in recipients) and email is None:
            raise AlertsConfigError(f"{where}: sends email but the file has no `email` server")
        routes.append(
            Route(
                recipients,
                kinds,
                mode,
                dict(entry.get("at_least") or {}),
                dict(entry.get("at_most") or {}),
                bool(entry.get("resolved", True)),
            )
        )
    superset = (
        env.get("PULSEOPS_SUPERSET_URL")
        or data.get("superset_url")
        or f"http://127.0.0.1:{env.get('PULSEOPS_SUPERSET_PORT') or 8088}"
    )
    dagster = (
        env.get("PULSEOPS_DAGSTER_URL")
        or data.get("dagster_url")
        or f"http://127.0.0.1:{env.get('PULSEOPS_DAGSTER_PORT') or 3000}"
    )
    return AlertsConfig(
        tuple(routes),
        email,
        channels,
        superset.rstrip("/"),
        dagster.rstrip("/"),
        source,
        int(data.get("lookback_days", 7)),
        int(data.get("renewal_days", 30)),
    )


def load_alerts_config(env=os.environ) -> AlertsConfig:
    """The configuration in PULSEOPS_ALERTS_FILE, or one without routes (nothing is sent)."""
    path = env.get(ALERTS_FILE_ENV)
    if not path:
        return parse({}, "no alerts file", env)
    file = Path(path)
    try:
        text = file.read_text()
        data = tomllib.loads(text) if file.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise AlertsConfigError(f"{path}: cannot be read: {error}") from error
    if not isinstance(data, dict):
        raise AlertsConfigError(f"{path}: expected a mapping at the top level")
    return parse(data, str(file), env)
