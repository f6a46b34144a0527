"""Secrets: an explicitly set environment variable wins; locally, one is generated once and kept.

A generated secret is written owner-only under the state folder and reported as new exactly once.
With PULSEOPS_ENV=production nothing is generated: a generated value would differ per container and
vanish with it, so the deployment's secret store must supply it.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)


def is_production() -> bool:
    return os.environ.get("PULSEOPS_ENV", "local").lower() == "production"


def read_or_create_secret(secrets_dir: Path, name: str, nbytes: int = 24) -> tuple[str, bool]:
    """Return the secret stored under `name`, generating it (owner-only file) when absent.

    The boolean tells whether it was created now, so callers print it exactly once.
    """
    path = secrets_dir / name
    if path.exists():
        return path.read_text().strip(), False
    secrets_dir.mkdir(parents=True, exist_ok=True)
    secrets_dir.chmod(0o700)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value, True


def secret(state_dir: Path, variable: str) -> str:
    """`variable` from the environment if set; otherwise the value stored under `state_dir/secrets`."""
    if os.environ.get(variable):
        return os.environ[variable]
    if is_production():
        raise RuntimeError(f"{variable} must be set explicitly when PULSEOPS_ENV=production")
    secrets_dir = state_dir / "secrets"
    value, created = read_or_create_secret(secrets_dir, variable.lower(), nbytes=32)
    if created:
        log.warning("generated %s, stored in %s", variable, secrets_dir / variable.lower())
    return value
