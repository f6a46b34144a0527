"""The client health score moves the right way, adds up, and reads its weights from config."""

from __future__ import annotations

import pandas as pd
import pytest

from ml_assets.health import DEFAULT_CONFIG, health_scores, load_health_config

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it

FACTORS = ["csat", "sla", "ticket_trend", "payment", "renewal", "breadth"]


def client(**changes) -> dict:
    base = {
        "client_id": "C1",
        "csat_score": 4.3,
        "sla_compliance": 0.92,
        "ticket_trend": 1.1,
        "avg_days_late": 4.0,
        "days_to_renewal": 150,
        "service_count": 3,
    }
    return {**base, **changes}


def scores(*rows: dict) -> pd.DataFrame:
    return health_scores(pd.DataFrame(list(rows)), "client_id")


def test_default_config_has_six_weighted_factors_and_bands():
    config = load_health_config()
    assert [f.name for f in config.factors] == FACTORS
    assert sum(f.weight for f in config.factors) == pytest.approx(1.0)
    assert (config.healthy, config.watch) == (70.0, 45.0)
    assert DEFAULT_CONFIG.name == "health_weights.toml"


def test_worse_csat_lowers_the_score():
    result = scores(client(client_id="good", csat_score=4.5), client(client_id="poor", csat_score=3.2))
    good, poor = result.set_index("client_id").loc[["good", "poor"], "health_score"]
    assert poor < good
    assert (
        result.set_index("client_id").at["poor", "contribution_csat"]
        < result.set_index("client_id").at["good", "contribution_csat"]
    )


def test_more_sla_misses_lower_the_score():
    compliance = [0.99, 0.9, 0.8, 0.7]
    result = scores(*[client(client_id=f"c{i}", sla_compliance=c) for i, c in enumerate(compliance)])
    assert result["health_score"].is_monotonic_decreasing
    assert result["health_score"].iloc[0] > result["health_score"].iloc[-1]


def test_contributions_add_up_to_the_score_and_follow_the_formula():
    row = scores(
        client(
            csat_score=3.8,
            sla_compliance=0.86,
            ticket_trend=1.5,
            avg_days_late=15,
            days_to_renewal=105,
            service_count=2.5,
        )
    ).iloc[0]
    # Each factor sits exactly halfway between its bad and good points.
    for name in FACTORS:
        assert row[f"factor_{name}"] == pytest.approx(0.5, abs=1e-3)
    assert row["health_score"] == pytest.approx(50.0)
    assert sum(row[f"contribution_{name}"] for name in FACTORS) == pytest.approx(row["health_score"], abs=0.05)
    assert row["contribution_csat"] == pytest.approx(12.5)  # weight 0.25 of 100 points, half earned


def test_bands_and_a_missing_factor():
    result = scores(
        client(
            client_id="top",
            csat_score=5,
            sla_compliance=1,
            ticket_trend=0.8,
            avg_days_late=0,
            days_to_renewal=365,
            service_count=5,
        ),
        client(
            client_id="low",
            csat_score=2.5,
            sla_compliance=0.6,
            ticket_trend=2.5,
            avg_days_late=40,
            days_to_renewal=10,
            service_count=1,
        ),
        client(client_id="mid", csat_score=None),
    ).set_index("client_id")
    assert result.at["top", "health_score"] == 100.0 and result.at["top", "health_band"] == "healthy"
    assert result.at["low", "health_score"] == 0.0 and result.at["low", "health_band"] == "at risk"
    # No CSAT answer: scored on the other five, not marked down for the gap.
    assert result.at["mid", "factors_available"] == 5 and pd.isna(result.at["mid", "contribution_csat"])
    with_csat = scores(client()).iloc[0]
    others = [f"factor_{n}" for n in FACTORS if n != "csat"]
    assert result.loc["mid", others].tolist() == with_csat[others].tolist()


def test_another_config_file_changes_the_weights(tmp_path):
    path = tmp_path / "weights.toml"
    path.write_text(DEFAULT_CONFIG.read_text().replace("weight = 0.25", "weight = 2.0"))
    heavy = health_scores(pd.DataFrame([client(csat_score=3.0)]), "client_id", load_health_config(path))
    assert heavy.at[0, "health_score"] < scores(client(csat_score=3.0)).at[0, "health_score"]
    path.write_text("[factors.csat]\ncolumn = 'csat_score'\nweight = 1\nbad = 3\ngood = 3\n")
    with pytest.raises(ValueError, match="good and bad must differ"):
        load_health_config(path)


def test_a_missing_column_is_an_error():
    with pytest.raises(ValueError, match="sla_compliance"):
        health_scores(pd.DataFrame([client()]).drop(columns="sla_compliance"), "client_id")
