"""`ml.model_runs`: one row per model per run, saying what the model did with its input and why.

A model that trained lists its version, artefact and metrics; one that could not learn from the
data yet says so in `reason` ("not enough churn history yet: 2 churned clients, need 10"), and a
score that needs no training (health, recommendations) is `computed`. The Data Health dashboard
shows each model's latest row (`reporting.model_status`).
"""

from __future__ import annotations

import json

TRAINED = "trained"
NOT_TRAINED = "not trained"
COMPUTED = "computed"

# Kept equal to the pre-hook of dbt_project/models/reporting/model_status.sql, which creates the
# table before any model has run.
_CREATE = """
create table if not exists ml.model_runs (
    dagster_run_id text, model text not null, version text, trained_at timestamptz not null,
    artefact_key text, roc_auc double precision, pr_auc double precision,
    brier double precision, metrics jsonb not null, state text, reason text
)"""
# Tables written before models could decline to train lack the last two columns and required a
# version and an artefact.
_UPGRADE = (
    "alter table ml.model_runs add column if not exists state text",
    "alter table ml.model_runs add column if not exists reason text",
    "alter table ml.model_runs alter column version drop not null",
    "alter table ml.model_runs alter column artefact_key drop not null",
)


def ensure_model_runs(conn) -> None:
    conn.execute("create schema if not exists ml")
    conn.execute(_CREATE)
    for statement in _UPGRADE:
        conn.execute(statement)


def record_model_state(
    conn,
    model: str,
    run_id: str | None,
    state: str,
    reason: str,
    metrics: dict | None = None,
    version: str | None = None,
    artefact_key: str | None = None,
) -> None:
    """Add this run's row for `model` to ml.model_runs (committed)."""
    ensure_model_runs(conn)
    metrics = metrics or {}
    conn.execute(
        "insert into ml.model_runs (dagster_run_id, model, version, trained_at, artefact_key, roc_auc, pr_auc, "
        "brier, metrics, state, reason) values (%s, %s, %s, now(), %s, %s, %s, %s, %s, %s, %s)",
        (
            run_id,
            model,
            version,
            artefact_key,
            metrics.get("roc_auc"),
            metrics.get("pr_auc"),
            metrics.get("brier"),
            json.dumps(metrics, default=str),
            state,
            reason,
        ),
    )
    conn.commit()
