"""Read the dashboards kept as code (superset_config/assets/) into an importable bundle.

The tree has the layout of a Superset export (metadata.yaml, databases/, datasets/, charts/,
dashboards/). The database files in git carry no credentials: each connection's URI, password
included, is put in only here, in memory, at import time.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
ASSET_FOLDERS = ("databases", "datasets", "charts", "dashboards")


def load_bundle(uris: dict[str, str], assets_dir: Path = ASSETS_DIR) -> dict[str, str]:
    """Map each asset's path relative to `assets_dir` to its YAML text.

    `uris` maps database names to their SQLAlchemy URIs; a database without one is left out of
    the bundle (so is anything that reads from it).
    """
    contents = {"metadata.yaml": (assets_dir / "metadata.yaml").read_text()}
    left_out = set()
    for folder in ASSET_FOLDERS:
        for path in sorted((assets_dir / folder).rglob("*.yaml")):
            key = path.relative_to(assets_dir).as_posix()
            text = path.read_text()
            if folder == "databases":
                config = yaml.safe_load(text)
                if config["database_name"] not in uris:
                    left_out.add(config["uuid"])
                    continue
                config["sqlalchemy_uri"] = uris[config["database_name"]]
                text = yaml.safe_dump(config, sort_keys=False)
            elif folder == "datasets" and yaml.safe_load(text)["database_uuid"] in left_out:
                continue
            contents[key] = text
    return contents
