"""dbt build at M scale: a full build, then the build Dagster runs after one new day of data.

Loads the M-scale demo (2,500 clients, 10,000 employees, ~10 million rows) through the ingest job
into a fresh embedded PostgreSQL, times the Dagster materialization of the dbt assets (`dbt build`
through DbtCliResource; models, seed and data tests, as scheduled builds run it: unit tests run in
`make test`; the reporting models wait for the ML scores and are left out), delivers one new day
of every daily fact (usage, FOCUS costs, tickets, time entries, RMM snapshots) with late rows for
old days (FOCUS: the current billing period month to date and the previous one re-delivered),
ingests it and times the build of what lies downstream of those five sources (the selection the
landing sensor requests, orchestration/defs/automation.py). Then, with another new day, times the
whole path a landing triggers (sensor -> ingestion -> dbt -> ML scores -> reporting) with each
stage's share. The same one-day build on a warehouse holding three times the history gives
dbt_incremental_history_ratio. Writes bench/results.json and BENCHMARKS.md.

`python -m bench.dbt_bench [SCALE]` (default M; S runs the same steps in minutes).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from bench.report import write_results

AS_OF = date(2026, 11, 25)
# The five sources a new day delivers files for.
DAILY_SOURCES = ("saas__daily_usage", "focus__costs", "psa__tickets", "psa__time_entries", "rmm__device_snapshots")
# The previous build ran minutes ago, inside the lookback window that guards against loads
# committing during a build; a daily run is hours past it, which a zero lookback reproduces.
VARS = "{incremental_lookback_hours: 0}"


def _last_day_moved_on(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    moments = pd.to_datetime(frame[column])
    rows = frame[moments.dt.normalize() == moments.max().normalize()].copy()
    rows[column] = moments[rows.index] + timedelta(days=1)
    return rows


def next_day(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """One more day of each daily fact (the last day's rows moved on), plus late rows for old days."""
    usage = frames["saas/daily_usage"]
    costs = frames["focus/costs"]
    tickets = frames["psa/tickets"]
    entries = frames["psa/time_entries"]
    new_costs = _last_day_moved_on(costs, "ChargePeriodStart")
    new_costs["ChargePeriodEnd"] = pd.to_datetime(new_costs["ChargePeriodStart"]) + timedelta(days=1)
    # A FOCUS delivery replaces whole billing periods: the current one comes again, month to date
    # with the new day, and the previous one is re-delivered with 20 late rows.
    periods = pd.to_datetime(costs["BillingPeriodStart"])
    current, previous = sorted(periods.unique())[-1], sorted(periods.unique())[-2]
    previous_rows = costs[periods == previous]
    late_costs = previous_rows.sample(20, random_state=1).assign(ResourceId=lambda f: f["ResourceId"] + "-late")
    new_tickets = _last_day_moved_on(tickets, "created_at")
    new_tickets = new_tickets.assign(
        ticket_id="N" + new_tickets["ticket_id"], first_response_at=pd.NaT, resolved_at=pd.NaT, sla_resolution_met=None
    )
    new_entries = _last_day_moved_on(entries, "started_at")
    new_entries = new_entries.assign(time_entry_id="N" + new_entries["time_entry_id"], ticket_id=None)
    return {
        "saas/daily_usage": pd.concat(
            [_last_day_moved_on(usage, "usage_date"), usage.sample(200, random_state=1).assign(activity_count=99)]
        ),
        "focus/costs": pd.concat([costs[periods == current], new_costs, previous_rows, late_costs]),
        "psa/tickets": new_tickets,
        "psa/time_entries": new_entries,
        "rmm/device_snapshots": _last_day_moved_on(frames["rmm/device_snapshots"], "snapshot_date"),
    }


def deliver(store, frames: dict[str, pd.DataFrame], work: Path, suffix: str) -> None:
    from ingestion.contracts import BY_NAME
    from ingestion.demo.landing import write_csv

    for name, frame in frames.items():
        source, entity = name.split("/")
        path = work / f"{entity}_{suffix}.csv"
        write_csv(frame.reset_index(drop=True), BY_NAME[f"{source}__{entity}"], path)
        store.put_file(path, f"landing/{source}/{entity}/{path.name}")
        path.unlink()


def timed_build(url: str, after_new_day: bool) -> float:
    """Time the Dagster materialization of the dbt assets (orchestration/defs/dbt.py), all of them or
    those downstream of the new day's sources, in a fresh process as a run worker does."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.dbt_bench", "--time-build", url, "new-day" if after_new_day else "full"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the timed dbt build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def _time_build(url: str, kind: str) -> float:
    from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

    from orchestration.dbt_project import dbt_resource
    from orchestration.defs.dbt import warehouse_models
    from orchestration.resources import WarehouseResource

    selection = AssetSelection.all()
    if kind == "new-day":
        new_day = AssetSelection.assets(*(AssetKey(["raw", name]) for name in DAILY_SOURCES))
        selection = new_day.downstream(include_self=False)
    started = time.perf_counter()
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [warehouse_models],
            selection=selection - AssetSelection.key_prefixes("reporting"),
            instance=instance,
            resources={"dbt": dbt_resource(), "warehouse": WarehouseResource(database_url=url)},
            run_config={"ops": {warehouse_models.op.name: {"config": {"dbt_vars": VARS}}}},
            raise_on_error=False,
        )
    elapsed = time.perf_counter() - started
    if not result.success:
        raise RuntimeError("dbt build failed")
    return elapsed


def prepare_for(url: str) -> None:
    """Parse the project for this warehouse and the builds' vars into dbt_project/target, as a
    deployment's prepare step does for its warehouse: dagster-dbt starts every build from that parse
    state, and dbt parses everything again when the connection or the vars differ from it."""
    from orchestration.dbt_project import DBT_PROJECT_DIR, dbt_resource
    from pulseops_core.warehouse import dbt_environment

    os.environ.update(dbt_environment(url))
    dbt_resource().cli(["parse", "--vars", VARS], target_path=DBT_PROJECT_DIR / "target").wait()


def _ingest() -> None:
    from orchestration.pipeline import failure_summary, run_job

    result = run_job("ingest_job", run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    assert result.success, failure_summary(result)


def stage_of(step_key: str) -> str:
    if step_key.startswith("raw__") or step_key.startswith("raw_"):
        return "ingestion"
    if step_key.startswith("ml__") or step_key.startswith("ml_"):
        return "ml"
    return "dbt"


def timed_landing(url: str) -> dict[str, float]:
    """From new files in the landing zone to the dashboards' tables holding them: the landing
    sensor's tick, then the run it requests (ingestion, dbt, ML scores, the reporting models) in
    this process; seconds per stage (the dbt steps after the ML scores are the reporting stage)."""
    from dagster import DagsterInstance, build_sensor_context

    from orchestration.definitions import defs
    from orchestration.resources import ObjectStoreResource, WarehouseResource

    started = time.perf_counter()
    with DagsterInstance.ephemeral() as instance:
        request = defs.get_sensor_def("landing_sensor")(
            build_sensor_context(
                resources={"warehouse": WarehouseResource(), "object_store": ObjectStoreResource()},
                instance=instance,
                definitions=defs,
            )
        )
        sensed = time.perf_counter()
        result = defs.get_job_def("pulseops_job").execute_in_process(
            instance=instance,
            asset_selection=request.asset_selection,
            raise_on_error=False,
            run_config={
                "ops": {"warehouse_models": {"config": {"dbt_vars": VARS}}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
        )
        finished = time.perf_counter()
        assert result.success, "the landing run failed"
        stages = {"sensor": sensed - started, "ingestion": 0.0, "dbt": 0.0, "ml": 0.0, "reporting": 0.0}
        begun = {}
        ml_done = False
        for entry in instance.all_logs(result.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type_value == "STEP_START":
                begun[event.step_key] = entry.timestamp
            elif event.event_type_value == "STEP_SUCCESS":
                stage = stage_of(event.step_key)
                ml_done = ml_done or stage == "ml"
                if stage == "dbt" and ml_done:
                    stage = "reporting"
                stages[stage] += entry.timestamp - begun[event.step_key]
    stages["total"] = finished - started
    return stages


def measure(scale, work: Path) -> dict:
    """Generate and ingest `scale`, then time the full dbt build and the build after one new day."""
    import psycopg

    from ingestion.demo import generate
    from orchestration.resources import ObjectStoreResource
    from pulseops_core.secrets import read_or_create_secret
    from pulseops_core.settings import Settings
    from pulseops_core.warehouse import resolve_database_url
    from pulseops_core.warehouse_logins import ensure_superset_logins

    url = resolve_database_url(Settings.from_env())
    store = ObjectStoreResource().store()
    frames, _ = generate(scale, AS_OF)
    deliver(store, frames, work, AS_OF.isoformat())
    rows = sum(len(frame) for frame in frames.values())
    new_day = next_day(frames)
    # the day after: the new day's last rows moved on again (and its previous billing period re-delivered)
    day_after = next_day({name: frame.reset_index(drop=True) for name, frame in new_day.items()})
    del frames
    print(f"ingesting {rows:,} rows ...", flush=True)
    _ingest()
    with psycopg.connect(url) as conn:
        ensure_superset_logins(conn, read_or_create_secret(Settings.from_env().secrets_dir, "analyst_password")[0])
    prepare_for(url)
    print("dbt build (full) ...", flush=True)
    full_s = timed_build(url, after_new_day=False)
    print(f"  {full_s:.1f} s; delivering and ingesting one new day ...", flush=True)
    deliver(store, new_day, work, (AS_OF + timedelta(days=1)).isoformat())
    _ingest()
    print("dbt build (after one new day) ...", flush=True)
    incremental_s = timed_build(url, after_new_day=True)
    print(f"  {incremental_s:.1f} s", flush=True)
    return {
        "rows": rows,
        "new_rows": sum(len(frame) for frame in new_day.values()),
        "full_s": full_s,
        "incremental_s": incremental_s,
        "day_after": day_after,
        "store": store,
        "url": url,
    }


def main(scale_name: str) -> None:
    from ingestion.demo import SCALES
    from pulseops_core import embedded_postgres

    scale = SCALES[scale_name]
    work = Path(tempfile.mkdtemp(prefix="pulseops-dbt-bench-"))
    states = []
    try:
        # Warehouses of their own: never the configured one, never S3.
        for key in ("DATABASE_URL", "PULSEOPS_S3_BUCKET", "PULSEOPS_S3_ENDPOINT_URL", "PULSEOPS_S3_PREFIX"):
            os.environ.pop(key, None)
        load = os.getloadavg()[0]
        states.append(work / "state-1x")
        os.environ["PULSEOPS_HOME"] = str(states[-1])
        print(f"{scale_name}: generating ...", flush=True)
        one = measure(scale, work)
        print("a landing, end to end ...", flush=True)
        deliver(one["store"], one["day_after"], work, (AS_OF + timedelta(days=2)).isoformat())
        landing = timed_landing(one["url"])
        print(f"  {landing['total']:.1f} s", flush=True)
        embedded_postgres.stop(states[-1])
        # The same warehouse with three times the history (months of MSP and cost data, days of usage).
        states.append(work / "state-3x")
        os.environ["PULSEOPS_HOME"] = str(states[-1])
        longer = dataclasses.replace(scale, months=scale.months * 3, usage_days=scale.usage_days * 3)
        print(f"{scale_name} with three times the history: generating ...", flush=True)
        three = measure(longer, work)
        total = landing.pop("total")
        write_results(
            "dbt",
            {
                "dbt_rows_loaded": one["rows"],
                "dbt_new_day_rows": one["new_rows"],
                "dbt_full_build_s": round(one["full_s"], 1),
                "dbt_incremental_build_s": round(one["incremental_s"], 1),
                "dbt_incremental_vs_full": round(one["incremental_s"] / one["full_s"], 3),
                "dbt_rows_loaded_3x_history": three["rows"],
                "dbt_incremental_build_3x_history_s": round(three["incremental_s"], 1),
                "dbt_incremental_history_ratio": round(three["incremental_s"] / one["incremental_s"], 3),
                "freshness_s": round(total, 1),
                **{f"freshness_share_{stage}": round(seconds / total, 3) for stage, seconds in landing.items()},
                "load_average_at_start": round(load, 1),
            },
            notes=f"The {scale_name}-scale demo in a fresh embedded PostgreSQL. dbt builds are Dagster "
            "materializations of the dbt assets (`dbt build` through DbtCliResource, reporting models left "
            "out), each in a fresh process as a run worker runs it; full = the first build (every model, the "
            "seed and data tests; unit tests run in `make test`); incremental = the build of what lies "
            "downstream of the five sources "
            "a new day delivers (usage, tickets, time and RMM rows with late rows for old days, FOCUS files "
            "for the current billing period and the previous one re-delivered), with every test of those "
            "models, the incremental models reading the rows loaded since their last build (lookback 0: a "
            "daily run comes hours after the last). history ratio = the same one-day build on a warehouse "
            "with three times the months and usage days, against one. freshness = another new day's files: "
            "the landing sensor's tick and the run it requests (ingestion -> dbt -> ML scores -> reporting), "
            "with each stage's share (the rest is Dagster's own). Targets: dbt_incremental_vs_full <= 0.25, "
            "dbt_incremental_history_ratio <= 1.3.",
        )
    finally:
        for state in states:
            embedded_postgres.stop(state)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--time-build"]:
        print(_time_build(*sys.argv[2:4]))
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "M")
