"""Send alerts: plan who gets which (routes, thresholds, digest or immediate), then send each
message through the ledger, by SMTP or to a webhook.

Errors are reported by recipient as the ledger names it (`email:owner@msp.example`,
`slack:msp-alerts`) and the error's kind, never with a webhook URL or a password in the text.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from orchestration.defs.alerts.config import AlertsConfig, AlertsConfigError, Recipient
from orchestration.defs.alerts.incidents import Incident
from orchestration.defs.alerts.ledger import delivered, send_once
from orchestration.defs.alerts.render import DIGEST_PART, email_message, event, slack_payload, teams_payload

WEBHOOK_TIMEOUT_S = 10


class DeliveryError(RuntimeError):
    """A message a recipient did not accept; the text is safe to log."""


@dataclass
class Outcome:
    sent: dict = field(default_factory=dict)  # recipient -> alerts sent in this run
    failed: dict = field(default_factory=dict)  # recipient -> error text

    @property
    def alerts_sent(self) -> int:
        return sum(self.sent.values())


def plan(config: AlertsConfig, incidents: list[Incident], already: set) -> list[tuple[Recipient, list[Incident]]]:
    """The messages to send now: per recipient, the alerts its routes want and it has not had,
    one message each (immediate) or in parts of a digest. A resolution goes to those who were told
    of the incident."""
    wanted: dict[tuple[Recipient, str], list[Incident]] = {}
    for route in config.routes:
        for incident in incidents:
            if not route.wants(incident.kind, incident.figures) or (incident.resolved and not route.resolved):
                continue
            for recipient in route.recipients:
                name = recipient.ledger_name
                if (incident.kind, incident.key, event(incident), name) in already:
                    continue
                if incident.resolved and (incident.kind, incident.key, "opened", name) not in already:
                    continue
                queue = wanted.setdefault((recipient, route.mode), [])
                if incident not in queue:
                    queue.append(incident)
    messages = []
    for (recipient, mode), queue in wanted.items():
        size = DIGEST_PART if mode == "digest" else 1
        messages += [(recipient, queue[start : start + size]) for start in range(0, len(queue), size)]
    return messages


def send_email(config: AlertsConfig, to: str, incidents: list[Incident]) -> None:
    server = config.email
    message = email_message(incidents, server.sender, to, config.superset_url)
    try:
        with smtplib.SMTP(server.host, server.port, timeout=server.timeout_seconds) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if server.username:
                smtp.login(server.username, server.password.value())
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(
            f"email:{to}: SMTP {server.host}:{server.port} failed: {type(error).__name__}: {error}"
        ) from None


def post_webhook(config: AlertsConfig, channel: str, payload: dict) -> None:
    where = f"{config.channels[channel][0]}:{channel}"
    try:
        request = urllib.request.Request(
            config.webhook_url(channel),
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
    except ValueError:
        raise DeliveryError(f"{where}: the webhook URL is not a valid URL") from None
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"{where}: the webhook answered HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"{where}: the webhook could not be reached: {type(reason).__name__}") from None


def send(config: AlertsConfig, recipient: Recipient, incidents: list[Incident]) -> None:
    if recipient.format == "email":
        send_email(config, recipient.address, incidents)
    elif recipient.format == "slack":
        post_webhook(config, recipient.address, slack_payload(incidents, config.superset_url))
    else:
        post_webhook(config, recipient.address, teams_payload(incidents, config.superset_url))


def deliver(conn, config: AlertsConfig, incidents: list[Incident], run_id: str) -> Outcome:
    """Send every planned message once; a recipient that fails keeps its alerts for the next attempt
    and does not stop the others."""
    outcome = Outcome()
    for recipient, batch in plan(config, incidents, delivered(conn)):
        name = recipient.ledger_name
        if name in outcome.failed:
            continue  # one failure per recipient and attempt is enough: the rest wait with it
        by_item = {(i.kind, i.key, event(i)): i for i in batch}

        def send_claimed(items, recipient=recipient, by_item=by_item):
            send(config, recipient, [by_item[item] for item in items])

        try:
            sent = send_once(conn, list(by_item), name, run_id, send_claimed)
        except (DeliveryError, AlertsConfigError) as error:  # a missing secret fails this recipient only
            outcome.failed[name] = str(error)
            continue
        outcome.sent[name] = outcome.sent.get(name, 0) + len(sent)
    return outcome
