"""Runtime settings, read from the environment when something is built, never at import time.

Everything falls back to an embedded default so a newcomer needs nothing but Python:
no DATABASE_URL -> an embedded PostgreSQL under the state folder; no PULSEOPS_S3_BUCKET -> a
local folder as the object store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    database_url: str | None
    s3_bucket: str | None
    s3_endpoint_url: str | None
    s3_prefix: str

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        state_dir = Path(env.get("PULSEOPS_HOME") or REPO_ROOT / "state").resolve()
        return cls(
            state_dir=state_dir,
            database_url=env.get("DATABASE_URL") or None,
            s3_bucket=env.get("PULSEOPS_S3_BUCKET") or None,
            s3_endpoint_url=env.get("PULSEOPS_S3_ENDPOINT_URL") or None,
            s3_prefix=(env.get("PULSEOPS_S3_PREFIX") or "").strip("/"),
        )

    @property
    def local_object_store_dir(self) -> Path:
        return self.state_dir / "objectstore"

    @property
    def secrets_dir(self) -> Path:
        return self.state_dir / "secrets"
