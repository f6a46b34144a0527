"""The object store: a local folder by default, an S3 bucket when configured. Same interface.

Zones are key prefixes: `landing/` (files as delivered, kept unchanged), `raw/` (Parquet),
`quarantine/` (error reports of rejected files).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Protocol


def _s3_client_config():
    """Adaptive retries with backoff for throttling (503 SlowDown) and dropped connections, and
    timeouts, so a stalled connection fails and is retried instead of hanging a load."""
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=10, read_timeout=60)


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    version: str  # changes whenever the content may have changed (S3 ETag, local mtime+size)


class ObjectStore(Protocol):
    def list(self, prefix: str) -> list[StoredObject]: ...
    def put_file(self, local_path: Path, key: str) -> None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def local_copy(self, key: str) -> contextmanager[Path]: ...
    def uri(self, key: str) -> str: ...


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LocalObjectStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"object key escapes the store: {key!r}")
        return path

    def list(self, prefix: str) -> list[StoredObject]:
        base = self.root / prefix
        if not base.exists():
            return []
        found = []
        # A symlink is no delivery: it may point anywhere on the machine, or nowhere.
        root = self.root.resolve()
        for path in sorted(
            p for p in base.rglob("*") if p.is_file() and not p.is_symlink() and root in p.resolve().parents
        ):
            stat = path.stat()
            key = path.relative_to(self.root).as_posix()
            found.append(StoredObject(key, stat.st_size, f"{stat.st_mtime_ns}-{stat.st_size}"))
        return found

    def put_file(self, local_path: Path, key: str) -> None:
        self._put(key, lambda partial: shutil.copyfile(local_path, partial))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._put(key, lambda partial: partial.write_bytes(data))

    def _put(self, key: str, write) -> None:
        """Readers never see half an object: it is written beside its key and renamed; a write that
        fails (a full disk) leaves nothing behind."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        try:
            write(partial)
            partial.replace(target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        yield self._path(key)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()


class S3ObjectStore:
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, client=None):
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, config=_s3_client_config())

    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def list(self, prefix: str) -> list[StoredObject]:
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._full(prefix)):
            for item in page.get("Contents", []):
                found.append(StoredObject(self._relative(item["Key"]), item["Size"], item["ETag"].strip('"')))
        return sorted(found, key=lambda o: o.key)

    def put_file(self, local_path: Path, key: str) -> None:
        self.client.upload_file(str(local_path), self.bucket, self._full(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data)

    def get_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        with TemporaryDirectory(prefix="pulseops-") as tmp:
            path = Path(tmp) / Path(key).name
            self.client.download_file(self.bucket, self._full(key), str(path))
            yield path

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"
