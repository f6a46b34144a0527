"""A load killed at any instant (kill -9) leaves all of the file or none of it, and the next run
completes it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bench.ingest_bench import usage_file
from tests.support import scalar, throwaway_database

ROWS = 600_000


def _copy_in_progress(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return (
            conn.execute(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and query ilike 'copy raw.saas__daily_usage%%' and state = 'active'"
            ).fetchone()[0]
            > 0
        )


def test_killed_load_leaves_nothing_and_rerun_completes(tmp_path):
    big = tmp_path / "daily_usage_big.csv"
    usage_file(big, ROWS)
    pulseops = str(Path(sys.executable).parent / "pulseops")
    with throwaway_database() as url:
        env = {**os.environ, "PULSEOPS_HOME": str(tmp_path / "home"), "DATABASE_URL": url}
        env.pop("PULSEOPS_S3_BUCKET", None)
        command = [pulseops, "ingest", str(big), "--source", "saas", "--entity", "daily_usage"]
        victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not _copy_in_progress(url):
            assert victim.poll() is None, "the load finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        while _copy_in_progress(url):  # the server notices the dead client and rolls back
            time.sleep(0.1)

        assert scalar(url, "select count(*) from raw.saas__daily_usage") == 0
        assert scalar(url, "select count(*) from raw._ingestion_ledger") == 0

        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        assert scalar(url, "select count(*) from raw.saas__daily_usage") == ROWS
        assert scalar(url, "select rows_loaded from raw._ingestion_ledger") == ROWS


# Run in a child whose file-size limit makes the kernel refuse the write (EFBIG), as a full disk would.
_WRITE_PAST_THE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from ingestion.object_store import LocalObjectStore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    LocalObjectStore(Path(sys.argv[1])).put_bytes("landing/psa/tickets/big.csv", b"x" * 100_000)
except OSError as error:
    print(error.errno)
"""


def test_a_write_the_disk_refuses_leaves_no_partial_object(tmp_path):
    import errno

    done = subprocess.run(
        [sys.executable, "-c", _WRITE_PAST_THE_LIMIT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[1],
    )
    assert done.stdout.strip() == str(errno.EFBIG), done.stderr
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [], "no .partial file, no half object"
