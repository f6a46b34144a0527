"""Small MSP estates for the end-to-end tests: the demo generator at a new customer's size, and
hand-cut estates at the edges (one client, one month, no tickets, no spend, no invoices, no use)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import pandas as pd

from ingestion.demo import SCALES, Scale, generate
from tests.conftest import AS_OF, PipelineRun
from tests.support import throwaway_database

# A new customer: ten clients and four months of history.
NEW_CUSTOMER = Scale(clients=10, months=4, employees=20, usage_days=21)
PORTFOLIOS = {"10 clients, 4 months": NEW_CUSTOMER, "XS demo": SCALES["XS"]}


def write_frames(run: PipelineRun, frames: dict[str, pd.DataFrame | str], as_of: date = AS_OF) -> None:
    """Put each entity into the landing zone as its source delivers it: a frame through the demo's
    own writer, a text (CSV written by hand) as it is."""
    from ingestion.contracts import BY_NAME
    from ingestion.demo.landing import GZIPPED, write_csv

    store = run.store()
    with TemporaryDirectory(prefix="pulseops-small-") as tmp:
        for name, frame in frames.items():
            source, entity = name.split("/")
            if isinstance(frame, str):
                store.put_bytes(f"landing/{source}/{entity}/{entity}_{as_of.isoformat()}.csv", frame.encode())
                continue
            path = Path(tmp) / f"{entity}_{as_of.isoformat()}{'.csv.gz' if name in GZIPPED else '.csv'}"
            write_csv(frame, BY_NAME[f"{source}__{entity}"], path)
            store.put_file(path, f"landing/{source}/{entity}/{path.name}")


def run_pipeline(run: PipelineRun, frames: dict[str, pd.DataFrame | str]):
    """Land the frames and run the whole pipeline once; the Dagster result."""
    from orchestration.pipeline import run_job
    from pulseops_core.settings import Settings
    from pulseops_core.warehouse import resolve_database_url

    with run.activate():
        write_frames(run, frames)
        result = run_job("pulseops_job")
        run.database_url = resolve_database_url(Settings.from_env())
    return result


@contextmanager
def backend(name: str, state: Path):
    """A PipelineRun on the embedded PostgreSQL (stopped afterwards) or a throwaway external database."""
    if name == "embedded":
        from pulseops_core import embedded_postgres

        try:
            yield PipelineRun(name, {"PULSEOPS_HOME": str(state)})
        finally:
            embedded_postgres.stop(state)
    else:
        with throwaway_database() as url:
            yield PipelineRun(name, {"PULSEOPS_HOME": str(state), "DATABASE_URL": url})


def demo_frames(scale: Scale) -> tuple[dict[str, pd.DataFrame], dict]:
    return generate(scale, AS_OF)


def focus_department(tags: str) -> str | None:
    return json.loads(tags).get("department") if isinstance(tags, str) and tags else None
