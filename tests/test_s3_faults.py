"""Loads through an S3 that throttles and drops connections: a small fault-injecting proxy in front
of the moto server answers some requests 503 SlowDown and cuts others off without an answer. The
store's retries carry every load through, and every file's rows land exactly once."""

from __future__ import annotations

import psycopg
import pytest

from bench.faults import FaultyS3
from ingestion.contracts import BY_NAME, CONTRACTS
from ingestion.loader import load_file
from ingestion.object_store import S3ObjectStore
from ingestion.raw_tables import ensure_raw_schema
from tests.support import environment, make_bucket, s3_environment, throwaway_database

CONTRACT = BY_NAME["psa__tickets"]
BUCKET = "pulseops-faults"


@pytest.fixture
def faulty_s3(s3_endpoint):
    make_bucket(s3_endpoint, BUCKET)
    proxy = FaultyS3(s3_endpoint)
    try:
        yield proxy
    finally:
        proxy.close()


def test_loads_complete_through_throttling_and_dropped_connections(faulty_s3, s3_endpoint):
    header = (
        "ticket_id,client_id,priority,category,created_at,first_response_at,resolved_at,"
        "sla_response_met,sla_resolution_met,reopen_count\n"
    )
    with environment(**s3_environment(faulty_s3.url, BUCKET)), throwaway_database() as url:
        store = S3ObjectStore(BUCKET, endpoint_url=faulty_s3.url)
        for n in range(4):
            rows = "".join(f"S3F{n}-{i},C1,P{1 + i % 4},Net,2024-03-01T10:00:00,,,true,,0\n" for i in range(50))
            store.put_bytes(f"{CONTRACT.landing_prefix}faulty_{n}.csv", (header + rows).encode())
        with psycopg.connect(url) as conn:
            ensure_raw_schema(conn, CONTRACTS)
            statuses = [
                load_file(conn, store, CONTRACT, stored).status for stored in store.list(CONTRACT.landing_prefix)
            ]
            loaded = conn.execute("select count(*), count(distinct ticket_id) from raw.psa__tickets").fetchone()
    assert statuses == ["loaded"] * 4
    assert loaded == (200, 200), "every row exactly once"
    assert faulty_s3.faults >= 5, f"only {faulty_s3.faults} faults were injected in {faulty_s3.requests} requests"
