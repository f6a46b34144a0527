"""`pulseops ingest`: an operator loads one file or folder by hand; bad input means a clear error
naming the file, the row and the rule, and a non-zero exit."""

import os
import subprocess
import sys

import pytest

from tests.support import REPO, query, scalar, throwaway_database

CORPUS = REPO / "tests" / "data" / "bad_inputs"


@pytest.fixture(scope="module")
def operator_env(tmp_path_factory):
    with throwaway_database() as url:
        env = {**os.environ, "PULSEOPS_HOME": str(tmp_path_factory.mktemp("ingest-home")), "DATABASE_URL": url}
        for key in ("PULSEOPS_S3_BUCKET", "PULSEOPS_S3_ENDPOINT_URL"):
            env.pop(key, None)
        yield env, url


def pulseops(env, *args) -> subprocess.CompletedProcess:
    # The console script's own module, run from this checkout (tests/test_layering.py checks that
    # pyproject's `pulseops` script names it).
    return subprocess.run(
        [sys.executable, "-m", "pulseops_cli.main", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_good_file_loads(operator_env):
    env, url = operator_env
    done = pulseops(env, "ingest", str(CORPUS / "windows_crlf_bom.csv"), "--source", "psa", "--entity", "clients")
    assert done.returncode == 0, done.stderr
    assert "landing/psa/clients/windows_crlf_bom.csv: loaded, 2 of 2 rows loaded" in done.stdout
    assert scalar(url, "select count(*) from raw.psa__clients") == 2


def test_bad_file_fails_with_file_row_and_rule(operator_env):
    env, url = operator_env
    done = pulseops(env, "ingest", str(CORPUS / "wrong_type_integer.csv"), "--source", "psa", "--entity", "tickets")
    assert done.returncode == 1
    assert (
        "landing/psa/tickets/wrong_type_integer.csv: loaded_with_rejects, 2 of 3 rows loaded, 1 rejected" in done.stdout
    )
    assert "type on reopen_count rows [2] e.g. ['two'] expected integer" in done.stdout
    assert "broke the psa__tickets contract" in done.stderr
    assert scalar(url, "select count(*) from raw.psa__tickets") == 2


def test_unknown_source_is_a_usage_error(operator_env):
    env, _ = operator_env
    done = pulseops(env, "ingest", str(CORPUS / "empty.csv"), "--source", "psa")
    assert done.returncode == 2
    assert "has several entities, name one with --entity" in done.stderr


def test_a_folder_of_hostile_files_loads_its_good_ones(operator_env, tmp_path):
    """One file of each kind that once raised, beside good files and two of one name in two
    sub-folders: every file ends loaded or quarantined with its report, none stops the others."""
    env, url = operator_env
    delivery = tmp_path / "delivery"
    for sub in ("site-a", "site-b"):
        (delivery / sub).mkdir(parents=True)
    header = (
        "ticket_id,client_id,priority,category,created_at,first_response_at,resolved_at,"
        "sla_response_met,sla_resolution_met,reopen_count\n"
    )
    (delivery / "site-a" / "tickets.csv").write_text(header + "FA1,C1,P1,Net,2024-03-01T10:00:00,,,true,,0\n")
    (delivery / "site-b" / "tickets.csv").write_text(
        header + "FB1,C1,P2,Net,2024-03-01T11:00:00,,,true,,0\nFB2,C1,P3,Net,2024-03-01T12:00:00,,,true,,1\n"
    )
    hostile = {
        name: (CORPUS / name).read_bytes()
        for name in (
            "mixed_utc_offsets.csv",
            "integer_beyond_bigint.csv",
            "cr_only_line_endings.csv",
            "every_row_bad.csv",
            "t" * 236 + ".csv",
            "implausible_dates.csv",
        )
    }
    hostile["field_beyond_the_csv_limit.csv"] = (header.rstrip("\n") + "," + "x" * 200_000 + "\n").encode()
    hostile["nested.jsonl"] = b'{"ticket_id": "FJ1", "client_id": {"id": 1}}\n'
    for name, data in hostile.items():
        (delivery / name).write_bytes(data)

    done = pulseops(env, "ingest", str(delivery), "--source", "psa", "--entity", "tickets")

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    ledger = dict(
        query(
            url,
            "select file_key, status from raw._ingestion_ledger where source = 'psa' "
            "and entity = 'tickets' and file_key like %s",
            ("%/tickets/%",),
        )
    )
    prefix = "landing/psa/tickets/"
    assert ledger[f"{prefix}site-a/tickets.csv"] == ledger[f"{prefix}site-b/tickets.csv"] == "loaded"
    assert ledger[f"{prefix}field_beyond_the_csv_limit.csv"] == "quarantined"
    assert ledger[f"{prefix}nested.jsonl"] == "quarantined"
    assert ledger[f"{prefix}every_row_bad.csv"] == "quarantined"
    assert ledger[f"{prefix}mixed_utc_offsets.csv"] == "loaded"
    assert {f"{prefix}{name}" for name in hostile} <= set(ledger), "every file has its ledger entry"
    assert sorted(t for (t,) in query(url, "select ticket_id from raw.psa__tickets where ticket_id like 'F%'")) == [
        "FA1",
        "FB1",
        "FB2",
    ]
    assert "unreadable" in done.stdout and "field larger than field limit" in done.stdout


def test_an_unreachable_database_is_one_line_and_exit_2(operator_env):
    env, _ = operator_env
    done = pulseops(
        {**env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"},
        "ingest",
        str(CORPUS / "windows_crlf_bom.csv"),
        "--source",
        "psa",
        "--entity",
        "clients",
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("pulseops ingest: could not run: OperationalError:")


def test_the_published_focus_sample_loads_whole_at_full_precision(operator_env):
    """The FinOps Foundation's own FOCUS 1.0 sample (tests/data/focus/README.md): NULL markers, a
    column outside the spec, eleven-decimal costs and 'Usage-based' all load, reported, to the last digit."""
    import csv
    from decimal import Decimal

    env, url = operator_env
    sample = REPO / "tests" / "data" / "focus" / "focus_1.0_sample.csv"
    with sample.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    file_sum = sum(Decimal(r["BilledCost"]) for r in rows if r["BilledCost"] != "NULL")

    done = pulseops(env, "ingest", str(sample), "--source", "focus")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "landing/focus/costs/focus_1.0_sample.csv: loaded, 1000 of 1000 rows loaded" in done.stdout
    assert "note: columns outside the contract kept in extra_columns: ['Id']" in done.stdout
    assert "note: ChargeFrequency: 'Usage-based' stored as 'Usage-Based' on 7 row(s)" in done.stdout
    assert str(scalar(url, "select sum(billed_cost) from raw.focus__costs")) == str(file_sum) == "20.52022672899"
    assert scalar(
        url, "select count(*) from raw.focus__costs where resource_id = 'NULL' or resource_id is null"
    ) == sum(1 for r in rows if r["ResourceId"] == "NULL")
    assert scalar(url, "select count(*) from raw.focus__costs where resource_id = 'NULL'") == 0
    assert scalar(url, "select count(*) from raw.focus__costs where extra_columns ->> 'Id' = '11472'") == 1


def test_a_rerun_says_how_the_file_ended_the_first_time(operator_env):
    env, _ = operator_env
    args = ("--source", "psa", "--entity", "clients")
    first = pulseops(env, "ingest", str(CORPUS / "missing_column.csv"), *args)
    again = pulseops(env, "ingest", str(CORPUS / "missing_column.csv"), *args)
    assert first.returncode == again.returncode == 1
    assert "landing/psa/clients/missing_column.csv: unchanged since it was loaded: quarantined" in again.stdout
    assert "report: " in again.stdout and "broke the psa__clients contract" in again.stderr
    good = pulseops(env, "ingest", str(CORPUS / "windows_crlf_bom.csv"), *args)
    assert good.returncode == 0
    assert "unchanged since it was loaded: loaded, 2 of 2 rows loaded" in good.stdout


def test_a_servicenow_export_loads_through_its_profile(operator_env):
    """Each incident's latest row, priorities as P1-P4, day-first dates read as such."""
    env, url = operator_env
    export = REPO / "tests" / "data" / "profiles" / "servicenow_incidents.csv"
    done = pulseops(env, "ingest", str(export), "--source", "psa", "--entity", "tickets", "--profile", "servicenow")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "landing/psa/tickets/profile=servicenow/servicenow_incidents.csv: loaded, 6 of 6 rows loaded" in done.stdout
    assert query(
        url,
        "select ticket_id, client_id, priority, created_at::text, resolved_at::text, "
        "sla_response_met, reopen_count from raw.psa__tickets where ticket_id like 'INC%' order by 1",
    ) == [
        ("INC0009001", "C00001", "P3", "2026-09-14 09:00:00", "2026-09-14 13:00:00", True, 0),
        ("INC0009002", "C00002", "P1", "2026-09-22 10:30:00", "2026-09-23 10:30:00", False, 0),
        ("INC0009003", "C00002", "P4", "2026-10-07 16:00:00", "2026-10-09 16:00:00", True, 0),
        ("INC0010001", "C00001", "P2", "2026-11-03 08:15:22", "2026-11-14 17:40:00", False, 1),
        ("INC0010002", "C00001", "P4", "2026-11-05 13:01:00", "2026-11-05 15:30:00", True, 0),
        ("INC0010003", "C00002", "P1", "2026-11-20 07:45:10", None, True, 0),
    ]


def test_a_file_the_profile_does_not_fit_is_quarantined_naming_the_profile(operator_env):
    env, url = operator_env
    done = pulseops(
        env,
        "ingest",
        str(CORPUS / "wrong_type_integer.csv"),
        "--source",
        "psa",
        "--entity",
        "tickets",
        "--profile",
        "servicenow",
    )
    assert done.returncode == 1
    assert "profile=servicenow/wrong_type_integer.csv: quarantined" in done.stdout
    assert "profile_mismatch on the file profile servicenow: missing columns ['company', 'made_sla'" in done.stdout


def test_a_users_own_profile_from_the_readme_loads_without_code(operator_env, tmp_path):
    """The profile the README shows, taken from the README itself, in PULSEOPS_PROFILES_DIR."""
    import re

    env, url = operator_env
    example = re.search(r"```yaml\n(# my_helpdesk\.yaml.*?)```", (REPO / "README.md").read_text(), re.DOTALL).group(1)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "my_helpdesk.yaml").write_text(example)
    export = tmp_path / "helpdesk.csv"
    export.write_text(
        "Ticket No,Customer,Urgency,Queue,Opened,Closed,Response SLA\n"
        "HD-1,C1,Critical,Network,03/04/2026 9:15 AM,03/04/2026 11:15 AM,Met\n"
        "HD-2,C2,Normal,Email,03/05/2026 2:00 PM,n/a,Missed\n"
    )
    done = pulseops(
        {**env, "PULSEOPS_PROFILES_DIR": str(profiles)},
        "ingest",
        str(export),
        "--source",
        "psa",
        "--entity",
        "tickets",
        "--profile",
        "my_helpdesk",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "landing/psa/tickets/profile=my_helpdesk/helpdesk.csv: loaded, 2 of 2 rows loaded" in done.stdout
    assert query(
        url,
        "select ticket_id, client_id, priority, category, created_at::text, resolved_at::text, "
        "sla_response_met, sla_resolution_met, reopen_count from raw.psa__tickets "
        "where ticket_id like 'HD-%' order by 1",
    ) == [
        ("HD-1", "C1", "P1", "Network", "2026-03-04 09:15:00", "2026-03-04 11:15:00", True, None, 0),
        ("HD-2", "C2", "P3", "Email", "2026-03-05 14:00:00", None, False, None, 0),
    ]


def test_graph_json_loads_through_its_profile(operator_env):
    """Microsoft Graph's JSON spelling of the active user detail report: camelCase, booleans, nulls, a list."""
    env, url = operator_env
    export = REPO / "tests" / "data" / "profiles" / "m365_active_user_detail_graph.json"
    done = pulseops(env, "ingest", str(export), "--source", "m365", "--profile", "m365_graph")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "landing/m365/active_user_detail/profile=m365_graph/m365_active_user_detail_graph.json: loaded, "
        "2 of 2 rows loaded"
    ) in done.stdout
    assert query(
        url,
        "select user_principal_name, is_deleted, deleted_date::text, has_one_drive_license, "
        "share_point_last_activity_date::text, one_drive_last_activity_date::text, assigned_products "
        "from raw.m365__active_user_detail where user_principal_name in "
        "('carla@contoso.com', 'dev@contoso.com') order by 1",
    ) == [
        ("carla@contoso.com", False, None, True, "2026-11-29", None, "Microsoft 365 E3+Power BI Pro"),
        ("dev@contoso.com", True, "2026-11-10", False, None, "2026-11-06", None),
    ]


def test_a_providers_export_folder_loads_through_its_manifest(operator_env, tmp_path):
    """An Azure cost export's run folder given as it was downloaded: the manifest names the files."""
    import csv
    import json

    env, url = operator_env
    with (REPO / "tests" / "data" / "focus" / "focus_1.0_sample.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, [r for r in reader if r["ProviderName"] == "Microsoft"]
    run = tmp_path / "azure" / "focus-actual" / "20240901-20240930" / "run-a"
    run.mkdir(parents=True)
    for name, part in (("part_0_0001.csv", rows[:30]), ("part_0_0002.csv", rows[30:])):
        with (run / name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, header)
            writer.writeheader()
            writer.writerows(part)
    (run / "manifest.json").write_text(
        json.dumps(
            {
                "runInfo": {"runId": "run-a", "submittedTime": "2024-10-01T03:00:00Z"},
                "blobs": [
                    {"blobName": f"exports/focus-actual/20240901-20240930/run-a/{n}"}
                    for n in ("part_0_0001.csv", "part_0_0002.csv")
                ],
            }
        )
    )
    (tmp_path / "azure" / "stray").mkdir()
    (tmp_path / "azure" / "stray" / "notes.csv").write_text("a,b\n1,2\n")

    done = pulseops(env, "ingest", str(tmp_path / "azure"), "--source", "focus")

    folder = "landing/focus/costs/focus-actual/20240901-20240930/run-a"
    assert f"{folder}/part_0_0001.csv: loaded, 30 of 30 rows loaded" in done.stdout
    assert f"{folder}/part_0_0002.csv: loaded, 21 of 21 rows loaded" in done.stdout
    assert "manifest.json: " not in done.stdout, "the manifest is no data file"
    assert "landing/focus/costs/stray/notes.csv: quarantined" in done.stdout
    assert done.returncode == 1  # the stray file broke the contract; the export loaded
    assert (
        scalar(
            url,
            "select count(*) from raw.focus__costs join raw._ingestion_ledger on file_id = _file_id "
            "where starts_with(file_key, %s)",
            (folder,),
        )
        == 51
    )
