"""Faults injected for real into loads, and what the warehouse holds afterwards.

On a fresh embedded PostgreSQL and an in-process S3 protocol server (moto): two loads of one file
started together, a commit the database refuses, the server stopped and started while a load holds
its file, and an S3 that throttles (503 SlowDown) and drops connections. After each, the expected
rows are counted in the raw table and the object store is searched for objects no ledger row names.
Writes `faults_injected`, `faults_survived`, `rows_lost`, `rows_duplicated` to BENCHMARKS.md.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import psycopg

from bench.faults import FaultyS3, commits_refused, wait_until_a_load_holds_its_file
from bench.ingest_bench import usage_file
from bench.report import write_results
from ingestion.contracts import BY_NAME, CONTRACTS
from ingestion.loader import load_file
from ingestion.object_store import LocalObjectStore, S3ObjectStore
from ingestion.raw_tables import ensure_raw_schema
from pulseops_core import embedded_postgres

TICKETS = BY_NAME["psa__tickets"]
USAGE = BY_NAME["saas__daily_usage"]
HEADER = (
    "ticket_id,client_id,priority,category,created_at,first_response_at,resolved_at,"
    "sla_response_met,sla_resolution_met,reopen_count\n"
)


def tickets(prefix: str, count: int) -> bytes:
    return (HEADER + "".join(f"{prefix}{n},C1,P2,Net,2024-03-01T10:00:00,,,true,,0\n" for n in range(count))).encode()


def count(url: str, table: str, like: str = "%") -> int:
    column = "ticket_id" if table.endswith("tickets") else "employee_id"
    with psycopg.connect(url) as conn:
        return conn.execute(f"select count(*) from {table} where {column} like %s", (like,)).fetchone()[0]


def orphans(url: str, store) -> int:
    """Raw-zone objects that no ledger row names (a load that did not commit must leave none)."""
    with psycopg.connect(url) as conn:
        named = {key for (key,) in conn.execute("select parquet_key from raw._ingestion_ledger")}
    return sum(1 for o in store.list("raw/") if o.key not in named)


def load(url: str, store, contract, key: str):
    stored = next(o for o in store.list(contract.landing_prefix) if o.key == key)
    with psycopg.connect(url) as conn:
        return load_file(conn, store, contract, stored)


def race(url: str, store) -> tuple[int, int]:
    """Two loads of one file at once, five times: (rows expected, rows held)."""
    for round_ in range(5):
        key = f"{TICKETS.landing_prefix}race_{round_}.csv"
        store.put_bytes(key, tickets(f"RACE{round_}-", 1_000))
        start = threading.Barrier(2)

        def both(key=key, start=start):
            start.wait()
            load(url, store, TICKETS, key)

        threads = [threading.Thread(target=both) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return 5_000, count(url, "raw.psa__tickets", "RACE%")


def refused_commit(url: str, store) -> tuple[int, int]:
    key = f"{TICKETS.landing_prefix}refused.csv"
    store.put_bytes(key, tickets("REFUSED-", 500))
    with commits_refused(url):
        try:
            load(url, store, TICKETS, key)
        except psycopg.Error:
            pass
    load(url, store, TICKETS, key)  # the next run
    return 500, count(url, "raw.psa__tickets", "REFUSED%")


def restart(state: Path, store, work: Path) -> tuple[int, int, str]:
    path = work / "usage.csv"
    usage_file(path, 600_000)
    key = f"{USAGE.landing_prefix}usage.csv"
    store.put_file(path, key)
    url = embedded_postgres.ensure_running(state, state / "secrets").url
    worker = threading.Thread(target=lambda: _tolerating(psycopg.OperationalError, load, url, store, USAGE, key))
    worker.start()
    wait_until_a_load_holds_its_file(url)
    embedded_postgres.stop(state)
    worker.join()
    url = embedded_postgres.ensure_running(state, state / "secrets").url
    load(url, store, USAGE, key)
    return 600_000, count(url, "raw.saas__daily_usage"), url


def s3_faults(url: str) -> tuple[int, int, int]:
    import os
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # moto accepts any credentials; these are not those of any real account
    placeholder = "testing"
    os.environ.update(AWS_ACCESS_KEY_ID=placeholder, AWS_SECRET_ACCESS_KEY=placeholder, AWS_DEFAULT_REGION="us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    proxy = FaultyS3(f"http://127.0.0.1:{port}")
    try:
        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}").create_bucket(Bucket="faults")
        store = S3ObjectStore("faults", endpoint_url=proxy.url)
        for n in range(4):
            store.put_bytes(f"{TICKETS.landing_prefix}s3_{n}.csv", tickets(f"S3F{n}-", 250))
        for stored in store.list(TICKETS.landing_prefix):
            load(url, store, TICKETS, stored.key)
        return 1_000, count(url, "raw.psa__tickets", "S3F%"), proxy.faults
    finally:
        proxy.close()
        server.stop()


def _tolerating(error_type, function, *args):
    try:
        function(*args)
    except error_type:
        pass


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="pulseops-fault-bench-"))
    state = work / "state"
    url = embedded_postgres.ensure_running(state, state / "secrets").url
    with psycopg.connect(url) as conn:
        ensure_raw_schema(conn, CONTRACTS)
    store = LocalObjectStore(work / "objects")
    outcomes = []
    try:
        print("two loads of one file at once (5 rounds) ...", flush=True)
        outcomes.append(("race", 5, *race(url, store)))
        print("a commit the database refuses ...", flush=True)
        outcomes.append(("refused commit", 1, *refused_commit(url, store)))
        print("the server restarted while a load holds its file ...", flush=True)
        expected, held, url = restart(state, store, work)
        outcomes.append(("server restart", 1, expected, held))
        print("S3 throttling and dropped connections ...", flush=True)
        expected, held, injected = s3_faults(url)
        outcomes.append(("s3 faults", injected, expected, held))
        orphaned = orphans(url, store)
    finally:
        embedded_postgres.stop(state)
    survived = sum(faults for _, faults, expected, held in outcomes if expected == held)
    for name, faults, expected, held in outcomes:
        print(f"  {name}: {faults} fault(s), {expected} rows expected, {held} held", flush=True)
    write_results(
        "faults",
        {
            "faults_injected": sum(faults for _, faults, _, _ in outcomes),
            "faults_survived": survived,
            "rows_lost": sum(max(0, expected - held) for _, _, expected, held in outcomes),
            "rows_duplicated": sum(max(0, held - expected) for _, _, expected, held in outcomes),
            "orphan_objects": orphaned,
        },
        notes="Loads with faults injected for real (bench/faults.py): two loads of one file started together "
        "(5 rounds), a commit the database refuses, the embedded server stopped and started while a "
        "load holds its file, an S3 answering 503 SlowDown and dropping connections; a fault is "
        "survived when the warehouse then holds every expected row exactly once.",
    )


if __name__ == "__main__":
    main()
