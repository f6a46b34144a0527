"""RMM daily snapshots: the estate each client has under management and how healthy it is."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingestion.demo.msp_agreements import AgreementFacts
from ingestion.demo.msp_clients import ClientPlan
from ingestion.demo.timeline import Timeline, labels

DRIFT_DAYS = 180  # unbilled devices creep in over the last half year


def make_device_snapshots(rng, plan: ClientPlan, agreements: AgreementFacts, timeline: Timeline) -> pd.DataFrame:
    first = np.ceil(plan.window_start).astype(int)
    last = np.ceil(plan.window_end).astype(int)  # exclusive
    span = np.maximum(last - first, 0)
    client = np.repeat(np.arange(plan.n), span)
    day = (np.arange(len(client)) - np.repeat(np.cumsum(span) - span, span) + first[client]).astype(float)

    phase = rng.uniform(0, 2 * np.pi, plan.n)[client]
    growth = 1 + 0.03 * np.sin(2 * np.pi * day / 365 + phase)
    creep = plan.drift[client] * np.clip((day - (timeline.end - DRIFT_DAYS)) / (DRIFT_DAYS - 30), 0, 1)
    endpoints = np.round(plan.endpoints[client] * (growth + creep)).astype(int)

    trouble = plan.trouble(client, day)
    patch = np.clip(97 - 22 * trouble + rng.normal(0, 1.5, len(client)), 35, 100).round(1)
    _, backup_start, backup_stop = agreements.of_service(plan.n, "backup")
    backed_up = (backup_start[client] <= day) & ~(backup_stop[client] <= day)
    backup = np.where(backed_up, np.clip(99.2 - 12 * trouble + rng.normal(0, 0.8, len(client)), 50, 100), np.nan)
    return pd.DataFrame(
        {
            "client_id": labels(plan.ids, client),
            "snapshot_date": timeline.dates(day),
            "managed_endpoints": endpoints,
            "patch_compliance_pct": patch,
            "backup_success_pct": backup.round(1),
        }
    )


def billing_drift(plan: ClientPlan, agreements: pd.DataFrame, snapshots: pd.DataFrame) -> list[dict]:
    """The planted gaps between devices supported (latest snapshot) and devices billed."""
    drifting = set(plan.ids[plan.drift > 0])
    managed = agreements[(agreements["agreement_type"] == "managed_services") & agreements["client_id"].isin(drifting)]
    latest = snapshots[snapshots["client_id"].isin(drifting)].groupby("client_id")["managed_endpoints"].last()
    return [
        {
            "client_id": row.client_id,
            "agreement_id": row.agreement_id,
            "billed_units": int(row.units),
            "supported_units": int(latest[row.client_id]),
        }
        for row in managed.itertuples()
    ]
