"""Shared test helpers: environment switching, free ports, throwaway databases, moto_server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
EXTERNAL_ADMIN_URL = os.environ.get("PULSEOPS_TEST_EXTERNAL_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PULSEOPS_ENV_KEYS = (
    "PULSEOPS_HOME",
    "DATABASE_URL",
    "PULSEOPS_S3_BUCKET",
    "PULSEOPS_S3_ENDPOINT_URL",
    "PULSEOPS_S3_PREFIX",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
)


@contextmanager
def environment(**values: str | None):
    """Set (or, for None, unset) environment variables for the duration of the block."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_database(prefix: str = "pulseops_test"):
    """A fresh database on the external PostgreSQL server; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(EXTERNAL_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield EXTERNAL_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(EXTERNAL_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@contextmanager
def moto_server():
    """A real S3 protocol server on loopback; yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)


def s3_environment(endpoint: str, bucket: str) -> dict[str, str]:
    # moto accepts any credentials; these are not secrets of any real account.
    return {
        "PULSEOPS_S3_BUCKET": bucket,
        "PULSEOPS_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def query(url: str, sql: str, params=None) -> list[tuple]:
    from pulseops_core.warehouse import libpq_url

    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(url: str, sql: str, params=None):
    return query(url, sql, params)[0][0]


def make_bucket(endpoint: str, name: str):
    """Create a bucket on the S3 protocol server and return a boto3 client for it."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=name)
    return client


def build_warehouse(url: str, selection=None, full_refresh: bool = False, dbt_vars: str = ""):
    """The dbt build as Dagster materializes it (orchestration/defs/dbt.py), of `selection` (default:
    every dbt asset) less the reporting models, which wait for the ML scores. Returns the run's
    result; dbt's failures fail it."""
    from dagster import AssetSelection, materialize

    from orchestration.dbt_project import dbt_resource
    from orchestration.defs.dbt import warehouse_models
    from orchestration.resources import WarehouseResource

    chosen = (selection or AssetSelection.all()) - AssetSelection.key_prefixes("reporting")
    config = {"full_refresh": full_refresh, "dbt_vars": dbt_vars}
    return materialize(
        [warehouse_models],
        selection=chosen,
        raise_on_error=False,
        resources={"dbt": dbt_resource(), "warehouse": WarehouseResource(database_url=url)},
        run_config={"ops": {warehouse_models.op.name: {"config": config}}},
    )


def build_by_hand(url: str, *args: str) -> subprocess.CompletedProcess:
    """`dbt build` run by hand in dbt_project/ as the README shows (profiles in the project, the
    connection in PULSEOPS_PG_* variables), reporting models left out."""
    from orchestration.dbt_project import DBT_EXECUTABLE
    from pulseops_core.warehouse import dbt_environment

    return subprocess.run(
        [DBT_EXECUTABLE, "build", "--profiles-dir", ".", "--exclude", "path:models/reporting", *args],
        cwd=REPO / "dbt_project",
        env={**os.environ, **dbt_environment(url)},
        capture_output=True,
        text=True,
        check=False,
    )
