"""Fixtures that run the real pipeline on demo data, once per backend and session."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.support import (
    PULSEOPS_ENV_KEYS,
    REPO,
    environment,
    moto_server,
    throwaway_database,
)

AS_OF = date(2026, 11, 25)
SCALE = "S"

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass
class PipelineRun:
    """A warehouse filled by the real pipeline from demo files, and how to reach it."""

    name: str
    env: dict[str, str | None]
    database_url: str = ""
    landing: dict[str, pd.DataFrame] = field(default_factory=dict)
    truth: dict = field(default_factory=dict)

    @contextmanager
    def activate(self):
        with environment(**{**{key: None for key in PULSEOPS_ENV_KEYS}, **self.env}):
            yield

    def store(self):
        from orchestration.resources import ObjectStoreResource

        return ObjectStoreResource().store()


def fill_with_demo_data(run: PipelineRun, job: str = "pulseops_job", scale: str = SCALE) -> PipelineRun:
    from ingestion.demo import SCALES, generate, write_to_landing
    from orchestration.pipeline import failure_summary, run_job
    from pulseops_core.settings import Settings
    from pulseops_core.warehouse import resolve_database_url

    with run.activate():
        run.landing, run.truth = generate(SCALES[scale], AS_OF)
        write_to_landing(run.store(), scale, AS_OF)
        result = run_job(job)
        assert result.success, failure_summary(result)
        run.database_url = resolve_database_url(Settings.from_env())
    return run


@contextmanager
def ingested_demo_warehouse(name: str, state: Path, scale: str):
    """A throwaway database on the external server holding a demo dataset as the ingest job loads it,
    with the analyst role dbt grants to; active while in use. For tests that run dbt themselves."""
    import psycopg

    from pulseops_core.secrets import read_or_create_secret
    from pulseops_core.settings import Settings
    from pulseops_core.warehouse import libpq_url
    from pulseops_core.warehouse_logins import ensure_superset_logins

    with throwaway_database() as url:
        run = fill_with_demo_data(
            PipelineRun(name, {"PULSEOPS_HOME": str(state), "DATABASE_URL": url}), job="ingest_job", scale=scale
        )
        with run.activate():
            with psycopg.connect(libpq_url(url)) as conn:
                ensure_superset_logins(
                    conn, read_or_create_secret(Settings.from_env().secrets_dir, "analyst_password")[0]
                )
            yield run


@pytest.fixture(scope="session")
def artefacts_dir() -> Path:
    folder = REPO / "test-artefacts"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def embedded_pipeline(tmp_path_factory):
    from pulseops_core import embedded_postgres

    state = tmp_path_factory.mktemp("embedded-state")
    run = PipelineRun("embedded", {"PULSEOPS_HOME": str(state)})
    try:
        yield fill_with_demo_data(run)
    finally:
        embedded_postgres.stop(state)


@pytest.fixture(scope="session")
def external_pipeline(tmp_path_factory):
    with throwaway_database() as url:
        state = tmp_path_factory.mktemp("external-state")
        yield fill_with_demo_data(PipelineRun("external", {"PULSEOPS_HOME": str(state), "DATABASE_URL": url}))


@pytest.fixture(scope="session", params=["embedded", "external"])
def pipeline(request) -> PipelineRun:
    return request.getfixturevalue(f"{request.param}_pipeline")


@pytest.fixture(scope="session")
def warehouse_url(embedded_pipeline) -> str:
    """A warehouse populated by the real pipeline (for the Superset tests)."""
    return embedded_pipeline.database_url


@pytest.fixture(scope="session")
def analyst_password(embedded_pipeline) -> str:
    """The read-only analyst's warehouse password, as the pipeline generated it."""
    return (Path(embedded_pipeline.env["PULSEOPS_HOME"]) / "secrets" / "analyst_password").read_text().strip()


@pytest.fixture(scope="session")
def superset(warehouse_url, analyst_password, tmp_path_factory):
    """A real Superset over `warehouse_url` with the dashboards kept as code; started once for every
    module that reads those dashboards (~40 s, ~700 MB)."""
    from tests.superset_support import start_superset

    server = start_superset(tmp_path_factory.mktemp("superset-state"), warehouse_url, analyst_password=analyst_password)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api(superset):
    """An admin REST session to `superset`."""
    from tests.superset_support import SupersetApi

    return SupersetApi.for_server(superset)


@pytest.fixture(scope="module")
def raw_database() -> str:
    """A throwaway database on the external server with every raw table, for tests of single loads."""
    import psycopg

    from ingestion.contracts import CONTRACTS
    from ingestion.raw_tables import ensure_raw_schema

    with throwaway_database() as url:
        with psycopg.connect(url) as conn:
            ensure_raw_schema(conn, CONTRACTS)
        yield url


@pytest.fixture(scope="module")
def raw_warehouse(raw_database):
    """A connection to `raw_database`."""
    import psycopg

    with psycopg.connect(raw_database) as conn:
        yield conn


@pytest.fixture(scope="module")
def module_store(tmp_path_factory):
    """A local object store for the module's loads."""
    from ingestion.object_store import LocalObjectStore

    return LocalObjectStore(tmp_path_factory.mktemp("objectstore"))


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """A real S3 protocol server (moto_server) on loopback."""
    with moto_server() as endpoint:
        yield endpoint
