"""The delivery ledger: one row per incident, event (opened or resolved) and recipient, written in
the transaction that sends it.

`send_once` claims the rows (INSERT ... ON CONFLICT DO NOTHING), sends, then commits. A failed send
rolls the claim back, so the next attempt sends it; a claim already committed by an earlier run,
retry or re-execution makes the send a no-op; a run claiming the same row at the same moment waits
on the uncommitted row and then finds it taken. So a receiver gets each alert once, with one edge:
if the process dies (or the database connection drops) after the receiver accepted the message and
before the commit, the next run sends it again (at least once, never lost). Emails carry a
Message-ID derived from the ledger key, so a mail system that drops duplicates drops that one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

DELIVERIES = "alerts.deliveries"
CREATE_DELIVERIES = f"""
create schema if not exists alerts;
create table if not exists {DELIVERIES} (
    kind text not null,
    incident_key text not null,
    event text not null,
    recipient text not null,
    sent_at timestamptz not null default now(),
    dagster_run_id text,
    primary key (kind, incident_key, event, recipient)
);
"""


def ensure_ledger(conn) -> None:
    conn.execute(CREATE_DELIVERIES)
    conn.commit()


def delivered(conn) -> set[tuple[str, str, str, str]]:
    """Every (kind, incident_key, event, recipient) already sent."""
    rows = conn.execute(f"select kind, incident_key, event, recipient from {DELIVERIES}").fetchall()
    conn.rollback()
    return set(rows)


def send_once(
    conn,
    items: Sequence[tuple[str, str, str]],
    recipient: str,
    run_id: str,
    send: Callable[[Sequence[tuple[str, str, str]]], None],
) -> list[tuple[str, str, str]]:
    """Send the (kind, incident_key, event) items not yet sent to `recipient` in one message, and
    record them in the same transaction. Returns the items sent; raises what `send` raises, with
    nothing recorded."""
    conn.commit()  # at the top level, transaction() is this send's own transaction, not a savepoint
    with conn.transaction():
        claimed = [
            item
            for item in items
            if conn.execute(
                f"insert into {DELIVERIES} (kind, incident_key, event, recipient, dagster_run_id) "
                "values (%s, %s, %s, %s, %s) on conflict do nothing returning 1",
                (*item, recipient, run_id),
            ).fetchone()
        ]
        if claimed:
            send(claimed)
    return claimed
