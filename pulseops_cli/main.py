"""`pulseops`: the command line of a local PulseOps.

pulseops demo      write seeded demo files into the landing zone
pulseops pipeline  run the whole pipeline once (recorded in the local Dagster instance)
pulseops up        everything `make run` does: warehouse, demo data, pipeline, Dagster UI, Superset
                   (web, Celery worker and beat, an embedded Redis unless SUPERSET_CACHE_REDIS_URL)
pulseops ingest    load given files now: pulseops ingest PATH --source focus
pulseops stop      stop the embedded PostgreSQL
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import date

from ml_assets.cli import add_ml_commands
from pulseops_core.settings import Settings


def _store(settings: Settings):
    from orchestration.resources import ObjectStoreResource

    return ObjectStoreResource().store()


def cmd_demo(args) -> int:
    from ingestion.demo import write_to_landing

    settings = Settings.from_env()
    as_of = date.fromisoformat(args.as_of) if args.as_of else date.today()
    counts = write_to_landing(_store(settings), args.scale, as_of, args.seed)
    for name, rows in counts.items():
        print(f"  {name:28} {rows:>10,} rows")
    return 0


def _run_pipeline(settings: Settings):
    """Run the main job once in the local Dagster instance; its result (success or not)."""
    from dagster import DagsterInstance

    from orchestration.pipeline import failure_summary, run_job
    from pulseops_cli.dagster_home import prepare_dagster_home

    os.environ["DAGSTER_HOME"] = str(prepare_dagster_home(settings.state_dir))
    started = time.monotonic()
    print("Running the pipeline (ingestion -> dbt -> ML); progress is in the Dagster run log ...", flush=True)
    with DagsterInstance.get() as instance:
        # The full event log goes to the Dagster instance (see the UI); the terminal gets warnings.
        result = run_job(
            "pulseops_job",
            instance=instance,
            tags={"pulseops/trigger": "cli"},
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    if result.success:
        print(f"Pipeline finished in {time.monotonic() - started:.0f} s (run {result.run_id}).")
    else:
        print(
            f"Pipeline failed (run {result.run_id}); these assets failed:\n{failure_summary(result)}",
            file=sys.stderr,
            flush=True,
        )
    return result


def cmd_pipeline(args) -> int:
    return 0 if _run_pipeline(Settings.from_env()).success else 1


def _where_to_look(result, dagster_url: str, superset_url: str) -> str:
    """After a run with failures: which assets failed and where their story is told."""
    from orchestration.pipeline import failed_steps

    assets = ", ".join(step.asset for step in failed_steps(result)) or "a step"
    return (
        f"The last run failed in: {assets}.\n"
        f"  its log:     {dagster_url}/runs/{result.run_id}\n"
        f"  Data Health: {superset_url}/superset/dashboard/data-health/ (failed checks and model states)\n"
        f"  The dashboards show what the other assets wrote; re-run with `pulseops pipeline` or from the "
        f"Dagster UI once it is fixed."
    )


def cmd_up(args) -> int:
    from ingestion.demo import write_to_landing
    from pulseops_cli.dagster_service import start_dagster
    from pulseops_cli.embedded_redis import start_redis
    from pulseops_cli.superset_service import start_superset
    from pulseops_core.warehouse import resolve_database_url

    settings = Settings.from_env()
    print(f"State folder: {settings.state_dir}")
    warehouse_url = resolve_database_url(settings)
    print("Warehouse: " + ("DATABASE_URL" if settings.database_url else "embedded PostgreSQL (state/postgres)"))
    store = _store(settings)
    if not store.list("landing/"):
        print(f"Landing zone empty: writing demo data (scale {args.scale}) ...", flush=True)
        write_to_landing(store, args.scale, date.today())
    # A failed asset is a failed asset, not a failed product: the UIs come up either way, to show
    # what the other assets wrote and to tell the story of the failure.
    result = _run_pipeline(settings)
    dagster = start_dagster(settings.state_dir, args.dagster_port)
    print(f"Dagster UI: {dagster.url}  (log: {dagster.log_path})", flush=True)
    password_file = settings.secrets_dir / "superset_admin_password"
    password_is_new = not password_file.exists() and not os.environ.get("SUPERSET_ADMIN_PASSWORD")
    redis = None
    try:
        if not os.environ.get("SUPERSET_CACHE_REDIS_URL"):
            # Superset's caches, report worker and asynchronous queries share one Redis.
            redis, os.environ["SUPERSET_CACHE_REDIS_URL"] = start_redis(settings.state_dir)
            print(f"Redis:      {redis.url}  (embedded; log: {redis.log_path})", flush=True)
        os.environ.setdefault("PULSEOPS_SUPERSET_ASYNC_QUERIES", "on")
        superset = start_superset(settings.state_dir, warehouse_url, port=args.superset_port)
    except Exception:
        if redis:
            redis.stop()
        dagster.stop()
        raise
    print(
        f"Superset:   {superset.url}  user {superset.admin_username}  (Celery worker and beat: reports, "
        f"asynchronous queries)"
    )
    if password_is_new:
        print(f"            password {superset.admin_password}  (shown once; kept owner-only in {password_file})")
    else:
        print(f"            password: as given in SUPERSET_ADMIN_PASSWORD or kept owner-only in {password_file}")
    if not result.success:
        print(_where_to_look(result, dagster.url, superset.url), file=sys.stderr, flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    # Ctrl-C stops everything even when the shell started us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while not stopping and dagster.process.poll() is None and superset.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping ...")
        superset.stop()
        if redis:
            redis.stop()
        dagster.stop()
    return 0 if result.success else 1


def cmd_ingest(args) -> int:
    from pulseops_cli.ingest import run

    return run(args.path, args.source, args.entity, args.profile)


def cmd_stop(args) -> int:
    from pulseops_core import embedded_postgres

    embedded_postgres.stop(Settings.from_env().state_dir)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pulseops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="write seeded demo files into the landing zone")
    demo.add_argument("--scale", choices=["XS", "S", "M"], default="S")
    demo.add_argument("--as-of", help="last day of the generated history (default: today)")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)
    commands.add_parser("pipeline", help="run the whole pipeline once").set_defaults(func=cmd_pipeline)
    up = commands.add_parser("up", help="warehouse, demo data, pipeline, Dagster UI and Superset")
    up.add_argument("--scale", choices=["XS", "S", "M"], default="S")
    up.add_argument("--dagster-port", type=int, default=int(os.environ.get("PULSEOPS_DAGSTER_PORT", 3000)))
    up.add_argument("--superset-port", type=int, default=int(os.environ.get("PULSEOPS_SUPERSET_PORT", 8088)))
    up.set_defaults(func=cmd_up)
    ingest = commands.add_parser("ingest", help="load a file or folder now (exit 1 when a file breaks its contract)")
    ingest.add_argument("path", help="a file, or a folder whose files are all of one source entity")
    ingest.add_argument("--source", required=True, help="e.g. psa, saas, focus")
    ingest.add_argument("--entity", help="e.g. clients; needed when the source has several entities")
    ingest.add_argument(
        "--profile",
        help="read the files through this mapping profile (e.g. servicenow); "
        "they land under landing/<source>/<entity>/profile=<name>/",
    )
    ingest.set_defaults(func=cmd_ingest)
    commands.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(func=cmd_stop)
    add_ml_commands(commands)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
