"""Read the dashboards kept as code (superset_config/assets/) into an importable bundle.

The tree has the layout of a Superset export (metadata.yaml, databases/, datasets/, charts/,
dashboards/). The database file in git carries no credentials: the warehouse URI, password
included, is put in only here, in memory, at import time.
"""
from __future__ import annotations

from pathlib import Path

import yaml

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
ASSET_FOLDERS = ("databases", "datasets", "charts", "dashboards")


def load_bundle(warehouse_uri: str, assets_dir: Path = ASSETS_DIR) -> dict[str, str]:
    """Map each asset's path relative to `assets_dir` to its YAML text, warehouse URI injected."""
    contents = {"metadata.yaml": (assets_dir / "metadata.yaml").read_text()}
    for folder in ASSET_FOLDERS:
        for path in sorted((assets_dir / folder).rglob("*.yaml")):
            key = path.relative_to(assets_dir).as_posix()
            text = path.read_text()
            if folder == "databases":
                text = _with_uri(text, warehouse_uri)
            contents[key] = text
    return contents


def _with_uri(database_yaml: str, uri: str) -> str:
    config = yaml.safe_load(database_yaml)
    config["sqlalchemy_uri"] = uri
    return yaml.safe_dump(config, sort_keys=False)
