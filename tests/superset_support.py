"""Helpers for tests that need a real Superset: start it, talk to its REST API, look at it in a browser.

The browser is Debian's chromium driven by Playwright; Playwright's own browser downloads are
never used (the machines reach no download site).
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from pulseops_cli.superset_service import SupersetServer, run_bootstrap, start_superset

__all__ = [
    "CHROMIUM_PATH",
    "ChartState",
    "DashboardCheck",
    "SupersetApi",
    "SupersetServer",
    "check_dashboard_in_browser",
    "run_bootstrap",
    "start_superset",
]

CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Superset's loading indicators; while any is on the page some chart is still querying.
SPINNER_SELECTOR = ".loading, [data-test='loading-indicator'], .ant-skeleton"
CHART_SELECTOR = "[data-test='chart-grid-component']"
# A failed chart shows an error alert where the chart would be; an empty one shows an empty state.
CHART_ERROR_SELECTOR = "[role='alert'], .ant-alert-error"
CHART_EMPTY_SELECTOR = ".ant-empty"
# The headline number of a big-number tile.
KPI_VALUE_SELECTOR = ".header-line"
# A submitted login navigates within seconds even on a busy server; longer means the post was lost.
LOGIN_NAVIGATION_MS = 30_000


class SupersetApi:
    """A logged-in REST session (bearer token plus CSRF token for writes)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 60):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        # Without it Superset answers errors with an HTML page instead of JSON.
        self.session.headers["Accept"] = "application/json"
        token = self._checked(
            self.session.post(
                self._url("/api/v1/security/login"),
                json={"username": username, "password": password, "provider": "db", "refresh": False},
                timeout=timeout,
            )
        ).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"
        csrf = self.get("/api/v1/security/csrf_token/")["result"]
        self.session.headers.update({"X-CSRFToken": csrf, "Referer": self.base_url})

    @classmethod
    def for_server(cls, server: SupersetServer) -> SupersetApi:
        return cls(server.url, server.admin_username, server.admin_password)

    def get(self, path: str, **params) -> dict:
        return self._checked(self.session.get(self._url(path), params=params, timeout=self.timeout)).json()

    def post(self, path: str, payload: dict) -> dict:
        return self._checked(self.session.post(self._url(path), json=payload, timeout=self.timeout)).json()

    def put(self, path: str, payload: dict) -> dict:
        return self._checked(self.session.put(self._url(path), json=payload, timeout=self.timeout)).json()

    def list(self, resource: str, **filters: str) -> list[dict]:
        """Every row of /api/v1/<resource>/ (dashboard, chart, dataset, database), optionally
        filtered by exact column values."""
        rows, page = [], 0
        conditions = ",".join(f"(col:{col},opr:eq,value:'{_rison_escape(value)}')" for col, value in filters.items())
        while True:
            query = f"(page:{page},page_size:100,filters:!({conditions}))"
            answer = self.get(f"/api/v1/{resource}/", q=query)
            rows.extend(answer["result"])
            if len(rows) >= answer["count"] or not answer["result"]:
                return rows
            page += 1

    def add_user(self, username: str, *role_names: str) -> str:
        """A user holding the named roles, with a generated password, which is returned."""
        role_ids = {
            role["name"]: role["id"] for role in self.get("/api/v1/security/roles/", q="(page_size:100)")["result"]
        }
        password = secrets.token_urlsafe(18)
        self.post(
            "/api/v1/security/users/",
            {
                "username": username,
                "password": password,
                "first_name": username,
                "last_name": "Test",
                "email": f"{username}@pulseops.invalid",
                "active": True,
                "roles": [role_ids[n] for n in role_names],
            },
        )
        return password

    def dashboard_charts(self, id_or_slug: int | str) -> list[dict]:
        return self.get(f"/api/v1/dashboard/{id_or_slug}/charts")["result"]

    def chart_data(self, chart_id: int) -> list[dict]:
        """Rows of every query of a chart, run from its saved query context (waiting for the worker
        when Superset runs chart queries asynchronously, as under `pulseops up`)."""
        answer = self.get(f"/api/v1/chart/{chart_id}/data/")
        if "job_id" in answer:
            answer = self.async_result(answer["job_id"])
        return [row for query in answer["result"] for row in query["data"]]

    def async_result(self, job_id: str, timeout: float = 180) -> dict:
        """The result of an asynchronous chart query, once the worker's event says it is done."""
        deadline, last_id = time.monotonic() + timeout, "0"
        while time.monotonic() < deadline:
            for event in self.get("/api/v1/async_event/", last_id=last_id)["result"]:
                last_id = event["id"]
                if event["job_id"] == job_id and event["status"] == "error":
                    raise AssertionError(f"chart query {job_id} failed: {event['errors']}")
                if event["job_id"] == job_id and event["status"] == "done":
                    return self.get(event["result_url"])
            time.sleep(0.5)
        raise AssertionError(f"chart query {job_id} not done after {timeout} s")

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    @staticmethod
    def _checked(response: requests.Response) -> requests.Response:
        if not response.ok:
            raise AssertionError(
                f"{response.request.method} {response.url} -> {response.status_code}: {response.text[:2000]}"
            )
        return response


def _rison_escape(text: str) -> str:
    return text.replace("!", "!!").replace("'", "!'")


@dataclass
class ChartState:
    name: str
    viz_type: str
    error: str | None  # the alert's text when the chart failed
    empty: bool  # "No results were returned for this query"
    value: str | None = None  # the number a big-number (KPI) tile shows
    text: str = ""  # everything the chart shows as text (tables, numbers)


@dataclass
class DashboardCheck:
    """What the browser saw once every chart of the dashboard had finished loading."""

    slug: str
    screenshot: Path
    charts: list[ChartState]
    seconds: float

    @property
    def chart_errors(self) -> dict[str, str]:
        return {chart.name: chart.error for chart in self.charts if chart.error is not None}

    @property
    def empty_charts(self) -> list[str]:
        return [chart.name for chart in self.charts if chart.empty]

    @property
    def kpis(self) -> dict[str, str]:
        """What each big-number tile shows, by chart name."""
        return {chart.name: chart.value for chart in self.charts if chart.value is not None}


def check_dashboard_in_browser(
    base_url: str,
    username: str,
    password: str,
    slug: str,
    screenshot: Path,
    timeout_s: float = 90,
    chart_screenshots: Mapping[str, Path] | None = None,
) -> DashboardCheck:
    """Log in through the form, open the dashboard standalone, wait for every chart, screenshot it
    (and each chart named in `chart_screenshots` on its own, to look at it closely)."""
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    base_url = base_url.rstrip("/")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM_PATH),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1600, "height": 1000},
        )
        page = context.new_page()
        page.set_default_timeout(timeout_s * 1000)
        # Server errors and dropped requests explain a dashboard that never finishes loading.
        trouble: list[str] = []
        page.on("response", lambda r: r.status >= 500 and trouble.append(f"{r.status} {r.url}"))
        page.on("requestfailed", lambda r: trouble.append(f"failed {r.url}: {r.failure}"))
        stage = "logging in"
        try:
            _log_in(page, base_url, username, password)
            stage = "opening the dashboard"
            page.goto(f"{base_url}/superset/dashboard/{slug}/?standalone=1", wait_until="domcontentloaded")
            page.wait_for_selector(CHART_SELECTOR)
            stage = "waiting for the charts"
            _wait_until_drawn(page, timeout_s)
            charts = [_chart_state(chart) for chart in page.locator(CHART_SELECTOR).all()]
            page.screenshot(path=str(screenshot), full_page=True)
            for name, path in (chart_screenshots or {}).items():
                page.locator(f"{CHART_SELECTOR}[data-test-chart-name='{name}']").screenshot(path=str(path))
        except Exception as exc:
            failed_shot = screenshot.with_name(f"{screenshot.stem}-failed.png")
            with contextlib.suppress(Exception):  # a crashed page must not hide the first error
                page.screenshot(path=str(failed_shot), full_page=True)
            raise AssertionError(
                f"{slug}: failed while {stage} after {time.monotonic() - started:.0f} s "
                f"(screenshot {failed_shot}); server trouble: {trouble or 'none'}"
            ) from exc
        finally:
            context.close()
    return DashboardCheck(slug, screenshot, charts, time.monotonic() - started)


def _chart_state(chart) -> ChartState:
    alerts = chart.locator(CHART_ERROR_SELECTOR)
    error = None
    if alerts.count():
        error = " ".join(alerts.all_inner_texts()).strip() or "error alert without text"
    viz_type = chart.get_attribute("data-test-viz-type") or "?"
    value = None
    if viz_type.startswith("big_number") and chart.locator(KPI_VALUE_SELECTOR).count():
        value = chart.locator(KPI_VALUE_SELECTOR).first.inner_text().strip()
    return ChartState(
        name=chart.get_attribute("data-test-chart-name") or "?",
        viz_type=viz_type,
        error=error,
        empty=chart.locator(CHART_EMPTY_SELECTOR).count() > 0,
        value=value,
        text=chart.inner_text(),
    )


def _log_in(page, base_url: str, username: str, password: str, attempts: int = 3) -> None:
    """Log in through the form. On a cold, busy server the page's own scripts can redraw the form
    after it was filled, so the filled values are checked before submitting, the navigation is
    given a bounded time, the session is checked through the API, and the login retried."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    user_field, password_field = "input[name='username'], #username", "input[name='password'], #password"
    for _ in range(attempts):
        page.goto(f"{base_url}/login/", wait_until="load")
        page.fill(user_field, username)
        page.fill(password_field, password)
        if page.input_value(user_field) != username or page.input_value(password_field) != password:
            continue
        page.click("button[type='submit'], input[type='submit']")
        try:
            page.wait_for_url(lambda url: "/login" not in url, timeout=LOGIN_NAVIGATION_MS)
        except PlaywrightTimeout:
            continue
        if page.request.get(f"{base_url}/api/v1/me/").ok:
            return
    raise AssertionError(f"could not log in as {username} after {attempts} attempts")


def _wait_until_drawn(page, timeout_s: float) -> None:
    """Spinners come and go as queries start; wait until none has shown for a short while."""
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        if page.locator(SPINNER_SELECTOR).count() == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 1.5:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(250)
    raise TimeoutError(f"dashboard still loading after {timeout_s} s")
