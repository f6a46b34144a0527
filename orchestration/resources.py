"""Dagster resources. Settings are read from the environment when a resource is used, so the
same definitions run on the embedded defaults, a real PostgreSQL server and a real S3 bucket."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from dagster import ConfigurableResource
from pydantic import Field

from ingestion.object_store import LocalObjectStore, ObjectStore, S3ObjectStore
from pulseops_core.settings import Settings
from pulseops_core.warehouse import libpq_url, resolve_database_url

CONNECT_TIMEOUT_S = 10


class WarehouseResource(ConfigurableResource):
    """The PostgreSQL warehouse."""

    database_url: str | None = Field(
        default=None, description="Overrides DATABASE_URL; both unset means the embedded PostgreSQL."
    )

    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return resolve_database_url(Settings.from_env())

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        # A server that does not answer fails the step in seconds (and Dagster retries it), not hours.
        with psycopg.connect(libpq_url(self.url()), connect_timeout=CONNECT_TIMEOUT_S) as conn:
            yield conn


class ObjectStoreResource(ConfigurableResource):
    """Landing, raw and quarantine zones: an S3 bucket when configured, else a local folder."""

    bucket: str | None = Field(default=None, description="Overrides PULSEOPS_S3_BUCKET.")
    endpoint_url: str | None = Field(default=None, description="Overrides PULSEOPS_S3_ENDPOINT_URL.")

    def store(self) -> ObjectStore:
        settings = Settings.from_env()
        bucket = self.bucket or settings.s3_bucket
        if bucket:
            return S3ObjectStore(bucket, settings.s3_prefix, self.endpoint_url or settings.s3_endpoint_url)
        return LocalObjectStore(settings.local_object_store_dir)
