"""The delivery ledger on a real PostgreSQL: a failed send records nothing, a sent alert is never
sent again, and two senders racing for the same alert send it once."""

from __future__ import annotations

import threading

import psycopg
import pytest

from orchestration.defs.alerts.ledger import ensure_ledger, send_once
from tests.support import throwaway_database

ITEMS = [("churn_risk", "C00001@2026-11-25", "opened"), ("churn_risk", "C00002@2026-11-25", "opened")]


@pytest.fixture
def ledger_url():
    with throwaway_database("pulseops_ledger") as url:
        with psycopg.connect(url) as conn:
            ensure_ledger(conn)
        yield url


def rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select kind, incident_key, event, recipient, dagster_run_id from alerts.deliveries order by 2"
        ).fetchall()


def test_a_failed_send_records_nothing_and_a_sent_one_is_not_sent_again(ledger_url):
    sent = []

    def refuse(items):
        raise ConnectionRefusedError("smtp down")

    with psycopg.connect(ledger_url) as conn:
        with pytest.raises(ConnectionRefusedError):
            send_once(conn, ITEMS, "email:a@x", "run-1", refuse)
        assert rows(ledger_url) == []
        assert send_once(conn, ITEMS, "email:a@x", "run-2", sent.append) == ITEMS
        assert send_once(conn, ITEMS + [("stale_source", "m365@x", "opened")], "email:a@x", "run-3", sent.append) == [
            ("stale_source", "m365@x", "opened")
        ]
        assert send_once(conn, ITEMS, "slack:ops", "run-3", sent.append) == ITEMS  # another recipient
    assert sent == [ITEMS, [("stale_source", "m365@x", "opened")], ITEMS]
    assert [(r[1], r[3], r[4]) for r in rows(ledger_url)] == [
        ("C00001@2026-11-25", "email:a@x", "run-2"),
        ("C00001@2026-11-25", "slack:ops", "run-3"),
        ("C00002@2026-11-25", "email:a@x", "run-2"),
        ("C00002@2026-11-25", "slack:ops", "run-3"),
        ("m365@x", "email:a@x", "run-3"),
    ]


def test_two_senders_racing_send_once(ledger_url):
    """The first sender holds its claim until the receiver answered; the second waits on the
    uncommitted row and then finds the alert taken."""
    receiver: list = []
    first_is_sending, release = threading.Event(), threading.Event()

    def slow_send(items):
        first_is_sending.set()
        assert release.wait(30)
        receiver.append(("first", list(items)))

    def first():
        with psycopg.connect(ledger_url) as conn:
            send_once(conn, ITEMS, "teams:it", "run-a", slow_send)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_is_sending.wait(30)
    second_result = []

    def second():
        with psycopg.connect(ledger_url) as conn:
            second_result.append(
                send_once(conn, ITEMS, "teams:it", "run-b", lambda items: receiver.append(("second", list(items))))
            )

    racer = threading.Thread(target=second)
    racer.start()
    racer.join(2)
    assert racer.is_alive(), "the second sender waits for the first one's transaction"
    release.set()
    thread.join(30)
    racer.join(30)
    assert receiver == [("first", ITEMS)] and second_result == [[]]
    assert {r[4] for r in rows(ledger_url)} == {"run-a"}
