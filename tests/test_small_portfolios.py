"""A small MSP's data runs end to end: the whole pipeline on a new customer's ten clients and four
months, and on the XS demo, on the embedded and the external PostgreSQL. Nothing raises, every
dashboard table the data can fill is filled, and the models that cannot learn yet say why."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import PipelineRun
from tests.small_portfolios import PORTFOLIOS, backend, demo_frames, run_pipeline
from tests.support import query, scalar

pytestmark = pytest.mark.filterwarnings("ignore")


@dataclass
class SmallRun:
    portfolio: str
    run: PipelineRun
    truth: dict
    frames: dict
    failed: list[str]

    @property
    def url(self) -> str:
        return self.run.database_url


@pytest.fixture(
    scope="module",
    params=[(p, b) for p in PORTFOLIOS for b in ("embedded", "external")],
    ids=lambda param: f"{param[0]}-{param[1]}",
)
def small(request, tmp_path_factory) -> SmallRun:
    portfolio, backend_name = request.param
    frames, truth = demo_frames(PORTFOLIOS[portfolio])
    with backend(backend_name, tmp_path_factory.mktemp("small")) as run:
        result = run_pipeline(run, frames)
        failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        yield SmallRun(portfolio, run, truth, frames, failed)


def _model_states(url: str) -> dict[str, tuple[str, str]]:
    return {
        model: (state, reason)
        for model, state, reason in query(url, "select model, state, reason from reporting.model_status")
    }


def test_nothing_raised(small):
    assert small.failed == []
    outcomes = query(
        small.url,
        "select passed, count(*) from reporting.data_health_checks "
        "where check_name = 'pipeline_step_succeeded' group by 1",
    )
    assert dict(outcomes).get(False, 0) == 0 and dict(outcomes)[True] >= 20


def test_every_model_states_what_it_did(small):
    states = _model_states(small.url)
    assert set(states) == {"churn", "spend_anomalies", "client_health", "spend_forecast", "recommendations"}
    churned = len(small.truth["churned_clients"])
    if small.portfolio == "XS demo":
        # The XS demo plants three churners: too few to learn from or to test on.
        assert states["churn"] == ("not trained", f"not enough churn history yet: {churned} churned clients, need 10")
        # Seven months of spend: a trend per department, no month-of-year effects.
        assert states["spend_forecast"] == (
            "trained",
            "forecast for 7 of 7 departments; trend only: month-of-year effects need 24 whole months, have 7",
        )
    else:
        # Four months, no churner yet, and no snapshot whose 90 days have passed.
        assert churned == 0
        assert states["churn"] == (
            "not trained",
            "no churn outcomes known yet: no snapshot is old enough for its outcome to have played out",
        )
        # Four months of history of which the first and the current one are not whole.
        assert states["spend_forecast"] == ("not trained", "not enough history yet: 3 whole months, need 4")
    assert states["client_health"][0] == states["recommendations"][0] == states["spend_anomalies"][0] == "computed"


def test_churn_tables_stay_empty_until_the_model_trains(small):
    assert scalar(small.url, "select count(*) from ml.churn_scores") == 0
    assert scalar(small.url, "select count(*) from reporting.client_churn_risk") == 0
    assert scalar(small.url, "select count(*) from reporting.churn_watchlist") == 0
    # the version list holds no model that was not trained
    assert query(small.url, "select version, artefact_key from ml.model_runs where model = 'churn'") == [(None, None)]


def test_health_is_computed_for_every_active_client(small):
    active = scalar(small.url, "select count(*) from marts.clients where is_active")
    clients = len(small.frames["psa/clients"])
    assert active == clients - len(small.truth["churned_clients"])
    assert (
        scalar(small.url, "select count(*) from reporting.client_health where health_score between 0 and 100") == active
    )
    reason = _model_states(small.url)["client_health"][1]
    assert reason == f"needs no training: {active} active clients scored from the factors they have data for"


def test_the_dashboards_tables_are_filled(small):
    filled = [
        "reporting.msp_portfolio_monthly",
        "reporting.msp_service_mrr_monthly",
        "reporting.client_services",
        "reporting.client_health",
        "reporting.recommendations",
        "reporting.department_spend_anomalies",
        "reporting.data_health_sources",
        "reporting.data_health_files",
        "marts.client_monthly",
        "marts.subscription_utilisation",
        "marts.budget_vs_actual",
        "marts.inactive_licences",
    ]
    counts = {table: scalar(small.url, f"select count(*) from {table}") for table in filled}
    assert all(counts.values()), counts
    forecast_rows = scalar(small.url, "select count(*) from reporting.department_spend_forecast")
    # six months ahead for each of the seven departments once the history allows it, none before
    assert forecast_rows == (42 if small.portfolio == "XS demo" else 0)


def test_recommendations_name_the_waiting_churn_model(small):
    reason = _model_states(small.url)["recommendations"][1]
    count = scalar(small.url, "select count(*) from reporting.recommendations")
    assert reason == (
        f"needs no training: {count} recommendations from rules over the marts; churn prevention waits for churn scores"
    )
    assert scalar(small.url, "select count(*) from reporting.recommendations where kind = 'churn_prevention'") == 0
