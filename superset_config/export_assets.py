"""Export the PulseOps dashboards from a running Superset into superset_config/assets/, ready for git.

Edit a dashboard in the Superset UI, then `make superset-export` (or
    .venv/bin/python -m superset_config.export_assets [--url http://127.0.0.1:PORT] [--password-file F]
with the admin password from --password-file, SUPERSET_ADMIN_PASSWORD or the one `make run` made).

The export is cleaned so it can live in the repository and be imported anywhere: no connection
details (each database's URI is injected at import), no environment-specific catalog or ids of
this instance's own, a metadata file of the "assets" kind (imported with overwrite), and file
names that carry each asset's uuid.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import yaml

try:
    from superset_config import access
    from superset_config.rest import DEFAULT_URL, SupersetClient, admin_password
except ImportError:  # run as a script from this folder
    from rest import DEFAULT_URL, SupersetClient, admin_password

    import access

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
METADATA = {"version": "1.0.0", "type": "assets"}
NAME_FIELD = {
    "databases": "database_name",
    "datasets": "table_name",
    "charts": "slice_name",
    "dashboards": "dashboard_title",
}
URI_PLACEHOLDERS = {
    access.WAREHOUSE_DATABASE: ("PULSEOPS_ANALYST_URI", "PULSEOPS_ANALYST_URI (dashboards; hidden from SQL Lab)"),
    access.ANALYST_DATABASE: ("PULSEOPS_ANALYST_URI", "PULSEOPS_ANALYST_URI (SQL Lab)"),
}
# Ids of one Superset instance that its exports carry along; imports assign their own.
INSTANCE_KEYS = ("slice_id", "dashboards", "url_params", "dashboardId")


def fetch_export(api: SupersetClient, slugs=access.DASHBOARDS) -> list[bytes]:
    """The ZIPs of the dashboards (with their charts, datasets, databases) and of the databases
    that no dataset reads (the SQL Lab connection)."""
    ids = [api.request("GET", f"/api/v1/dashboard/{slug}")["result"]["id"] for slug in slugs]
    zips = [api.request("GET", "/api/v1/dashboard/export/", raw=True, q=f"!({','.join(map(str, ids))})")]
    database_ids = [row["id"] for name in URI_PLACEHOLDERS for row in api.find("database", "database_name", name)]
    if database_ids:
        zips.append(
            api.request("GET", "/api/v1/database/export/", raw=True, q=f"!({','.join(map(str, database_ids))})")
        )
    return zips


def clean_export(zips: list[bytes]) -> dict[str, dict]:
    """Map each asset's new relative path to its cleaned config."""
    assets: dict[str, dict] = {"metadata.yaml": dict(METADATA)}
    for zip_bytes in zips:
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
        variable = URI_PLACEHOLDERS.get(config["database_name"], ("PULSEOPS_ANALYST_URI",))[0]
        config["sqlalchemy_uri"] = (
            f"postgresql+psycopg2://set-at-import-from-{variable.lower().replace('_', '-')}/pulseops"
        )
        config.pop("password", None)
    elif folder == "datasets":
        # The catalog is the database name of whichever warehouse was exported from.
        config["catalog"] = None
    elif folder == "charts":
        # The import points the chart at its dataset (by dataset_uuid) again.
        for key in (*INSTANCE_KEYS, "datasource"):
            config["params"].pop(key, None)
        if config.get("query_context"):
            context = json.loads(config["query_context"])
            context.pop("datasource", None)
            for key in (*INSTANCE_KEYS, "datasource"):
                context.get("form_data", {}).pop(key, None)
            for query in context.get("queries", []):
                query["url_params"] = {}
            config["query_context"] = json.dumps(context)
    elif folder == "dashboards":
        for name, item in config["position"].items():
            if isinstance(item, dict) and item.get("type") == "CHART" and not item["meta"].get("uuid"):
                # Without it an import cannot tie the tile to its chart and duplicates it.
                raise ValueError(f"dashboard {config['slug']!r}: tile {name} has no chart uuid")
        _renumber_charts(config)


def _renumber_charts(dashboard: dict) -> None:
    """Chart ids 1, 2, ... in layout order instead of this instance's, wherever the dashboard
    refers to them, so exports from different instances compare equal (imports map them anyway)."""
    tiles = [item for item in dashboard["position"].values() if isinstance(item, dict) and item.get("type") == "CHART"]
    new_id = {tile["meta"]["chartId"]: number for number, tile in enumerate(tiles, 1)}
    for tile in tiles:
        tile["meta"]["chartId"] = new_id[tile["meta"]["chartId"]]
    metadata = dashboard.get("metadata", {})
    for native_filter in metadata.get("native_filter_configuration", []):
        scope = native_filter.get("scope", {})
        scope["excluded"] = sorted(new_id[i] for i in scope.get("excluded", []) if i in new_id)
        if "chartsInScope" in native_filter:
            native_filter["chartsInScope"] = sorted(new_id[i] for i in native_filter["chartsInScope"] if i in new_id)
    metadata["timed_refresh_immune_slices"] = [
        new_id[i] for i in metadata.get("timed_refresh_immune_slices", []) if i in new_id
    ]
    metadata["expanded_slices"] = {
        str(new_id[int(i)]): v for i, v in metadata.get("expanded_slices", {}).items() if int(i) in new_id
    }
    configuration = {}
    for key, value in metadata.get("chart_configuration", {}).items():
        if int(key) in new_id:
            value = {**value, "id": new_id[int(key)]}
            scope = value.get("crossFilters", {}).get("scope", {})
            if isinstance(scope, dict) and scope.get("excluded"):
                scope["excluded"] = [new_id[i] for i in scope["excluded"] if i in new_id]
            if "chartsInScope" in value.get("crossFilters", {}):
                value["crossFilters"]["chartsInScope"] = [
                    new_id[i] for i in value["crossFilters"]["chartsInScope"] if i in new_id
                ]
            configuration[str(new_id[int(key)])] = value
    if "chart_configuration" in metadata:
        metadata["chart_configuration"] = configuration


def write_assets(assets: dict[str, dict], assets_dir: Path = ASSETS_DIR) -> None:
    """Replace the asset tree, so assets removed from the dashboards disappear from git too."""
    for folder in NAME_FIELD:
        shutil.rmtree(assets_dir / folder, ignore_errors=True)
    for relative, config in sorted(assets.items()):
        path = assets_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100)
        if relative.startswith("databases/"):
            comment = URI_PLACEHOLDERS.get(config["database_name"], ("", "the bootstrap"))[1]
            text = f"# sqlalchemy_uri is set at import time from {comment}.\n" + text
        path.write_text(text)


def export(api: SupersetClient, assets_dir: Path = ASSETS_DIR) -> dict[str, dict]:
    assets = clean_export(fetch_export(api))
    write_assets(assets, assets_dir)
    return assets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help=f"Superset base URL (default {DEFAULT_URL})")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password-file", type=Path, help="file holding the password")
    parser.add_argument("--assets-dir", type=Path, default=ASSETS_DIR)
    args = parser.parse_args()
    api = SupersetClient(args.url, args.username, admin_password(args.password_file))
    assets = export(api, args.assets_dir)
    print(f"wrote {len(assets)} files under {args.assets_dir}")


if __name__ == "__main__":
    main()
