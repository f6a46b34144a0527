"""Alerts as messages: an email, a Slack incoming-webhook payload, a Microsoft Teams Adaptive Card.

One message holds one alert (immediate) or several (digest). Every alert links to the Superset
dashboard that explains it (and a failed run to its page in the Dagster UI too).
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage

from orchestration.defs.alerts.incidents import Incident

DASHBOARD_NAMES = {
    "msp-portfolio": "MSP Client Portfolio",
    "it-spend": "IT Software Spend",
    "data-health": "Data Health",
}
# Slack allows 50 blocks and Teams cards grow long: a digest is sent in parts of this many alerts.
DIGEST_PART = 20


def dashboard_url(superset_url: str, incident: Incident) -> str:
    return f"{superset_url}/superset/dashboard/{incident.dashboard}/"


def event(incident: Incident) -> str:
    return "resolved" if incident.resolved else "opened"


def headline(incident: Incident) -> str:
    return f"Resolved: {incident.title}" if incident.resolved else incident.title


def alert_id(incident: Incident) -> str:
    """The alert's ledger key, kind/incident key/event: what an operator looks up in alerts.deliveries."""
    return f"{incident.kind}/{incident.key}/{event(incident)}"


def reference(incident: Incident) -> str:
    return f"PulseOps alert {alert_id(incident)}"


def _links(incident: Incident, superset_url: str) -> list[tuple[str, str]]:
    links = [(f"Open {DASHBOARD_NAMES[incident.dashboard]}", dashboard_url(superset_url, incident))]
    if incident.link:
        links.append(("Open the run in Dagster", incident.link))
    return links


def _subject(incidents: list[Incident]) -> str:
    if len(incidents) == 1:
        return f"[PulseOps] {headline(incidents[0])}"
    return (
        f"[PulseOps] {len(incidents)} alerts: "
        + "; ".join(headline(i) for i in incidents[:3])
        + ("; ..." if len(incidents) > 3 else "")
    )


def email_message(incidents: list[Incident], sender: str, to: str, superset_url: str) -> EmailMessage:
    """A plain-text email. Its Message-ID comes from the ledger keys, so the same alert always has
    the same one; X-PulseOps-Alerts lists them for mail rules."""
    parts = []
    for incident in incidents:
        lines = [headline(incident), "=" * len(headline(incident))]
        lines += [f"{label}: {value}" for label, value in incident.facts]
        lines += [f"{label}: {url}" for label, url in _links(incident, superset_url)]
        parts.append("\n".join(lines))
    message = EmailMessage()
    message["Subject"] = _subject(incidents)
    message["From"] = sender
    message["To"] = to
    keys = [alert_id(i) for i in incidents]
    digest = hashlib.sha256("\n".join(keys + [to]).encode()).hexdigest()[:40]
    message["Message-ID"] = f"<{digest}@pulseops.alerts>"
    message["X-PulseOps-Alerts"] = ", ".join(keys)
    message.set_content("\n\n".join(parts) + "\n\n-- \nPulseOps alerts. Who gets what is set in the alerts file.\n")
    return message


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(incidents: list[Incident], superset_url: str) -> dict:
    """A Slack incoming-webhook body: `text` (notifications and fallback) and Block Kit `blocks`."""
    blocks: list[dict] = []
    if len(incidents) > 1:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": f"PulseOps: {len(incidents)} alerts"}})
    for incident in incidents:
        if len(incidents) == 1:
            blocks.append({"type": "header", "text": {"type": "plain_text", "text": headline(incident)[:150]}})
        else:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{_mrkdwn(headline(incident))}*"}})
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_mrkdwn(label)}*\n{_mrkdwn(str(value))}"[:2000]}
                    for label, value in incident.facts[:10]
                ],
            }
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _mrkdwn(reference(incident))}]})
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
                    for label, url in _links(incident, superset_url)
                ],
            }
        )
        if len(incidents) > 1:
            blocks.append({"type": "divider"})
    return {"text": _subject(incidents), "blocks": blocks}


def teams_payload(incidents: list[Incident], superset_url: str) -> dict:
    """A Teams message with one Adaptive Card, as a Teams workflow ("When a Teams webhook request is
    received") or an incoming webhook accepts it."""
    body: list[dict] = []
    if len(incidents) > 1:
        body.append(
            {
                "type": "TextBlock",
                "text": f"PulseOps: {len(incidents)} alerts",
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
            }
        )
    for incident in incidents:
        body.append(
            {
                "type": "Container",
                "separator": len(body) > 0,
                "items": [
                    {
                        "type": "TextBlock",
                        "text": headline(incident),
                        "size": "Medium",
                        "weight": "Bolder",
                        "wrap": True,
                    },
                    {
                        "type": "FactSet",
                        "facts": [{"title": label, "value": str(value)} for label, value in incident.facts],
                    },
                    {"type": "TextBlock", "text": reference(incident), "isSubtle": True, "size": "Small", "wrap": True},
                    {
                        "type": "ActionSet",
                        "actions": [
                            {"type": "Action.OpenUrl", "title": label, "url": url}
                            for label, url in _links(incident, superset_url)
                        ],
                    },
                ],
            }
        )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    return {
        "type": "message",
        "summary": _subject(incidents),
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
