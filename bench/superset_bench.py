"""Superset at M scale: every chart's query with the cache off, and 50 viewers in the production setting.

Loads the M-scale demo (2,500 clients, 10,000 employees, ~10 million rows) and runs the whole
pipeline into a fresh embedded PostgreSQL (or reuses the state folder given with --state), then
  - with Superset's data cache off (PULSEOPS_SUPERSET_DATA_CACHE=off, no Redis, synchronous
    queries), runs every chart of every dashboard through the REST API (its saved query, as the
    chart data endpoint does for a dashboard) REPEATS times after one warm-up: p50/p95 per chart;
  - in the production setting (the embedded Redis `pulseops up` starts: shared caches, Celery
    worker and beat, asynchronous chart queries; Superset's own metadata in PostgreSQL, as
    production requires), lets VIEWERS people, each logged in as its own MSP analyst, keep the
    MSP dashboard open for LOAD_SECONDS: each opens it as the browser does (the charts' data
    requested BROWSER_CONNECTIONS at a time, the worker's events polled, each result fetched),
    reads it for THINK_S seconds, and opens it again; reports throughput, p95 and errors; then
    the same with busy viewers (BUSY_THINK_S);
  - then the same viewers without pause (a refresh as soon as the last one ended) for
    SATURATION_SECONDS: the requests per second this machine serves at saturation.
Writes bench/results.json and BENCHMARKS.md.

    .venv/bin/python -m bench.superset_bench [--state DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import requests

from bench.report import write_results

AS_OF = date(2026, 11, 25)
SCALE = "M"
REPEATS = 20
VIEWERS = 50
LOAD_SECONDS = 120
# How long a viewer reads the dashboard before opening it again (uniform, seconds): about a
# minute, and a busy viewer's 10-30 s (beside Superset's shortest auto-refresh, 10 s).
THINK_S = (30.0, 90.0)
BUSY_THINK_S = (10.0, 30.0)
SATURATION_SECONDS = 60
# The browser's polling interval for asynchronous results (GLOBAL_ASYNC_QUERIES_POLLING_DELAY).
POLL_S = 0.5
# Requests a browser has in flight to one server (HTTP/1.1).
BROWSER_CONNECTIONS = 6
WORKER_PROCESSES = "4"


def build_warehouse(state: Path) -> str:
    """The M-scale demo through the whole pipeline (ingestion, dbt, ML, reporting)."""
    os.environ["PULSEOPS_HOME"] = str(state)
    from ingestion.demo import write_to_landing
    from orchestration.pipeline import failure_summary, run_job
    from orchestration.resources import ObjectStoreResource
    from pulseops_core.settings import Settings
    from pulseops_core.warehouse import resolve_database_url

    store = ObjectStoreResource().store()
    started = time.perf_counter()
    if not store.list("landing/"):
        write_to_landing(store, SCALE, AS_OF)
    # On a reused state folder the run loads nothing new but brings every model up to date.
    result = run_job("pulseops_job", run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    if not result.success:
        raise RuntimeError(f"pipeline failed:\n{failure_summary(result)}")
    print(f"M-scale warehouse built in {time.perf_counter() - started:.0f} s", flush=True)
    return resolve_database_url(Settings.from_env())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


class Session:
    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Accept"] = "application/json"
        token = self.http.post(
            f"{base_url}/api/v1/security/login",
            timeout=60,
            json={"username": username, "password": password, "provider": "db", "refresh": False},
        ).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.http.headers["X-CSRFToken"] = self.get("/api/v1/security/csrf_token/").json()["result"]
        self.http.headers["Referer"] = base_url

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=120)

    def chart_ms(self, chart_id: int) -> tuple[float, str | None]:
        """Milliseconds of one chart's data request and what went wrong, if anything."""
        started = time.perf_counter()
        response = self.get(f"/api/v1/chart/{chart_id}/data/")
        return (time.perf_counter() - started) * 1000, None if response.ok else f"HTTP {response.status_code}"

    def dashboard_ms(self, chart_ids: list[int]) -> list[tuple[float, str | None]]:
        """The dashboard opened as the browser opens it with asynchronous queries: every chart's data
        requested, BROWSER_CONNECTIONS at a time (a cached result answers 200 at once, a query is
        queued: 202), the job events polled, each finished job's result fetched. Milliseconds from
        the opening to each chart's data, and its error if any."""
        started = time.perf_counter()
        results, jobs = [], {}

        def request(chart_id: int) -> tuple[int, requests.Response, float]:
            response = self.get(f"/api/v1/chart/{chart_id}/data/")
            return chart_id, response, (time.perf_counter() - started) * 1000

        with ThreadPoolExecutor(BROWSER_CONNECTIONS) as browser:
            for chart_id, response, ms in browser.map(request, chart_ids):
                if response.status_code == 202:
                    jobs[response.json()["job_id"]] = chart_id
                else:
                    results.append((ms, None if response.ok else f"HTTP {response.status_code}"))
        last_id = "0"
        while jobs:
            if time.perf_counter() - started > 120:
                results += [(120_000.0, "asynchronous job not done after 120 s")] * len(jobs)
                break
            time.sleep(POLL_S)
            response = self.get(f"/api/v1/async_event/?last_id={last_id}")
            if not response.ok:
                results += [((time.perf_counter() - started) * 1000, f"events: HTTP {response.status_code}")] * len(
                    jobs
                )
                break
            for event in response.json()["result"]:
                last_id = event["id"]
                if event["job_id"] not in jobs or event["status"] not in ("done", "error"):
                    continue
                jobs.pop(event["job_id"])
                error = f"job error: {event['errors']}" if event["status"] == "error" else None
                if error is None:
                    fetched = self.get(event["result_url"])
                    error = None if fetched.ok else f"result: HTTP {fetched.status_code}"
                results.append(((time.perf_counter() - started) * 1000, error))
        return results


def time_charts(admin: Session) -> dict[tuple[str, str], tuple[float, float]]:
    from superset_config import access

    timings = {}
    for slug in access.DASHBOARDS:
        for chart in admin.get(f"/api/v1/dashboard/{slug}/charts").json()["result"]:
            _, error = admin.chart_ms(chart["id"])  # warm-up: connection pool, metadata
            if error:
                raise RuntimeError(f"{slug} / {chart['slice_name']}: {error}")
            runs = [admin.chart_ms(chart["id"])[0] for _ in range(REPEATS)]
            timings[(slug, chart["slice_name"])] = (statistics.median(runs), percentile(runs, 0.95))
            print(
                f"{slug:14} {chart['slice_name'][:40]:40} p50 {timings[(slug, chart['slice_name'])][0]:7.0f} ms"
                f"  p95 {timings[(slug, chart['slice_name'])][1]:7.0f} ms",
                flush=True,
            )
    return timings


def load(sessions: list[Session], chart_ids: list[int], seconds: float, think_s: tuple[float, float] | None) -> dict:
    """Each viewer opens the dashboard (every chart's data, as the browser fetches it), reads it for
    a time drawn from `think_s` (none: opens it again at once), until `seconds` are up. The viewers
    start at random moments of one reading time, as people do, not all in the same instant."""
    chart_times: list[float] = []
    dashboard_times: list[float] = []
    errors: list[str] = []
    retried: list[str] = []
    lock = threading.Lock()
    start = threading.Event()
    deadline = [0.0]
    pause = random.Random(1)

    def viewer(session: Session, first_delay: float) -> None:
        start.wait()
        time.sleep(first_delay)
        while time.perf_counter() < deadline[0]:
            for attempt in (1, 2):
                try:
                    charts = session.dashboard_ms(chart_ids)
                    break
                except requests.ConnectionError as exc:
                    # A browser retries a GET whose kept-alive connection the server just closed.
                    charts = [(0.0, f"{type(exc).__name__}: {exc}")]
                    if attempt == 1:
                        with lock:
                            retried.append(charts[0][1])
            with lock:
                chart_times.extend(ms for ms, _ in charts)
                dashboard_times.append(max(ms for ms, _ in charts))
                errors.extend(error for _, error in charts if error)
                reading = pause.uniform(*think_s) if think_s else 0.0
            time.sleep(max(0.0, min(reading, deadline[0] - time.perf_counter())))

    delays = [pause.uniform(0, think_s[1]) if think_s else 0.0 for _ in sessions]
    threads = [threading.Thread(target=viewer, args=(s, d), daemon=True) for s, d in zip(sessions, delays, strict=True)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "viewers": len(sessions),
        "seconds": round(elapsed),
        "dashboards_opened": len(dashboard_times),
        "requests": len(chart_times),
        "requests_per_s": round(len(chart_times) / elapsed, 1),
        "p50_ms": round(statistics.median(chart_times)),
        "p95_ms": round(percentile(chart_times, 0.95)),
        "dashboard_p95_ms": round(percentile(dashboard_times, 0.95)),
        "errors": len(errors),
        "retried_connections": len(retried),
        "error_samples": sorted(set(errors))[:3],
    }


def analyst_viewers(admin: Session, count: int) -> list[tuple[str, str]]:
    """`count` new Superset users with the MSP Analyst role (username, password)."""
    from superset_config import access

    role_id = next(
        r["id"]
        for r in admin.get("/api/v1/security/roles/?q=(page_size:100)").json()["result"]
        if r["name"] == access.MSP_ANALYST
    )
    viewers = []
    for number in range(count):
        username, password = f"bench-viewer-{number}-{secrets.token_hex(3)}", secrets.token_urlsafe(18)
        admin.http.post(
            f"{admin.base_url}/api/v1/security/users/",
            timeout=60,
            json={
                "username": username,
                "password": password,
                "first_name": "Bench",
                "last_name": str(number),
                "email": f"{username}@pulseops.invalid",
                "active": True,
                "roles": [role_id],
            },
        ).raise_for_status()
        viewers.append((username, password))
    return viewers


def metadata_database(warehouse_url: str) -> str:
    """A PostgreSQL database for Superset's own metadata beside the warehouse, as production has."""
    import psycopg

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = 'superset_metadata'").fetchone():
            conn.execute("create database superset_metadata")
    return warehouse_url.rsplit("/", 1)[0] + "/superset_metadata"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, help="state folder to build in (or reuse); default a temporary one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    args = parser.parse_args()
    state = args.state or Path(tempfile.mkdtemp(prefix="pulseops-superset-bench-"))
    from pulseops_cli.embedded_redis import start_redis
    from pulseops_cli.superset_service import start_superset
    from pulseops_core import embedded_postgres
    from superset_config import access

    try:
        url = build_warehouse(state)
        server = start_superset(state, url, extra_env={"PULSEOPS_SUPERSET_DATA_CACHE": "off"})
        try:
            timings = time_charts(Session(server.url, server.admin_username, server.admin_password))
        finally:
            server.stop()
        redis, redis_url = start_redis(state)
        server = start_superset(
            state,
            url,
            extra_env={
                "SUPERSET_CACHE_REDIS_URL": redis_url,
                "PULSEOPS_SUPERSET_ASYNC_QUERIES": "on",
                "PULSEOPS_SUPERSET_WORKERS": WORKER_PROCESSES,
                "SUPERSET_METADATA_URL": metadata_database(url),
            },
        )
        try:
            admin = Session(server.url, server.admin_username, server.admin_password)
            sessions = [Session(server.url, *viewer) for viewer in analyst_viewers(admin, VIEWERS)]
            chart_ids = [
                c["id"] for c in admin.get(f"/api/v1/dashboard/{access.MSP_DASHBOARD}/charts").json()["result"]
            ]
            loaded = load(sessions, chart_ids, LOAD_SECONDS, THINK_S)
            print(f"viewers: {loaded}", flush=True)
            busy = load(sessions, chart_ids, LOAD_SECONDS, BUSY_THINK_S)
            print(f"busy viewers: {busy}", flush=True)
            saturated = load(sessions, chart_ids, SATURATION_SECONDS, None)
            print(f"saturation: {saturated}", flush=True)
        finally:
            server.stop()
            redis.stop()
    finally:
        embedded_postgres.stop(state)
        if not args.state and not args.keep:
            shutil.rmtree(state, ignore_errors=True)

    samples = loaded.pop("error_samples") + busy.pop("error_samples") + saturated.pop("error_samples")
    p95s = [p95 for _, p95 in timings.values()]
    figures = {
        "chart_p95_ms_max": round(max(p95s)),
        "chart_p95_ms_median": round(statistics.median(p95s)),
        "charts": len(timings),
        **{f"load_{name}": value for name, value in loaded.items()},
        "busy_load_requests_per_s": busy["requests_per_s"],
        "busy_load_p95_ms": busy["p95_ms"],
        "busy_load_dashboard_p95_ms": busy["dashboard_p95_ms"],
        "busy_load_errors": busy["errors"],
        "saturation_requests_per_s": saturated["requests_per_s"],
        "saturation_p95_ms": saturated["p95_ms"],
        "saturation_errors": saturated["errors"],
    }
    rows = "\n".join(f"| {slug} | {name} | {p50:.0f} | {p95:.0f} |" for (slug, name), (p50, p95) in timings.items())
    notes = (
        f"M-scale demo through the whole pipeline; Superset (gunicorn 4 processes x 4 threads). Charts, with "
        f"the data cache off and synchronous queries: each dashboard chart's saved query through GET "
        f"/api/v1/chart/<id>/data/, {REPEATS} runs after a warm-up (target: chart_p95_ms_max <= 500). "
        f"Load, in the production setting (Redis caches, a Celery worker of {WORKER_PROCESSES} processes and "
        f"beat, asynchronous chart queries, Superset's metadata in PostgreSQL): {VIEWERS} MSP analysts, "
        f"each with its own login, keep the MSP dashboard open for {LOAD_SECONDS} s: each opens it as the "
        f"browser does ({BROWSER_CONNECTIONS} chart requests in flight, the worker's events polled every "
        f"{POLL_S} s, each result fetched; a chart's time runs from the opening to its data, "
        f"load_dashboard_p95_ms to the last chart's), reads it {THINK_S[0]:.0f}-{THINK_S[1]:.0f} s, opens it "
        f"again; busy_load_*: the same viewers reading {BUSY_THINK_S[0]:.0f}-{BUSY_THINK_S[1]:.0f} s "
        f"(Python threads over loopback, on the same 2 cores as the servers; target: load_p95_ms <= "
        f"1000, load_errors 0); a kept-alive connection the server dropped is retried once, as a browser "
        f"does (load_retried_connections), and counts as an error only if the retry fails too. "
        f"Saturation: the same viewers opening it again without reading, {SATURATION_SECONDS} s: what "
        f"this machine serves at most (saturation_requests_per_s; its p95 is a queue's, not a viewer's).\n\n"
        + (f"Errors: {'; '.join(samples)}.\n\n" if samples else "")
        + f"| dashboard | chart | p50 ms | p95 ms |\n|---|---|---|---|\n{rows}"
    )
    write_results("superset", figures, notes)
    print(figures)


if __name__ == "__main__":
    main()
