"""Export dashboards from a running Superset into superset_config/assets/, ready for git.

Edit a dashboard in the Superset UI, then:
    SUPERSET_ADMIN_PASSWORD=... python superset_config/export_assets.py http://127.0.0.1:PORT

The export is cleaned so it can live in the repository and be imported anywhere: no connection
details (the warehouse URI is injected at import), no environment-specific catalog, a metadata
file of the "assets" kind (imported with overwrite), and file names that carry each asset's uuid.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import sys
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import yaml

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
DASHBOARD_SLUGS = ("msp-portfolio", "it-spend")
URI_PLACEHOLDER = "postgresql+psycopg2://set-at-import-from-pulseops-warehouse-uri/pulseops"
METADATA = {"version": "1.0.0", "type": "assets"}
NAME_FIELD = {
    "databases": "database_name", "datasets": "table_name",
    "charts": "slice_name", "dashboards": "dashboard_title",
}


def fetch_export(base_url: str, username: str, password: str, slugs=DASHBOARD_SLUGS) -> bytes:
    """The ZIP that Superset's dashboard export endpoint returns for the given slugs."""
    base_url = base_url.rstrip("/")
    token = _request_json(f"{base_url}/api/v1/security/login", payload={
        "username": username, "password": password, "provider": "db", "refresh": False,
    })["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    ids = [_request_json(f"{base_url}/api/v1/dashboard/{slug}", headers=auth)["result"]["id"]
           for slug in slugs]
    query = urllib.parse.urlencode({"q": f"!({','.join(map(str, ids))})"})
    request = urllib.request.Request(f"{base_url}/api/v1/dashboard/export/?{query}", headers=auth)
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read()


def clean_export(zip_bytes: bytes) -> dict[str, dict]:
    """Map each asset's new relative path to its cleaned config."""
    assets: dict[str, dict] = {"metadata.yaml": dict(METADATA)}
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        for member in archive.namelist():
            # Every export nests its tree under one dated folder.
            relative = member.split("/", 1)[1]
            folder = relative.split("/")[0]
            if folder not in NAME_FIELD:
                continue
            config = yaml.safe_load(archive.read(member))
            _clean(folder, config)
            stem = re.sub(r"[^A-Za-z0-9]+", "_", config[NAME_FIELD[folder]]).strip("_")
            subfolder = os.path.dirname(relative)  # datasets/<database>/ keeps its database level
            assets[f"{subfolder}/{stem}_{config['uuid']}.yaml"] = config
    return assets


def _clean(folder: str, config: dict) -> None:
    if folder == "databases":
        config["sqlalchemy_uri"] = URI_PLACEHOLDER
        config.pop("password", None)
    elif folder == "datasets":
        # The catalog is the database name of whichever warehouse was exported from.
        config["catalog"] = None
    elif folder == "dashboards":
        for name, item in config["position"].items():
            if isinstance(item, dict) and item.get("type") == "CHART" and not item["meta"].get("uuid"):
                # Without it an import cannot tie the tile to its chart and duplicates it.
                raise ValueError(f"dashboard {config['slug']!r}: tile {name} has no chart uuid")


def write_assets(assets: dict[str, dict], assets_dir: Path = ASSETS_DIR) -> None:
    """Replace the asset tree, so assets removed from the dashboards disappear from git too."""
    for folder in NAME_FIELD:
        shutil.rmtree(assets_dir / folder, ignore_errors=True)
    for relative, config in sorted(assets.items()):
        path = assets_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100)
        if relative.startswith("databases/"):
            text = "# sqlalchemy_uri is replaced at import time by PULSEOPS_WAREHOUSE_URI.\n" + text
        path.write_text(text)


def _request_json(url: str, payload: dict | None = None, headers: dict | None = None) -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={
        "Accept": "application/json", "Content-Type": "application/json", **(headers or {}),
    })
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="Superset base URL, e.g. http://127.0.0.1:8088")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password-file", type=Path,
                        help="file holding the password (default: env SUPERSET_ADMIN_PASSWORD)")
    parser.add_argument("--slug", action="append", dest="slugs", help="dashboard slug (repeatable)")
    args = parser.parse_args()
    password = (args.password_file.read_text().strip() if args.password_file
                else os.environ.get("SUPERSET_ADMIN_PASSWORD", ""))
    if not password:
        sys.exit("give --password-file or set SUPERSET_ADMIN_PASSWORD")
    assets = clean_export(fetch_export(args.url, args.username, password, args.slugs or DASHBOARD_SLUGS))
    write_assets(assets)
    print(f"wrote {len(assets)} files under {ASSETS_DIR}")


if __name__ == "__main__":
    main()
