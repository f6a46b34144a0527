"""The demo generator: deterministic, shaped like every source contract, written as the sources
deliver their files, and carrying the signals the ground truth says were planted."""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from ingestion.contracts import CONTRACTS
from ingestion.demo import SCALES, TRUTH_KEY, generate, write_to_landing
from ingestion.object_store import LocalObjectStore

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it

AS_OF = date(2026, 11, 25)
# Microsoft Graph `getOffice365ActiveUserDetail`, CSV headers as Microsoft documents them.
MICROSOFT_HEADERS = [
    "Report Refresh Date",
    "User Principal Name",
    "Display Name",
    "Is Deleted",
    "Deleted Date",
    "Has Exchange License",
    "Has OneDrive License",
    "Has SharePoint License",
    "Has Skype For Business License",
    "Has Yammer License",
    "Has Teams License",
    "Exchange Last Activity Date",
    "OneDrive Last Activity Date",
    "SharePoint Last Activity Date",
    "Skype For Business Last Activity Date",
    "Yammer Last Activity Date",
    "Teams Last Activity Date",
    "Exchange License Assign Date",
    "OneDrive License Assign Date",
    "SharePoint License Assign Date",
    "Skype For Business License Assign Date",
    "Yammer License Assign Date",
    "Teams License Assign Date",
    "Assigned Products",
]
FOCUS_1_1_AND_1_2_COLUMNS = {
    "CapacityReservationId",
    "CapacityReservationStatus",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountUnit",
    "ServiceSubcategory",
    "SkuMeter",
    "SkuPriceDetails",
    "BillingAccountType",
    "InvoiceId",
    "PricingCurrency",
    "SubAccountType",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
}


@pytest.fixture(scope="module")
def demo():
    return generate(SCALES["S"], AS_OF)


@pytest.fixture(scope="module")
def frames(demo):
    return demo[0]


@pytest.fixture(scope="module")
def truth(demo):
    return demo[1]


@pytest.fixture(scope="module")
def churners(truth) -> pd.DataFrame:
    found = pd.DataFrame(truth["churners"])
    return found.assign(churn_date=pd.to_datetime(found["churn_date"]))


def _frame(frames, contract):
    return frames[f"{contract.source}/{contract.entity}"]


# --- shape ---------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_data_and_another_seed_does_not():
    first, first_truth = generate(SCALES["XS"], AS_OF, seed=3)
    again, again_truth = generate(SCALES["XS"], AS_OF, seed=3)
    assert first.keys() == again.keys()
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert json.dumps(first_truth, default=str) == json.dumps(again_truth, default=str)
    other, _ = generate(SCALES["XS"], AS_OF, seed=4)
    assert not other["psa/tickets"].equals(first["psa/tickets"])


def test_every_entity_belongs_to_a_contract(frames):
    assert set(frames) == {f"{c.source}/{c.entity}" for c in CONTRACTS}


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_frame_has_the_contract_source_headers(frames, contract):
    frame = _frame(frames, contract)
    assert len(frame) > 0
    custom = [c for c in frame.columns if contract.keep_extra_prefix and c.startswith(contract.keep_extra_prefix)]
    assert list(frame.columns) == [c.source_name for c in contract.columns] + custom


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_frame_keeps_its_contract_rules(frames, contract):
    frame = _frame(frames, contract).rename(columns={c.source_name: c.name for c in contract.columns})
    if contract.key:  # FOCUS rows have none: a delivery replaces its billing period
        assert not frame.duplicated(list(contract.key)).any()
    for column in contract.columns:
        values = frame[column.name]
        if column.required or column.name in contract.key:
            assert values.notna().all(), column.name
        if column.allowed:
            assert values.dropna().isin(column.allowed).all(), column.name
        if column.minimum is not None:
            assert (values.dropna() >= column.minimum).all(), column.name
        if column.maximum is not None:
            assert (values.dropna() <= column.maximum).all(), column.name


def test_scales_grow_from_tests_to_benchmarks():
    xs, s, m = SCALES["XS"], SCALES["S"], SCALES["M"]
    assert xs.clients < s.clients < m.clients and xs.employees < s.employees < m.employees
    # daily usage rows ~ employees x applications held x days: M must give a multi-million-row file
    assert m.employees * m.usage_days * 2 >= 2_000_000


def test_landing_files_are_written_as_the_sources_deliver_them(tmp_path):
    store = LocalObjectStore(tmp_path)
    counts = write_to_landing(store, "XS", AS_OF)
    frames, truth = generate(SCALES["XS"], AS_OF)
    assert counts == {name: len(frame) for name, frame in frames.items()}
    for contract in CONTRACTS:
        objects = store.list(contract.landing_prefix)
        assert len(objects) == 1
        data = store.get_bytes(objects[0].key)
        if objects[0].key.endswith(".gz"):
            data = gzip.decompress(data)
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        assert rows[0] == list(frames[f"{contract.source}/{contract.entity}"].columns)
        assert len(rows) - 1 == counts[f"{contract.source}/{contract.entity}"]
    assert store.list("landing/rmm/device_snapshots/")[0].key.endswith(".csv.gz")
    assert json.loads(store.get_bytes(TRUTH_KEY)) == json.loads(json.dumps(truth, default=str))


def test_landing_takes_a_custom_scale(tmp_path):
    more_clients = replace(SCALES["XS"], clients=SCALES["XS"].clients + 7)
    counts = write_to_landing(LocalObjectStore(tmp_path), more_clients, AS_OF)
    assert counts["psa/clients"] == more_clients.clients
    assert json.loads(LocalObjectStore(tmp_path).get_bytes(TRUTH_KEY))["scale"]["clients"] == more_clients.clients


def test_m365_report_carries_microsofts_exact_headers(tmp_path, frames):
    assert list(frames["m365/active_user_detail"].columns) == MICROSOFT_HEADERS
    store = LocalObjectStore(tmp_path)
    write_to_landing(store, "XS", AS_OF)
    key = store.list("landing/m365/active_user_detail/")[0].key
    header = next(csv.reader(io.StringIO(store.get_bytes(key).decode("utf-8"))))
    assert header == MICROSOFT_HEADERS
    report = pd.read_csv(io.BytesIO(store.get_bytes(key)), dtype=str, keep_default_na=False)
    assert set(report["Is Deleted"]) <= {"True", "False"}
    assert report["Report Refresh Date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_focus_files_use_the_spec_names_and_iso_utc_times(tmp_path):
    store = LocalObjectStore(tmp_path)
    write_to_landing(store, "XS", AS_OF)
    key = store.list("landing/focus/costs/")[0].key
    costs = pd.read_csv(io.BytesIO(store.get_bytes(key)), dtype=str, keep_default_na=False)
    assert {
        "BilledCost",
        "EffectiveCost",
        "ListCost",
        "ContractedCost",
        "ChargePeriodStart",
        "InvoiceId",
        "ServiceSubcategory",
        "Tags",
    } <= set(costs.columns)
    assert costs["ChargePeriodStart"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00Z").all()


def test_focus_files_carry_a_custom_column_unless_asked_not_to(frames):
    assert [c for c in frames["focus/costs"].columns if c.startswith("x_")] == ["x_UsageType"]
    plain, _ = generate(SCALES["XS"], AS_OF, focus_custom_columns=False)
    assert not [c for c in plain["focus/costs"].columns if c.startswith("x_")]


def test_focus_can_be_written_with_the_1_0_columns():
    frames, truth = generate(SCALES["XS"], AS_OF, focus_version="1.0")
    columns = set(frames["focus/costs"].columns)
    assert not columns & FOCUS_1_1_AND_1_2_COLUMNS
    assert {"BilledCost", "ChargeClass", "ContractedCost", "ConsumedQuantity", "x_UsageType"} <= columns
    assert truth["focus_version"] == "1.0"


# --- planted MSP signals -----------------------------------------------------------------------------


def _days_before_churn(frame: pd.DataFrame, when: str, churners: pd.DataFrame) -> pd.DataFrame:
    joined = frame.merge(churners, on="client_id", how="left")
    return joined.assign(days_before=(joined["churn_date"] - joined[when]).dt.days)


def test_churners_tickets_turn_p1_and_miss_sla_before_they_leave(frames, churners):
    warned = churners[churners["warning_signs"]]
    tickets = _days_before_churn(frames["psa/tickets"], "created_at", warned)
    last_quarter = tickets[tickets["days_before"].between(0, 90)]
    earlier = tickets[tickets["days_before"] > 180]
    assert (last_quarter["priority"] == "P1").mean() > 3 * (earlier["priority"] == "P1").mean()
    assert (~last_quarter["sla_response_met"]).mean() > 3 * (~earlier["sla_response_met"]).mean()
    assert (tickets["days_before"] < 0).sum() == 0  # no service after leaving


def test_churners_csat_falls_before_they_leave(frames, churners):
    responses = _days_before_churn(frames["psa/csat_responses"], "responded_at", churners[churners["warning_signs"]])
    last_quarter = responses[responses["days_before"].between(0, 90)]["score"].mean()
    earlier = responses[responses["days_before"] > 180]["score"].mean()
    assert last_quarter < earlier - 1.0


def test_churners_pay_late_before_they_leave(frames, churners):
    invoices = _days_before_churn(frames["psa/invoices"], "issued_date", churners)
    late = invoices["paid_date"] > invoices["due_date"]
    share_late_before_churn = late[invoices["days_before"].between(0, 120)].mean()
    share_late_stayers = late[invoices["churn_date"].isna()].mean()
    assert share_late_before_churn > 2 * share_late_stayers


def test_churners_cancel_every_agreement_by_their_churn_date(frames, churners):
    agreements = frames["psa/agreements"].merge(churners, on="client_id")
    assert agreements["cancelled"].all()
    assert (agreements["cancelled_date"] <= agreements["churn_date"]).all()
    managed = agreements[agreements["agreement_type"] == "managed_services"]
    assert (managed["cancelled_date"] == managed["churn_date"]).all()
    stayers = frames["psa/agreements"][~frames["psa/agreements"]["client_id"].isin(churners["client_id"])]
    assert not stayers.loc[stayers["agreement_type"] == "managed_services", "cancelled"].any()


def test_upsell_gaps_lack_a_service_most_clients_have_and_ask_for_it(frames, truth):
    agreements, tickets = frames["psa/agreements"], frames["psa/tickets"]
    clients = frames["psa/clients"].set_index("client_id")
    recent = tickets[tickets["created_at"] >= pd.Timestamp(AS_OF) - pd.Timedelta(days=180)]
    per_employee = (
        recent.groupby(["client_id", "category"])
        .size()
        .unstack(fill_value=0)
        .div(clients["employee_count"], axis=0)
        .fillna(0)
    )
    assert truth["upsell_gaps"]
    gap_clients = {g["client_id"] for g in truth["upsell_gaps"]}
    for gap in truth["upsell_gaps"]:
        owned = agreements.loc[agreements["client_id"] == gap["client_id"], "agreement_type"]
        assert gap["service"] not in set(owned)
        others = agreements[~agreements["client_id"].isin(gap_clients)]
        share_with_service = others.groupby("client_id")["agreement_type"].apply(
            lambda t, service=gap["service"]: service in set(t)
        )
        assert share_with_service.mean() > 0.4
        demand = per_employee[gap["demand_ticket_category"]]
        assert demand[gap["client_id"]] > demand.median()
        assert gap["estimated_mrr"] > 0


def test_billing_drift_clients_run_more_devices_than_they_pay_for(frames, truth):
    latest = frames["rmm/device_snapshots"].groupby("client_id", observed=True)["managed_endpoints"].last()
    assert truth["billing_drift"]
    for drift in truth["billing_drift"]:
        assert latest[drift["client_id"]] >= 1.1 * drift["billed_units"]
    managed = frames["psa/agreements"].query("agreement_type == 'managed_services' and not cancelled")
    honest = managed[~managed["client_id"].isin({d["client_id"] for d in truth["billing_drift"]})]
    ratio = latest.reindex(honest["client_id"]).to_numpy() / honest["units"].to_numpy()
    assert np.nanmax(np.abs(ratio - 1)) < 0.08


# --- planted IT signals ------------------------------------------------------------------------------


def _department_daily_spend(frames) -> pd.DataFrame:
    costs = frames["focus/costs"]
    department = costs["Tags"].map(lambda tags: json.loads(tags)["department"])
    return costs.groupby([department.rename("department"), "ChargePeriodStart"])["BilledCost"].sum().unstack(0)


def test_spend_anomalies_are_where_the_truth_says(frames, truth):
    spend = _department_daily_spend(frames)
    kinds = {a["kind"] for a in truth["spend_anomalies"]}
    assert kinds == {"spike", "drop", "level_shift"}
    for anomaly in truth["spend_anomalies"]:
        series = spend[anomaly["department"]]
        day = pd.Timestamp(anomaly["date"])
        same_weekdays = series.reindex([day - pd.Timedelta(weeks=k) for k in range(1, 5)])
        if anomaly["kind"] == "spike":
            assert series[day] > 2 * same_weekdays.median(), anomaly
        elif anomaly["kind"] == "drop":
            assert series[day] < 0.75 * same_weekdays.median(), anomaly
        else:
            before = series[day - pd.Timedelta(days=28) : day - pd.Timedelta(days=1)].median()
            after = series[day : day + pd.Timedelta(days=13)].median()
            assert after > 1.3 * before, anomaly


def test_usage_outage_is_where_the_truth_says(frames, truth):
    usage = frames["saas/daily_usage"]
    (outage,) = truth["usage_anomalies"]
    active = usage[usage["active"] & (usage["application_id"] == outage["application_id"])]
    per_day = active.groupby("usage_date").size()
    day = pd.Timestamp(outage["date"])
    same_weekdays = per_day.reindex([day - pd.Timedelta(weeks=k) for k in range(1, 4)])
    assert per_day.get(day, 0) < 0.2 * same_weekdays.median()


def test_idle_seats_are_held_and_never_used(frames, truth):
    idle = pd.DataFrame(truth["inactive_assignments"])
    assert {"never_used", "left_company"} <= set(idle["reason"]) <= {"never_used", "left_company", "stopped_using"}
    assignments = frames["saas/licence_assignments"]
    held = assignments[assignments["unassigned_date"].isna()]
    assert len(idle.merge(held, on=["subscription_id", "employee_id"])) == len(idle)
    usage = frames["saas/daily_usage"].astype({"employee_id": str, "application_id": str})
    used = usage.merge(idle, on=["employee_id", "application_id"])
    assert not used["active"].any()
    never_used = idle[idle["reason"] == "never_used"]
    assert usage.merge(never_used, on=["employee_id", "application_id"]).empty


def test_duplicate_apps_share_a_category_and_many_users(frames, truth):
    catalogue = frames["saas/applications"].set_index("application_id")
    subscriptions = frames["saas/subscriptions"].set_index("subscription_id")
    assignments = frames["saas/licence_assignments"]
    held = assignments[assignments["unassigned_date"].isna()]
    users = held.assign(application_id=held["subscription_id"].map(subscriptions["application_id"]))
    assert len(truth["duplicate_app_pairs"]) == 2
    for pair in truth["duplicate_app_pairs"]:
        first, second = pair["application_ids"]
        assert catalogue.loc[first, "category"] == catalogue.loc[second, "category"] == pair["category"]
        holders = [set(users.loc[users["application_id"] == a, "employee_id"]) for a in (first, second)]
        assert len(holders[0] & holders[1]) >= 0.4 * min(map(len, holders))
    # other same-category applications (design tools) overlap far less
    design = catalogue.index[catalogue["category"] == "Design"]
    holders = [set(users.loc[users["application_id"] == a, "employee_id"]) for a in design]
    assert len(holders[0] & holders[1]) < 0.4 * min(map(len, holders))


def test_m365_report_matches_the_directory_and_the_licence_model(frames, truth):
    report = frames["m365/active_user_detail"]
    employees = frames["hr/employees"].set_index("user_principal_name")
    assert set(report["User Principal Name"]) <= set(employees.index)
    licensed = report[report["Has Exchange License"] == "True"]
    m365_subscription = frames["saas/subscriptions"].query("application_id == 'APP001'")["subscription_id"].item()
    seats = frames["saas/licence_assignments"].query("subscription_id == @m365_subscription and unassigned_date.isna()")
    holders = set(employees.loc[licensed["User Principal Name"], "employee_id"])
    assert holders <= set(seats["employee_id"])
    idle = {i["employee_id"] for i in truth["inactive_assignments"] if i["subscription_id"] == m365_subscription}
    idle_rows = licensed[employees.loc[licensed["User Principal Name"], "employee_id"].isin(idle).to_numpy()]
    assert len(idle_rows) > 0 and idle_rows["Exchange Last Activity Date"].isna().all()
    assert (report.loc[report["Is Deleted"] == "True", "Has Exchange License"] == "False").all()
