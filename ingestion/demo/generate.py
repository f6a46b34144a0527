"""Every demo entity from one seed, and the ground truth of what was planted in them."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from ingestion.demo import it_focus, it_m365, it_people, it_saas, msp_agreements, msp_clients, msp_rmm, msp_service
from ingestion.demo.scales import Scale
from ingestion.demo.timeline import Timeline


def generate(
    scale: Scale, as_of: date, seed: int = 7, *, focus_version: str = "1.2", focus_custom_columns: bool = True
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Build every entity as a DataFrame keyed `<source>/<entity>` (columns named as the source
    exports them), and the ground truth. The same arguments always give the same data."""
    timeline = Timeline(as_of, scale.months)
    msp_frames, msp_truth = _msp(np.random.default_rng([seed, 1]), scale, timeline)
    it_frames, it_truth = _it(np.random.default_rng([seed, 2]), scale, timeline, focus_version, focus_custom_columns)
    truth = {
        "as_of": as_of.isoformat(),
        "seed": seed,
        "scale": scale.__dict__,
        "focus_version": focus_version,
        "history_start": timeline.start.date().isoformat(),
        **msp_truth,
        **it_truth,
    }
    return {**msp_frames, **it_frames}, truth


def _msp(rng, scale: Scale, timeline: Timeline) -> tuple[dict, dict]:
    clients, plan = msp_clients.plan_clients(rng, scale, timeline)
    agreements, agreement_facts, upsell_gaps = msp_agreements.make_agreements(rng, plan, timeline)
    tickets, ticket_facts = msp_service.make_tickets(rng, plan, timeline)
    snapshots = msp_rmm.make_device_snapshots(rng, plan, agreement_facts, timeline)
    frames = {
        "psa/clients": clients,
        "psa/agreements": agreements,
        "psa/invoices": msp_agreements.make_invoices(rng, plan, agreements, agreement_facts, timeline),
        "psa/tickets": tickets,
        "psa/time_entries": msp_service.make_time_entries(rng, plan, ticket_facts, agreement_facts, timeline),
        "psa/csat_responses": msp_service.make_csat(rng, plan, ticket_facts, timeline),
        "rmm/device_snapshots": snapshots,
    }
    churners = np.flatnonzero(~np.isnan(plan.churn_day))
    truth = {
        "churned_clients": sorted(plan.ids[churners].tolist()),
        "churners": [
            {
                "client_id": str(plan.ids[c]),
                "churn_date": str(timeline.dates([plan.churn_day[c]])[0]),
                "reason": str(plan.churn_reason[c]),
                "warning_signs": bool(plan.declines[c]),
            }
            for c in churners
        ],
        "rough_patch_clients": sorted(plan.ids[~np.isnan(plan.patch_day)].tolist()),
        "slow_payers": sorted(plan.ids[plan.slow_payer].tolist()),
        "upsell_gaps": upsell_gaps,
        "billing_drift": msp_rmm.billing_drift(plan, agreements, snapshots),
    }
    return frames, truth


def _it(rng, scale: Scale, timeline: Timeline, focus_version: str, focus_custom_columns: bool) -> tuple[dict, dict]:
    employees, people = it_people.make_employees(rng, scale.employees, timeline)
    subscriptions, assignments, seats = it_saas.make_subscriptions_and_seats(rng, people, timeline)
    usage, usage_anomalies = it_saas.make_daily_usage(rng, people, seats, scale.usage_days, timeline)
    costs, spend_anomalies = it_focus.make_costs(
        rng, scale.resources_per_service, timeline, focus_version, focus_custom_columns
    )
    frames = {
        "hr/employees": employees,
        "saas/applications": it_saas.make_applications(),
        "saas/subscriptions": subscriptions,
        "saas/licence_assignments": assignments,
        "saas/daily_usage": usage,
        "m365/active_user_detail": it_m365.make_active_user_detail(rng, people, seats, usage, timeline),
        "focus/costs": costs,
    }
    truth = {
        "inactive_assignments": it_saas.idle_seats(seats, people, subscriptions, usage, scale.usage_days, timeline),
        "duplicate_app_pairs": it_saas.duplicate_pairs(seats),
        "spend_anomalies": spend_anomalies,
        "usage_anomalies": usage_anomalies,
    }
    return frames, truth
