"""One ingestion of one landed file, timed inside the process (imports excluded).

Run by ingest_bench.py in a child process so the parent can read the child's peak RSS.
Usage: python -m bench.ingest_run STORE_ROOT KEY DATABASE_URL
"""

import json
import sys
import time
from pathlib import Path

import great_expectations  # noqa: F401  (imported up front: a one-off cost of the process, not of a load)
import psycopg

from ingestion.contracts import BY_NAME
from ingestion.loader import ensure_raw_schema, load_file
from ingestion.object_store import LocalObjectStore


def main(store_root: str, key: str, database_url: str) -> None:
    store = LocalObjectStore(Path(store_root))
    contract = BY_NAME["saas__daily_usage"]
    stored = next(o for o in store.list(contract.landing_prefix) if o.key == key)
    with psycopg.connect(database_url) as conn:
        ensure_raw_schema(conn, [contract])
        conn.execute(f"truncate {contract.raw_table}")
        conn.execute("delete from raw._ingestion_ledger")
        conn.commit()
        started = time.perf_counter()
        result = load_file(conn, store, contract, stored)
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": result.rows_loaded, "status": result.status}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
