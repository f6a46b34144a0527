"""Mapping profiles on their own (no server): how a profile reads what real exports write."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingestion.file_reading import FileProblem
from ingestion.mapping_profiles import Profile, load_profile

EXPORTS = Path(__file__).parent / "data" / "profiles"


def rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def profile(tmp_path: Path, text: str) -> Profile:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    return Profile.from_yaml(path)


def test_yes_and_no_are_words_an_export_writes_not_yaml_booleans(tmp_path):
    mine = profile(tmp_path, "contract: psa__tickets\nvalues:\n  sla_response_met: {Yes: true, No: false}\n")
    assert mine.values == {"sla_response_met": {"Yes": "true", "No": "false"}}


def test_offsets_and_z_are_read_as_the_instant_in_utc(tmp_path):
    mine = profile(tmp_path, "contract: psa__tickets\ncolumns: {ticket_id: id, created_at: opened}\n")
    export = tmp_path / "t.csv"
    export.write_text("id,opened\nA,2026-11-03T08:15:22+05:00\nB,2026-11-03T08:15:22.250Z\nC,\n")
    out = rows(mine.apply(export, tmp_path))
    assert [(r["ticket_id"], r["created_at"]) for r in out] == [
        ("A", "2026-11-03 03:15:22"),
        ("B", "2026-11-03 08:15:22.250000"),
        ("C", ""),
    ]


def test_dates_that_read_both_ways_need_the_profile_to_say(tmp_path):
    mine = profile(tmp_path, "contract: psa__tickets\ncolumns: {ticket_id: id, created_at: opened}\n")
    export = tmp_path / "t.csv"
    export.write_text("id,opened\nA,03/04/2026 10:00\nB,05/06/2026 11:00\n")
    with pytest.raises(FileProblem, match="column 'opened' reads both day-first and month-first; set date_order"):
        mine.apply(export, tmp_path)
    export.write_text("id,opened\nA,03/04/2026 10:00\nB,25/06/2026 11:00\n")  # 25 can only be a day
    assert [r["created_at"] for r in rows(mine.apply(export, tmp_path))] == [
        "2026-04-03 10:00:00",
        "2026-06-25 11:00:00",
    ]


def test_a_json_lines_file_of_one_record_is_one_record(tmp_path):
    export = tmp_path / "one.jsonl"
    export.write_text((EXPORTS / "connectwise_tickets.jsonl").read_text().splitlines()[-1] + "\n")
    out = rows(load_profile("connectwise").apply(export, tmp_path))
    assert [(r["ticket_id"], r["client_id"], r["priority"]) for r in out] == [("501205", "BetaLegal", "P1")]


def test_a_document_without_the_named_records_is_a_mismatch(tmp_path):
    with pytest.raises(FileProblem) as problem:
        load_profile("halopsa").apply(EXPORTS / "autotask_tickets.json", tmp_path)
    assert problem.value.detail == (
        "profile halopsa: cannot read the file (no list of records under 'tickets' "
        "(the document's keys: ['items', 'pageDetails']))"
    )


def test_missing_columns_are_reported_with_the_values_the_profile_cannot_translate(tmp_path):
    with pytest.raises(FileProblem) as problem:
        load_profile("jira_service_management").apply(EXPORTS / "servicenow_incidents.csv", tmp_path)
    assert problem.value.rule == "profile_mismatch"
    assert problem.value.detail.startswith(
        "profile jira_service_management: missing columns ['Created', 'Custom field (Organizations)',"
    )
