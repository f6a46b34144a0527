"""Whatever file arrives, a load ends in one of three outcomes (loaded, rows held back, quarantined),
no exception escapes, and every stored value is the delivered one (a timestamp as its instant in UTC).

Hypothesis writes ticket files from the contract's columns with values drawn from good and hostile
ones (offsets, blanks, NaN, huge integers, control characters, quotes and newlines in text), in
several shapes (CSV, semicolons, JSON lines, Latin-1, a column missing or added).
"""

from __future__ import annotations

import csv
import io
import itertools
import json

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.contracts import BY_NAME
from ingestion.loader import load_file

CONTRACT = BY_NAME["psa__tickets"]
OUTCOMES = {"loaded", "loaded_with_rejects", "quarantined"}
file_numbers = itertools.count()

moments = st.builds(
    lambda moment, zone: moment.isoformat(timespec="seconds") + zone,
    st.datetimes(
        min_value=pd.Timestamp("1990-01-01").to_pydatetime(), max_value=pd.Timestamp("2030-12-31").to_pydatetime()
    ),
    st.sampled_from(["", "Z", "+05:00", "-08:00", "+13:45"]),
)
hostile_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
row = st.fixed_dictionaries(
    {
        "ticket_id": st.one_of(
            st.from_regex(r"T[0-9]{1,5}", fullmatch=True), st.sampled_from(["", "   "]), hostile_text
        ),
        "client_id": st.sampled_from(["C00001", "C00002", ""]),
        "priority": st.sampled_from(["P1", "P2", "P3", "P4", "P9", "", "p1"]),
        "category": hostile_text,
        "created_at": st.one_of(moments, st.sampled_from(["", "0001-01-01T00:00:00", "not a date", "2024-13-01"])),
        "first_response_at": st.one_of(moments, st.just("")),
        "resolved_at": st.just(""),
        "sla_response_met": st.sampled_from(["true", "false", "yes", "", "maybe"]),
        "sla_resolution_met": st.sampled_from(["true", ""]),
        "reopen_count": st.one_of(
            st.integers(-3, 10**20).map(str), st.sampled_from(["", "NaN", "1.5", "x", "Infinity"])
        ),
    }
)
shapes = st.sampled_from(["csv", "semicolons", "jsonl", "latin1", "missing_column", "extra_column"])


def delivered(rows: list[dict], shape: str) -> tuple[str, bytes]:
    header = list(rows[0])
    if shape == "missing_column":
        header.remove("priority")
    if shape == "extra_column":
        header.append("fax")
    if shape == "jsonl":
        return "jsonl", "".join(json.dumps({k: r.get(k, "") for k in header}) + "\n" for r in rows).encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if shape == "semicolons" else ",")
    writer.writerow(header)
    writer.writerows([[r.get(k, "") for k in header] for r in rows])
    return "csv", buffer.getvalue().encode(
        "latin-1", errors="replace"
    ) if shape == "latin1" else buffer.getvalue().encode()


def _instant(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC").tz_localize(None) if pd.Timestamp(text).tzinfo else pd.Timestamp(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=1, max_size=6), shape=shapes)
def test_every_file_ends_in_an_outcome_and_no_value_changes(raw_warehouse, module_store, rows, shape):
    suffix, data = delivered(rows, shape)
    key = f"{CONTRACT.landing_prefix}generated_{next(file_numbers)}.{suffix}"
    module_store.put_bytes(key, data)
    stored_object = next(o for o in module_store.list(CONTRACT.landing_prefix) if o.key == key)

    result = load_file(raw_warehouse, module_store, CONTRACT, stored_object)

    assert result.status in OUTCOMES
    loaded = raw_warehouse.execute(
        "select ticket_id, created_at, reopen_count, category from raw.psa__tickets "
        "join raw._ingestion_ledger on file_id = _file_id where file_key = %s",
        (key,),
    ).fetchall()
    assert len(loaded) == result.rows_loaded
    if result.status != "quarantined":
        assert result.rows_loaded + result.rows_rejected == result.rows_in == len(rows)
    for ticket_id, created_at, reopen_count, category in loaded:
        sent = [r for r in rows if r["ticket_id"] == ticket_id]
        assert sent, f"{ticket_id!r} was never delivered"
        assert any(
            _instant(r["created_at"]) == pd.Timestamp(created_at)
            and int(r["reopen_count"]) == reopen_count
            and r["category"] == (category or "")
            for r in sent
        ), (ticket_id, created_at, reopen_count)
