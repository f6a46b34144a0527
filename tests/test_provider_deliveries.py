"""Cloud providers' FOCUS exports as they land in S3 (moto_server through boto3), loaded by the run the
Lambda launches for a landed object (ingest_job, the object's key in the asset's config) and seen by
the landing sensor. Rows are the FinOps Foundation's published FOCUS 1.0 sample
(tests/data/focus/README.md), laid out as each provider's export writes its files:

- AWS Data Exports: data/BILLING_PERIOD=YYYY-MM/<export>-0000N.snappy.parquet or .csv.gz, and
  metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json listing the files (`dataFiles`);
- Azure Cost Management exports: <directory>/<export>/<YYYYMMDD-YYYYMMDD>/<run-id>/part_0_000N.csv.gz
  with a manifest.json per run (`blobs`, `runInfo`);
- a BigQuery export of a GCP FOCUS view to GCS: sharded CSVs <name>-00000000000N.csv.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import PipelineRun
from tests.support import build_warehouse, make_bucket, query, s3_environment, scalar, throwaway_database

SAMPLE = Path(__file__).parent / "data" / "focus" / "focus_1.0_sample.csv"
BUCKET = "pulseops-deliveries"
AWS = "landing/focus/costs/aws/focus-cur"  # the export's S3 prefix is landing/focus/costs/aws
AZURE = "landing/focus/costs/azure/exports/focus-actual"  # container landing, directory focus/costs/azure/exports


def sample_rows(provider: str) -> tuple[list[str], list[dict]]:
    with SAMPLE.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, [r for r in reader if r["ProviderName"] == provider]


def billed(rows: list[dict]) -> Decimal:
    """The delivered rows' own total, to the last digit."""
    return sum((Decimal(r["BilledCost"]) for r in rows if r["BilledCost"] != "NULL"), Decimal(0))


def csv_bytes(header: list[str], rows: list[dict], gz: bool = True) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = text.getvalue().encode()
    return gzip.compress(data) if gz else data


def parquet_bytes(header: list[str], rows: list[dict]) -> bytes:
    """Typed as AWS writes FOCUS Parquet: costs as decimals, periods as timestamps, NULL as null."""

    def column(name):
        values = [None if r[name] == "NULL" else r[name] for r in rows]
        if name in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
            return pa.array([None if v in (None, "") else Decimal(v) for v in values], pa.decimal128(38, 11))
        if name.endswith(("PeriodStart", "PeriodEnd")):
            return pa.array(values, pa.string()).cast(pa.timestamp("ms"))
        return pa.array(values, pa.string())

    table = pa.table({name: column(name) for name in header})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


@pytest.fixture()
def landing(s3_endpoint, tmp_path_factory):
    """An empty bucket and warehouse; yields (s3 client, database url, ingest(keys))."""
    from orchestration.pipeline import failure_summary, run_job

    name = BUCKET + "-" + tmp_path_factory.mktemp("b").name.replace("_", "-").lower()[-12:]
    client = make_bucket(s3_endpoint, name)
    with throwaway_database() as url:
        run = PipelineRun(
            "deliveries",
            {
                "PULSEOPS_HOME": str(tmp_path_factory.mktemp("state")),
                "DATABASE_URL": url,
                **s3_environment(s3_endpoint, name),
            },
        )

        def ingest(*keys: str):
            """What the Lambda launches for the landed objects `keys` (all new files when none)."""
            config = {"ops": {"raw__focus__costs": {"config": {"object_keys": list(keys)}}}}
            with run.activate():
                result = run_job("ingest_job", run_config=config)
            assert result.success, failure_summary(result)

        def put(key: str, body: bytes):
            client.put_object(Bucket=name, Key=key, Body=body)

        yield put, url, ingest, run


def totals(url: str, table: str = "raw.focus__costs") -> tuple[int, Decimal]:
    return scalar(url, f"select count(*) from {table}"), scalar(
        url, f"select coalesce(sum(billed_cost), 0) from {table}"
    )


def build_staging(url: str) -> tuple[int, Decimal]:
    """dbt builds the FOCUS staging model (incremental: each build takes the loads since the last)."""
    from dagster import AssetKey, AssetSelection

    built = build_warehouse(url, AssetSelection.assets(AssetKey(["staging", "stg_focus__costs"])))
    assert built.success, "the dbt build of stg_focus__costs failed"
    return totals(url, "staging.stg_focus__costs")


def test_aws_data_export_redelivered_for_its_billing_period_replaces_the_earlier_one(landing, tmp_path):
    put, url, ingest, run = landing
    header, rows = sample_rows("AWS")
    assert len(rows) == 942
    period = "BILLING_PERIOD=2024-09"
    data, manifest = f"{AWS}/data/{period}", f"{AWS}/metadata/{period}/focus-cur-Manifest.json"

    # Early in the month: two files, then the manifest naming them (AWS writes it last).
    early = rows[:600]
    put(f"{data}/focus-cur-00001.snappy.parquet", parquet_bytes(header, early[:400]))
    put(f"{data}/focus-cur-00002.snappy.parquet", parquet_bytes(header, early[400:]))
    ingest(f"{data}/focus-cur-00001.snappy.parquet")  # a data file's own event: it waits for its manifest
    assert totals(url)[0] == 0
    put(
        manifest,
        json.dumps(
            {
                "executionId": "e-1",
                "exportArn": "arn:aws:bcm-data-exports:us-east-1:111122223333:export/focus-cur",
                "dataFiles": [f"s3://customer-cur-bucket/{data}/focus-cur-0000{n}.snappy.parquet" for n in (1, 2)],
            }
        ).encode(),
    )
    ingest(manifest)
    assert totals(url) == (600, billed(early))
    assert scalar(url, "select count(distinct _loaded_at) from raw.focus__costs") == 1
    assert build_staging(url) == (600, billed(early)), "staging keeps both files of the delivery"

    # The month goes on: AWS overwrites the period with one gzip CSV; the Parquet files of the
    # earlier delivery are still in the bucket but no longer listed.
    put(f"{data}/focus-cur-00001.csv.gz", csv_bytes(header, rows))
    put(manifest, json.dumps({"executionId": "e-2", "dataFiles": [f"s3://b/{data}/focus-cur-00001.csv.gz"]}).encode())
    ingest(manifest)
    count, total = totals(url)
    assert (count, total) == (942, billed(rows)) and str(total) == str(billed(rows))
    assert build_staging(url) == (942, billed(rows))
    assert [k for (k,) in query(url, "select file_key from raw._ingestion_ledger order by 1")] == [
        f"{data}/focus-cur-00001.csv.gz"
    ]
    assert scalar(url, "select replaced from raw._deliveries where manifest_key = %s", (manifest,)) == [
        f"{data}/focus-cur-00001.snappy.parquet",
        f"{data}/focus-cur-00002.snappy.parquet",
    ]
    # the provider column outside the spec is kept and named
    assert scalar(url, "select count(*) from raw.focus__costs where extra_columns ? 'Id'") == 942
    assert "columns outside the contract kept in extra_columns: ['Id']" in scalar(
        url, "select error_summary from raw._ingestion_ledger"
    )

    # Nothing new: every run after loads nothing again, whoever starts it.
    ingest()
    ingest(manifest)
    assert totals(url) == (942, billed(rows))
    from dagster import DagsterInstance, SkipReason, build_sensor_context

    from orchestration.definitions import defs
    from orchestration.resources import ObjectStoreResource, WarehouseResource

    sensor = defs.get_sensor_def("landing_sensor")
    with run.activate(), DagsterInstance.ephemeral() as instance:
        tick = sensor(
            build_sensor_context(
                resources={"warehouse": WarehouseResource(), "object_store": ObjectStoreResource()}, instance=instance
            )
        )
    assert isinstance(tick, SkipReason), "the stale Parquet files are no new delivery"


def test_azure_cost_export_runs_replace_each_other_in_the_order_they_ran(landing):
    put, url, ingest, _ = landing
    header, rows = sample_rows("Microsoft")
    assert len(rows) == 51
    period = f"{AZURE}/20240901-20240930"

    def deliver(run_id: str, submitted: str, parts: list[list[dict]]):
        names = [f"part_0_{n:04d}.csv.gz" for n in range(1, len(parts) + 1)]
        for name, part in zip(names, parts, strict=True):
            put(f"{period}/{run_id}/{name}", csv_bytes(header, part))
        manifest = f"{period}/{run_id}/manifest.json"
        put(
            manifest,
            json.dumps(
                {
                    "manifestVersion": "2024-04-01",
                    "blobCount": len(parts),
                    "dataRowCount": sum(map(len, parts)),
                    "exportConfig": {"exportName": "focus-actual", "type": "FocusCost", "dataVersion": "1.0"},
                    "deliveryConfig": {
                        "fileFormat": "Csv",
                        "compressionMode": "Gzip",
                        "rootFolderPath": "focus/costs/azure/exports",
                    },
                    "runInfo": {
                        "runId": run_id,
                        "submittedTime": submitted,
                        "startDate": "2024-09-01T00:00:00",
                        "endDate": "2024-09-30T00:00:00",
                    },
                    "blobs": [
                        {
                            "blobName": f"focus/costs/azure/exports/focus-actual/20240901-20240930/{run_id}/{name}",
                            "dataRowCount": len(part),
                        }
                        for name, part in zip(names, parts, strict=True)
                    ],
                }
            ).encode(),
        )
        return manifest

    first = deliver("1d5c0a2e-run-a", "2024-09-20T03:10:00Z", [rows[:20], rows[20:30]])
    ingest(first)
    assert totals(url) == (30, billed(rows[:30]))
    later = deliver("7f3b9c41-run-b", "2024-10-02T03:10:00Z", [rows[:25], rows[25:]])
    ingest(later)
    assert totals(url) == (51, billed(rows))
    # The first run's manifest delivered again (a copy job catching up) changes nothing.
    put(
        first,
        json.dumps(
            {
                "runInfo": {"runId": "1d5c0a2e-run-a", "submittedTime": "2024-09-20T03:10:00Z"},
                "blobs": [{"blobName": "x/1d5c0a2e-run-a/part_0_0001.csv.gz"}],
            }
        ).encode(),
    )
    ingest(first)
    assert totals(url) == (51, billed(rows))
    assert scalar(url, "select count(*) from raw._deliveries") == 2, "the late copy is remembered: no news again"


def test_a_sharded_gcp_focus_view_export_loads_as_one_delivery(landing, tmp_path):
    put, url, ingest, _ = landing
    header, rows = sample_rows("Oracle")  # the 1,000-row sample holds no Google rows; the layout is GCP's
    # BigQuery's CSV export writes timestamps with their zone as text: "2024-09-01 00:00:00 UTC"
    exported = [
        {k: (f"{v} UTC" if k.endswith(("PeriodStart", "PeriodEnd")) else v) for k, v in r.items()} for r in rows
    ]
    folder = "landing/focus/costs/gcp/focus-view/2024-09"
    put(f"{folder}/focus-000000000000.csv", csv_bytes(header, exported[:4], gz=False))
    ingest(f"{folder}/focus-000000000000.csv")
    put(f"{folder}/focus-000000000001.csv", csv_bytes(header, exported[4:], gz=False))
    ingest(f"{folder}/focus-000000000001.csv")
    assert totals(url) == (7, billed(rows))
    # both shards end as one load, so staging keeps both for the provider's billing periods
    assert scalar(url, "select count(distinct _loaded_at) from raw.focus__costs") == 1
    assert build_staging(url) == (7, billed(rows))
    assert scalar(url, "select min(charge_period_start)::text from raw.focus__costs") == min(
        r["ChargePeriodStart"] for r in rows
    )


def test_a_manifest_that_cannot_be_read_is_quarantined_and_loads_nothing(landing):
    put, url, ingest, run = landing
    header, rows = sample_rows("AWS")
    data, manifest = (
        f"{AWS}/data/BILLING_PERIOD=2024-09",
        f"{AWS}/metadata/BILLING_PERIOD=2024-09/focus-cur-Manifest.json",
    )
    put(f"{data}/focus-cur-00001.csv.gz", csv_bytes(header, rows[:10]))
    put(manifest, b'{"executionId": "e-1", "dataFiles": [')  # cut off mid-copy
    ingest(manifest)
    assert totals(url)[0] == 0
    status, summary, report_key = query(
        url, "select status, error_summary, report_key from raw._ingestion_ledger where file_key = %s", (manifest,)
    )[0]
    assert (
        status == "quarantined"
        and summary == "unreadable_manifest on the file JSONDecodeError: Expecting value: line 1 column 38 (char 37)"
    )
    with run.activate():
        report = json.loads(run.store().get_bytes(report_key))
    assert report["file"] == manifest and report["errors"][0]["rule"] == "unreadable_manifest"
    # the whole manifest, once it arrives, loads the delivery
    put(manifest, json.dumps({"executionId": "e-1", "dataFiles": [f"s3://b/{data}/focus-cur-00001.csv.gz"]}).encode())
    ingest(manifest)
    assert totals(url) == (10, billed(rows[:10]))


def test_a_file_that_lands_after_its_manifest_completes_the_delivery(landing):
    """A copy job may land the manifest first: nothing loads until every listed file is there, and
    the last file's own event (or the sensor's next tick) loads the whole delivery."""
    put, url, ingest, run = landing
    header, rows = sample_rows("Microsoft")
    folder = f"{AZURE}/20240901-20240930/run-c"
    names = ["part_0_0001.csv.gz", "part_0_0002.csv.gz"]
    put(
        f"{folder}/manifest.json",
        json.dumps(
            {
                "runInfo": {"runId": "run-c", "submittedTime": "2024-10-01T03:00:00Z"},
                "blobs": [
                    {"blobName": f"focus/costs/azure/exports/focus-actual/20240901-20240930/run-c/{n}"} for n in names
                ],
            }
        ).encode(),
    )
    put(f"{folder}/{names[0]}", csv_bytes(header, rows[:20]))
    ingest(f"{folder}/manifest.json")
    assert totals(url)[0] == 0

    from dagster import DagsterInstance, RunRequest, build_sensor_context

    from orchestration.definitions import defs
    from orchestration.resources import ObjectStoreResource, WarehouseResource

    def tick():
        with run.activate(), DagsterInstance.ephemeral() as instance:
            return defs.get_sensor_def("landing_sensor")(
                build_sensor_context(
                    resources={"warehouse": WarehouseResource(), "object_store": ObjectStoreResource()},
                    instance=instance,
                    definitions=defs,
                )
            )

    before = tick()
    put(f"{folder}/{names[1]}", csv_bytes(header, rows[20:]))
    after = tick()
    assert isinstance(after, RunRequest) and after.tags["pulseops/files"] == "3"
    assert after.run_key != before.run_key, "the late file is news: the sensor starts a new run"
    ingest(f"{folder}/{names[1]}")
    assert totals(url) == (51, billed(rows))
