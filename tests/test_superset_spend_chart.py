"""The IT dashboard's "Daily spend with anomalies" marks every day the anomaly detector flagged at
that day's spend, so each dot sits on the spend line, and a department's anomaly is told apart
from the total's. Read through Superset's chart data API from the chart's saved query context, as
the dashboard reads it, against what the detector wrote (ml.spend_anomalies) and the spend mart.

Uses the session's Superset (`superset` and `api` in the conftest); tests/test_superset_dashboards.py
saves the browser's view of the chart (test-artefacts/superset-<role>-daily-spend-with-anomalies.png).
"""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, date, datetime

import pytest

from superset_config import access
from tests.support import query

pytestmark = pytest.mark.slow

CHART = "Daily spend with anomalies"
LINE, IN_A_DEPARTMENT, IN_THE_TOTAL = "billed_cost", "anomalous_cost", "total_anomalous_cost"
LEGEND = {LINE: "Spend", IN_A_DEPARTMENT: "Anomaly in a department", IN_THE_TOTAL: "Anomaly in the total"}
# the dashboard's only native filter
DEPARTMENT_FILTER = "Department"


@pytest.fixture(scope="module")
def chart(api) -> dict:
    """The chart as Superset holds it (with its saved query context), found on the IT dashboard."""
    (listed,) = [c for c in api.dashboard_charts(access.IT_DASHBOARD) if c["slice_name"] == CHART]
    return {**api.get(f"/api/v1/chart/{listed['id']}")["result"], "id": listed["id"]}


@pytest.fixture(scope="module")
def busiest_department(warehouse_url) -> str:
    """The department with the most incidents of its own, so a filter on it still shows marks."""
    return query(
        warehouse_url,
        "select department from ml.spend_anomalies where scope = 'department' "
        "group by 1 order by count(*) desc, 1 limit 1",
    )[0][0]


def test_every_anomaly_sits_on_the_spend_line_and_no_other_day_is_marked(api, chart, warehouse_url):
    answer = api.get(f"/api/v1/chart/{chart['id']}/data/")
    _assert_marks_on_the_line(answer, warehouse_url, department=None)


def test_with_the_department_filter_the_marks_sit_on_that_departments_line(
    api, chart, warehouse_url, busiest_department
):
    metadata = json.loads(api.get(f"/api/v1/dashboard/{access.IT_DASHBOARD}")["result"]["json_metadata"])
    (native,) = [f for f in metadata["native_filter_configuration"] if f["name"] == DEPARTMENT_FILTER]
    assert chart["id"] not in native["scope"]["excluded"], "the department filter reaches the chart"
    (target,) = native["targets"]
    # what a filter_select sends when one value is picked: the dashboard appends it to every query
    picked = {"col": target["column"]["name"], "op": "IN", "val": [busiest_department]}
    context = json.loads(chart["query_context"])
    filtered = copy.deepcopy(context)
    for one_query in filtered["queries"]:
        one_query["filters"].append(picked)
    filtered["form_data"]["extra_form_data"] = {"filters": [picked]}
    answer = api.post("/api/v1/chart/data", filtered)
    for result in answer["result"]:
        assert {"column": "department"} in result["applied_filters"], result["rejected_filters"]
    _assert_marks_on_the_line(answer, warehouse_url, department=busiest_department)


def test_a_departments_anomaly_and_the_totals_have_their_own_series_and_names(api, chart):
    form_data = json.loads(chart["params"])
    assert (form_data["seriesType"], form_data["metrics"]) == ("line", [LINE])
    assert (form_data["seriesTypeB"], form_data["metrics_b"]) == ("scatter", [IN_A_DEPARTMENT, IN_THE_TOTAL])
    assert form_data["yAxisIndexB"] == form_data["yAxisIndex"], "dots and line on one axis, one scale"
    dataset_id = api.list("dataset", table_name="department_spend_anomalies")[0]["id"]
    metrics = api.get(f"/api/v1/dataset/{dataset_id}")["result"]["metrics"]
    assert {m["metric_name"]: m["verbose_name"] for m in metrics if m["metric_name"] in LEGEND} == LEGEND


def _assert_marks_on_the_line(answer: dict, warehouse_url: str, department: str | None) -> None:
    """Line: each day's spend as the spend mart sums it. Dots: exactly the days the detector flagged
    (a department's incidents, in the department shown when filtered; the total's), each at the
    line's value of that day. A dot drawn from any other figure (the expected cost, the flagged
    department's own spend under an all-department line) differs from the line and fails here."""
    line_result, marks_result = answer["result"]
    line = {_day(row["charge_date"]): row[LINE] for row in line_result["data"]}
    marks = {_day(row["charge_date"]): row for row in marks_result["data"]}
    in_department = "" if department is None else "and department = %(department)s"
    spend = dict(
        query(
            warehouse_url,
            f"select charge_date, sum(billed_cost)::float from marts.department_daily_spend "
            f"where true {in_department} group by 1",
            {"department": department},
        )
    )
    assert line.keys() == spend.keys()
    assert line == pytest.approx(spend)
    flagged = {
        scope: {
            day
            for (day,) in query(
                warehouse_url,
                f"select distinct charge_date::date from ml.spend_anomalies where scope = %(scope)s {restriction}",
                {"scope": scope, "department": department},
            )
        }
        for scope, restriction in (("department", in_department), ("total", ""))
    }
    assert flagged["department"] and flagged["total"], "the demo plants anomalies of both kinds"
    wrong = []  # both series judged before failing, so one report shows every misplaced mark
    for metric, scope in ((IN_A_DEPARTMENT, "department"), (IN_THE_TOTAL, "total")):
        marked = {day: row[metric] for day, row in marks.items() if row.get(metric) is not None}
        if set(marked) != flagged[scope]:
            wrong.append(
                f"{metric}: marks days the detector did not flag {sorted(set(marked) - flagged[scope])}, "
                f"misses flagged days {sorted(flagged[scope] - set(marked))}"
            )
        off = {
            str(day): (value, line.get(day))
            for day, value in sorted(marked.items())
            if line.get(day) is None or not math.isclose(value, line[day], abs_tol=0.005)
        }
        if off:
            wrong.append(f"{metric}: {len(off)} of {len(marked)} marks off the line, (mark, line) {off}")
    assert not wrong, "\n".join(wrong)


def _day(epoch_ms: int) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).date()
