"""The corpus of bad (and hostile but valid) files in tests/data/bad_inputs: each one gets the
expected outcome and error, the original is kept, good rows still load, nothing else is disturbed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ingestion.contracts import BY_NAME
from ingestion.loader import check_file, load_file
from ingestion.quarantine import quarantine_prefix

CORPUS = Path(__file__).parent / "data" / "bad_inputs"
CASES = json.loads((CORPUS / "expected.json").read_text())


@pytest.mark.unit
def test_corpus_is_large_enough():
    assert len([c for c in CASES if c["status"] != "loaded"]) >= 38
    assert len({c["errors"][0]["rule"] for c in CASES if c["errors"]}) >= 16
    assert len([c for c in CASES if "stored" in c]) >= 17, "outcomes are checked on the values stored"


def _landing_key(case: dict) -> str:
    # a file delivered for a mapping profile lands in its folder, as `pulseops ingest --profile` puts it
    contract = BY_NAME[f"{case['source']}__{case['entity']}"]
    return contract.landing_prefix + (f"profile={case['profile']}/" if "profile" in case else "") + case["file"]


def _assert_findings(violations: list, case: dict) -> None:
    """Each expected error found (rule, column, rows, detail), and nothing else."""
    summary = "; ".join(v.describe() for v in violations)
    found = {(v.rule, v.column): v for v in violations}
    assert len(found) == len(case["errors"]), summary
    for expected in case["errors"]:
        violation = next(
            (
                v
                for (rule, column), v in found.items()
                if rule == expected["rule"] and ("column" not in expected or column == expected["column"])
            ),
            None,
        )
        assert violation is not None, f"{expected} not in {summary}"
        if "rows" in expected:
            assert violation.rows == expected["rows"]
        if "detail" in expected:
            assert violation.detail == expected["detail"]
        if "detail_contains" in expected:
            assert expected["detail_contains"] in violation.detail


@pytest.mark.unit
@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_bad_input_is_judged_without_a_database(case, tmp_path):
    """The loader's validation alone (the fast check tier): the same verdict and errors as a load."""
    contract = BY_NAME[f"{case['source']}__{case['entity']}"]
    delivered = tmp_path / case["file"]
    delivered.write_bytes((CORPUS / case["file"]).read_bytes())
    (tmp_path / "work").mkdir()

    checked = check_file(contract, delivered, _landing_key(case), tmp_path / "work")

    assert checked.status == case["status"], "; ".join(v.describe() for v in checked.violations)
    _assert_findings(checked.violations, case)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_bad_input(case, raw_warehouse, module_store):
    contract = BY_NAME[f"{case['source']}__{case['entity']}"]
    original = (CORPUS / case["file"]).read_bytes()
    key = _landing_key(case)
    module_store.put_bytes(key, original)
    stored = next(o for o in module_store.list(contract.landing_prefix) if o.key == key)

    result = load_file(raw_warehouse, module_store, contract, stored)

    assert result.status == case["status"], result.error_summary
    _assert_findings(result.violations, case)
    assert module_store.get_bytes(key) == original  # the delivery is kept as it came

    loaded = raw_warehouse.execute(
        f"select count(*) from {contract.raw_table} join raw._ingestion_ledger on file_id = _file_id "
        "where file_key = %s",
        (key,),
    ).fetchone()[0]
    ledger = raw_warehouse.execute(
        "select status, rows_loaded, rows_rejected, report_key from raw._ingestion_ledger where file_key = %s", (key,)
    ).fetchone()
    assert ledger[:3] == (result.status, result.rows_loaded, result.rows_rejected)
    assert loaded == result.rows_loaded
    quarantined = quarantine_prefix(contract, key)
    if result.status == "quarantined":
        assert loaded == 0
        report = json.loads(module_store.get_bytes(ledger[3]))
        assert report["file"] == key and report["errors"][0]["rule"] == case["errors"][0]["rule"]
        if "detail" in case["errors"][0]:  # the report says what the console says
            assert report["errors"][0]["detail"] == case["errors"][0]["detail"]
        assert module_store.get_bytes(quarantined) == original
    elif result.status == "loaded_with_rejects":
        assert result.rows_loaded == result.rows_in - result.rows_rejected > 0
        rejected = module_store.get_bytes(f"{quarantined}.rejected.csv").decode()
        assert len(list(csv.reader(io.StringIO(rejected)))) - 1 == result.rows_rejected
        assert case.get("rejected_contains", "") in rejected
    else:
        assert result.rows_loaded == result.rows_in > 0
    if case.get("notes"):  # what was kept or changed as the contract documents, reported
        assert result.notes == case["notes"]
        assert json.loads(module_store.get_bytes(ledger[3]))["notes"] == case["notes"]
    elif result.status == "loaded":
        assert ledger[3] is None, "a clean load has no report"
    if "stored" in case:
        # exactly what was delivered, in the order of the file's keys
        column = case["stored"]["column"]
        values = [
            value
            for (value,) in raw_warehouse.execute(
                f'select "{column}"::text from {contract.raw_table} join raw._ingestion_ledger on file_id = _file_id '
                f'where file_key = %s order by "{contract.key[0] if contract.key else column}"',
                (key,),
            )
        ]
        assert values == case["stored"]["values"]

    # the same delivery again adds nothing
    again = load_file(raw_warehouse, module_store, contract, stored)
    assert again.status == "unchanged"


def test_hostile_values_are_stored_verbatim(raw_warehouse, module_store):
    names = {
        row[0]
        for row in raw_warehouse.execute(
            "select client_name from raw.psa__clients join raw._ingestion_ledger on file_id = _file_id "
            "where file_key like %s",
            ("%sql_and_quotes_in_cells.csv",),
        )
    }
    assert names == {"Robert'); DROP TABLE raw.psa__clients;--", 'Quote "Inc", Multi\nLine'}
