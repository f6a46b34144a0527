"""The S3 object-store path: boto3 against a real S3 protocol server (moto_server)."""

from __future__ import annotations

import io

import pyarrow.parquet as pq

from ingestion.contracts import CONTRACTS
from tests.conftest import PipelineRun, fill_with_demo_data
from tests.support import make_bucket, s3_environment, scalar, throwaway_database


def test_ingestion_through_s3(s3_endpoint, tmp_path_factory):
    client = make_bucket(s3_endpoint, "pulseops-ingest")
    with throwaway_database() as url:
        env = {
            "PULSEOPS_HOME": str(tmp_path_factory.mktemp("s3-state")),
            "DATABASE_URL": url,
            **s3_environment(s3_endpoint, "pulseops-ingest"),
            "PULSEOPS_S3_PREFIX": "acme",
        }
        run = fill_with_demo_data(PipelineRun("s3", env), job="ingest_job")
        keys = {o["Key"] for o in client.list_objects_v2(Bucket="pulseops-ingest")["Contents"]}
        for contract in CONTRACTS:
            landed = len(run.landing[f"{contract.source}/{contract.entity}"])
            assert scalar(url, f"select count(*) from {contract.raw_table}") == landed
            originals = [k for k in keys if k.startswith(f"acme/{contract.landing_prefix}")]
            parquet = [k for k in keys if k.startswith(f"acme/raw/{contract.source}/{contract.entity}/load_date=")]
            assert len(originals) == 1 and len(parquet) == 1
            body = client.get_object(Bucket="pulseops-ingest", Key=parquet[0])["Body"].read()
            assert pq.read_table(io.BytesIO(body)).num_rows == landed


def test_landing_sensor_watches_an_s3_prefix(s3_endpoint, tmp_path_factory):
    from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

    from orchestration.definitions import defs
    from orchestration.resources import ObjectStoreResource, WarehouseResource

    client = make_bucket(s3_endpoint, "pulseops-sensor")
    sensor = defs.get_sensor_def("landing_sensor")
    resources = {"warehouse": WarehouseResource(), "object_store": ObjectStoreResource()}
    with throwaway_database() as url:
        env = {
            "PULSEOPS_HOME": str(tmp_path_factory.mktemp("sensor-state")),
            "DATABASE_URL": url,
            **s3_environment(s3_endpoint, "pulseops-sensor"),
            "PULSEOPS_S3_PREFIX": "tenant-a",
        }
        run = PipelineRun("s3-sensor", env)
        with run.activate(), DagsterInstance.ephemeral() as instance:
            assert isinstance(
                sensor(build_sensor_context(resources=resources, instance=instance, definitions=defs)), SkipReason
            )
            client.put_object(
                Bucket="pulseops-sensor",
                Key="tenant-a/landing/psa/clients/clients.csv",
                Body=b"client_id,client_name,industry,segment,region,onboarded_date,employee_count\n"
                b"C1,Acme,Retail,SMB,North,2024-01-01,5\n",
            )
            client.put_object(Bucket="pulseops-sensor", Key="tenant-b/landing/psa/clients/other.csv", Body=b"x")
            request = sensor(build_sensor_context(resources=resources, instance=instance, definitions=defs))
    assert isinstance(request, RunRequest) and request.tags["pulseops/files"] == "1"
