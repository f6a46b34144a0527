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
        env = {"PULSEOPS_HOME": str(tmp_path_factory.mktemp("s3-state")), "DATABASE_URL": url,
               **s3_environment(s3_endpoint, "pulseops-ingest"), "PULSEOPS_S3_PREFIX": "acme"}
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
