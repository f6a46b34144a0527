"""Ingestion speed and memory against `psql \\copy`, measured in the same run.

Loads an M-scale daily-usage file (2.4 million rows) through the real ingestion path
(validation + raw Parquet + Postgres COPY) and, on the same server, the same file with
`psql \\copy` into an unindexed table; then the same ingestion of a file four times larger, to
show that memory stays flat. Writes bench/results.json and BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from bench.report import write_results
from ingestion.object_store import LocalObjectStore
from pulseops_core import embedded_postgres
from pulseops_core.settings import Settings

ROWS = 2_400_000
REPEATS = 5
COLUMNS = "usage_date, employee_id, application_id, active, activity_count"


def usage_file(path: Path, rows: int, seed: int = 11) -> None:
    """A daily-usage export like the demo's, written in 1M-row blocks to keep this process small."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(end=date(2026, 11, 25), periods=365).strftime("%Y-%m-%d").to_numpy()
    written = 0
    with open(path, "w") as handle:
        handle.write("usage_date,employee_id,application_id,active,activity_count\n")
        while written < rows:
            n = min(1_000_000, rows - written)
            index = np.arange(written, written + n)
            active = rng.random(n) < 0.7
            block = pd.DataFrame(
                {
                    "usage_date": days[index % 365],
                    "employee_id": np.char.add("E", (index // 365).astype(str)),
                    "application_id": "APP001",
                    "active": np.where(active, "true", "false"),
                    "activity_count": np.where(active, rng.poisson(12, n), 0),
                }
            )
            block.to_csv(handle, header=False, index=False)
            written += n


def psql_copy_seconds(url: str, path: Path) -> float:
    parts = urlsplit(url)
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    base = [
        "psql",
        "-X",
        "-q",
        "-h",
        parts.hostname,
        "-p",
        str(parts.port),
        "-U",
        parts.username,
        "-d",
        parts.path.lstrip("/"),
        "-v",
        "ON_ERROR_STOP=1",
    ]
    subprocess.run(
        base
        + [
            "-c",
            "drop table if exists bench_psql_copy; create table bench_psql_copy "
            "(usage_date date, employee_id text, application_id text, active boolean, "
            "activity_count bigint)",
        ],
        env=env,
        check=True,
    )
    started = time.perf_counter()
    subprocess.run(
        base + ["-c", f"\\copy bench_psql_copy ({COLUMNS}) from '{path}' with (format csv, header true)"],
        env=env,
        check=True,
    )
    return time.perf_counter() - started


def ingest(store_root: Path, key: str, url: str) -> tuple[float, int, float]:
    """(seconds, rows, peak RSS in MB) of one ingestion in a child process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.ingest_run", str(store_root), key, url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"ingestion run failed: {output}")
    figures = json.loads(output)
    assert figures["status"] == "loaded", figures
    return figures["seconds"], figures["rows"], usage.ru_maxrss / 1024


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="pulseops-bench-"))
    settings = Settings.from_env()
    url = settings.database_url
    server_dir = work / "state"
    if not url:
        url = embedded_postgres.ensure_running(server_dir, server_dir / "secrets").url
    store = LocalObjectStore(work / "objectstore")
    try:
        print(f"writing {ROWS:,} and {4 * ROWS:,} row usage files ...", flush=True)
        one_x, four_x = work / "usage_1x.csv", work / "usage_4x.csv"
        usage_file(one_x, ROWS)
        usage_file(four_x, 4 * ROWS)
        store.put_file(one_x, "landing/saas/daily_usage/usage_1x.csv")
        store.put_file(four_x, "landing/saas/daily_usage/usage_4x.csv")

        copy_runs, ingest_runs, rss_1x = [], [], []
        for attempt in range(REPEATS):
            copy_runs.append(psql_copy_seconds(url, one_x))
            seconds, rows, rss = ingest(store.root, "landing/saas/daily_usage/usage_1x.csv", url)
            assert rows == ROWS
            ingest_runs.append(seconds)
            rss_1x.append(rss)
            print(
                f"  run {attempt + 1}: psql \\copy {copy_runs[-1]:.2f} s, ingestion {seconds:.2f} s, "
                f"peak RSS {rss:.0f} MB",
                flush=True,
            )
        seconds_4x, rows_4x, rss_4x = ingest(store.root, "landing/saas/daily_usage/usage_4x.csv", url)
        assert rows_4x == 4 * ROWS
        print(f"  4x file: ingestion {seconds_4x:.2f} s, peak RSS {rss_4x:.0f} MB", flush=True)

        copy_s, ingest_s = statistics.median(copy_runs), statistics.median(ingest_runs)
        write_results(
            "ingestion",
            {
                "ingest_rows": ROWS,
                "ingest_rows_per_s": round(ROWS / ingest_s),
                "psql_copy_rows_per_s": round(ROWS / copy_s),
                "ingest_vs_psql_copy": round(copy_s / ingest_s, 3),
                "ingest_peak_rss_mb_1x": round(max(rss_1x)),
                "ingest_peak_rss_mb_4x": round(rss_4x),
                "ingest_4x_rows_per_s": round(4 * ROWS / seconds_4x),
            },
            notes=f"median of {REPEATS} runs each, same server, same file; ingestion timed inside the process "
            "(validation with Great Expectations, raw Parquet, COPY); psql \\copy into an unindexed table.",
        )
    finally:
        if not settings.database_url:
            embedded_postgres.stop(server_dir)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
