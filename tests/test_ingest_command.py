"""`pulseops ingest`: an operator loads one file or folder by hand; bad input means a clear error
naming the file, the row and the rule, and a non-zero exit."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, scalar, throwaway_database

CORPUS = REPO / "tests" / "data" / "bad_inputs"


@pytest.fixture(scope="module")
def operator_env(tmp_path_factory):
    with throwaway_database() as url:
        env = {**os.environ, "PULSEOPS_HOME": str(tmp_path_factory.mktemp("ingest-home")), "DATABASE_URL": url}
        for key in ("PULSEOPS_S3_BUCKET", "PULSEOPS_S3_ENDPOINT_URL"):
            env.pop(key, None)
        yield env, url


def pulseops(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "pulseops"), *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_good_file_loads(operator_env):
    env, url = operator_env
    done = pulseops(env, "ingest", str(CORPUS / "windows_crlf_bom.csv"), "--source", "psa", "--entity", "clients")
    assert done.returncode == 0, done.stderr
    assert "landing/psa/clients/windows_crlf_bom.csv: loaded, 2 of 2 rows loaded" in done.stdout
    assert scalar(url, "select count(*) from raw.psa__clients") == 2


def test_bad_file_fails_with_file_row_and_rule(operator_env):
    env, url = operator_env
    done = pulseops(env, "ingest", str(CORPUS / "wrong_type_integer.csv"), "--source", "psa", "--entity", "tickets")
    assert done.returncode == 1
    assert "landing/psa/tickets/wrong_type_integer.csv: loaded_with_rejects, 2 of 3 rows loaded, 1 rejected" in done.stdout
    assert "type on reopen_count rows [2] e.g. ['two'] expected integer" in done.stdout
    assert "broke the psa__tickets contract" in done.stderr
    assert scalar(url, "select count(*) from raw.psa__tickets") == 2


def test_unknown_source_is_a_usage_error(operator_env):
    env, _ = operator_env
    done = pulseops(env, "ingest", str(CORPUS / "empty.csv"), "--source", "psa")
    assert done.returncode == 2
    assert "has several entities, name one with --entity" in done.stderr
