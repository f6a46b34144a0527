"""The dashboards kept as code hold together, read only documented dbt models, and carry no
secrets; Superset's settings refuse what a shared deployment must not run with. No Superset, no
warehouse and no credentials are needed: this runs on every checkout."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from ingestion.contracts import CONTRACTS
from pulseops_cli.superset_service import superset_python
from pulseops_core.secrets import secret
from superset_config import access
from superset_config.asset_bundle import ASSETS_DIR, load_bundle
from superset_config.chart_requests import own_sql
from tests.support import REPO, environment

pytestmark = pytest.mark.unit  # needs no database, server or browser: `make check` runs it

DBT_DIR = REPO / "dbt_project"
CONFIG_FILE = REPO / "superset_config" / "superset_config.py"


def _load(folder: str) -> list[dict]:
    return [yaml.safe_load(path.read_text()) for path in sorted((ASSETS_DIR / folder).rglob("*.yaml"))]


@pytest.fixture(scope="module")
def assets() -> dict[str, list[dict]]:
    return {folder: _load(folder) for folder in ("databases", "datasets", "charts", "dashboards")}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    """The dbt manifest parsed from the models as they are now (a stale target/ could hide a rename)."""
    target = tmp_path_factory.mktemp("dbt-target")
    subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "dbt"),
            "parse",
            "--quiet",
            "--no-partial-parse",
            "--profiles-dir",
            ".",
            "--project-dir",
            ".",
            "--target-path",
            str(target),
            "--log-path",
            str(target),
        ],
        cwd=DBT_DIR,
        check=True,
        env={"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PATH": "/usr/bin:/bin"},
    )
    return json.loads((target / "manifest.json").read_text())


def _models(manifest: dict) -> dict[tuple[str, str], dict]:
    return {
        (node["schema"], node["alias"]): node for node in manifest["nodes"].values() if node["resource_type"] == "model"
    }


def test_every_dataset_reads_a_dbt_model_of_the_documented_layers(assets, manifest):
    models = _models(manifest)
    for dataset in assets["datasets"]:
        where = f"dataset {dataset['table_name']}"
        assert dataset["sql"] is None, f"{where}: a virtual dataset escapes this check"
        assert dataset["schema"] in ("marts", "reporting"), f"{where}: reads schema {dataset['schema']}"
        model = models.get((dataset["schema"], dataset["table_name"]))
        assert model, f"{where}: no dbt model {dataset['schema']}.{dataset['table_name']}"
        documented = set(model["columns"])
        physical = {c["column_name"] for c in dataset["columns"] if not c["expression"]}
        if documented:
            assert physical <= documented, f"{where}: columns the model does not have: {physical - documented}"


def test_a_renamed_model_fails_the_check(assets, manifest):
    renamed = {key: node for key, node in _models(manifest).items() if key != ("marts", "client_monthly")}
    assert any((d["schema"], d["table_name"]) not in renamed for d in assets["datasets"])


def test_charts_datasets_and_dashboards_refer_to_each_other(assets):
    datasets = {d["uuid"]: d for d in assets["datasets"]}
    databases = {d["uuid"] for d in assets["databases"]}
    charts = {c["uuid"]: c for c in assets["charts"]}
    assert all(d["database_uuid"] in databases for d in datasets.values())
    assert all(c["dataset_uuid"] in datasets for c in charts.values())
    on_dashboards = set()
    for dashboard in assets["dashboards"]:
        tiles = {
            item["meta"]["chartId"]: item["meta"]["uuid"]
            for item in dashboard["position"].values()
            if isinstance(item, dict) and item.get("type") == "CHART"
        }
        assert set(tiles.values()) <= set(charts), dashboard["slug"]
        on_dashboards |= set(tiles.values())
        for native_filter in dashboard["metadata"]["native_filter_configuration"]:
            assert set(native_filter["scope"]["excluded"]) <= set(tiles), native_filter["name"]
            for target in native_filter["targets"]:
                if "datasetUuid" in target:
                    columns = {c["column_name"] for c in datasets[target["datasetUuid"]]["columns"]}
                    assert target["column"]["name"] in columns, native_filter["name"]
    assert on_dashboards == set(charts), "charts on no dashboard"
    for chart in charts.values():
        assert chart["query_context"], f"{chart['slice_name']}: the chart data API needs its saved query"


def test_filters_only_reach_charts_whose_dataset_has_their_column(assets):
    datasets = {d["uuid"]: {c["column_name"] for c in d["columns"]} for d in assets["datasets"]}
    charts = {c["uuid"]: c for c in assets["charts"]}
    for dashboard in assets["dashboards"]:
        tiles = {
            item["meta"]["chartId"]: charts[item["meta"]["uuid"]]
            for item in dashboard["position"].values()
            if isinstance(item, dict) and item.get("type") == "CHART"
        }
        for native_filter in dashboard["metadata"]["native_filter_configuration"]:
            if native_filter["filterType"] != "filter_select":
                continue
            column = native_filter["targets"][0]["column"]["name"]
            for chart_id, chart in tiles.items():
                if chart_id not in native_filter["scope"]["excluded"]:
                    assert column in datasets[chart["dataset_uuid"]], (
                        f"{dashboard['slug']}: filter {native_filter['name']} reaches {chart['slice_name']}"
                    )


def test_the_roles_name_real_dashboards_and_the_client_page_can_be_secured(assets):
    slugs = {d["slug"] for d in assets["dashboards"]}
    assert set(access.DASHBOARDS) == slugs
    assert {slug for role in access.ROLES for slug in role.dashboards} == slugs
    datasets = {d["uuid"]: d for d in assets["datasets"]}
    charts = {c["uuid"]: c for c in assets["charts"]}
    (client_page,) = [d for d in assets["dashboards"] if d["slug"] == access.CLIENT_DASHBOARD]
    for item in client_page["position"].values():
        if isinstance(item, dict) and item.get("type") == "CHART":
            dataset = datasets[charts[item["meta"]["uuid"]]["dataset_uuid"]]
            assert access.CLIENT_COLUMN in {c["column_name"] for c in dataset["columns"]}, dataset["table_name"]


def test_no_connection_details_in_the_repository(assets):
    for database in assets["databases"]:
        assert "password" not in database
        assert "set-at-import" in database["sqlalchemy_uri"]
    bundle = load_bundle({access.WAREHOUSE_DATABASE: "postgresql+psycopg2://u:pw@h:1/w"})
    assert any("u:pw@h:1/w" in text for key, text in bundle.items() if key.startswith("databases/"))
    assert not any(access.ANALYST_DATABASE in text for key, text in bundle.items() if key.startswith("databases/")), (
        "a database without a URI is left out of the import"
    )


def test_freshness_cadences_match_the_source_contracts():
    sql = (DBT_DIR / "models" / "reporting" / "data_health_sources.sql").read_text()
    declared = {(s, e): int(h) for s, e, h in re.findall(r"\('(\w+)', '(\w+)', (\d+)\)", sql)}
    assert declared == {(c.source, c.entity): c.expected_cadence_hours for c in CONTRACTS}


# Loads the settings file in Superset's own environment, as Superset does, and prints its settings.
_PRINT_SETTINGS = """
import json, runpy, sys
settings = runpy.run_path(sys.argv[1])
settings["SECURITY_MANAGER_MRO"] = [cls.__name__ for cls in settings["CUSTOM_SECURITY_MANAGER"].__mro__]
print(json.dumps({name: value for name, value in settings.items() if name.isupper()},
                 default=lambda value: sorted(value) if isinstance(value, (set, frozenset)) else repr(value)))
"""


def _superset_settings(**env: str | None) -> dict:
    keys = (
        "SUPERSET_SECRET_KEY",
        "PULSEOPS_ENV",
        "SUPERSET_METADATA_URL",
        "SUPERSET_HOME",
        "SUPERSET_CACHE_REDIS_URL",
        "PULSEOPS_SUPERSET_DATA_CACHE",
    )
    with environment(**{**{key: None for key in keys}, **env}):
        result = subprocess.run(
            [str(superset_python()), "-c", _PRINT_SETTINGS, str(CONFIG_FILE)],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1])
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_refuse_to_start_without_a_secret_key():
    with pytest.raises(RuntimeError, match="SUPERSET_SECRET_KEY"):
        _superset_settings()
    with pytest.raises(RuntimeError, match="SUPERSET_SECRET_KEY"):
        _superset_settings(PULSEOPS_ENV="production", SUPERSET_METADATA_URL="postgresql://x/y")


def test_production_wants_a_strong_key_and_a_shared_metadata_database():
    strong = "k" * 48
    with pytest.raises(RuntimeError, match="at least 32"):
        _superset_settings(
            PULSEOPS_ENV="production",
            SUPERSET_SECRET_KEY="CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET",
            SUPERSET_METADATA_URL="postgresql+psycopg2://x/y",
        )
    with pytest.raises(RuntimeError, match="SUPERSET_METADATA_URL"):
        _superset_settings(PULSEOPS_ENV="production", SUPERSET_SECRET_KEY=strong)
    with pytest.raises(RuntimeError, match="SUPERSET_CACHE_REDIS_URL is required in production"):
        _superset_settings(
            PULSEOPS_ENV="production",
            SUPERSET_SECRET_KEY=strong,
            SUPERSET_METADATA_URL="postgresql+psycopg2://u@db:5432/superset",
        )
    settings = _superset_settings(
        PULSEOPS_ENV="production",
        SUPERSET_SECRET_KEY=strong,
        SUPERSET_METADATA_URL="postgresql+psycopg2://u@db:5432/superset",
        SUPERSET_CACHE_REDIS_URL="rediss://cache:6379/0",
    )
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u@db:5432/superset"
    assert settings["SESSION_COOKIE_SECURE"] and settings["ENABLE_PROXY_FIX"]
    assert settings["DATA_CACHE_CONFIG"]["CACHE_TYPE"] == "RedisCache"
    # logins are throttled in a store every Superset task shares
    assert settings["RATELIMIT_ENABLED"] and settings["RATELIMIT_STORAGE_URI"] == "rediss://cache:6379/0"
    assert settings["FEATURE_FLAGS"]["DASHBOARD_RBAC"]


def test_isolation_settings_hold_in_every_environment(tmp_path):
    settings = _superset_settings(SUPERSET_SECRET_KEY="local-key", SUPERSET_HOME=str(tmp_path))
    # chart requests are checked for SQL, and cached results are keyed by the warehouse login
    assert {"PulseOpsSecurityManager", "CachedPerWarehouseLogin"} <= set(settings["SECURITY_MANAGER_MRO"])
    assert "connect_client_viewers_as_themselves" in settings["DB_CONNECTION_MUTATOR"]
    assert not settings["FEATURE_FLAGS"].get("ALLOW_ADHOC_SUBQUERY")
    assert {"query_to_xml", "ts_stat", "pg_sleep", "lo_from_bytea", "set_config"} <= set(
        settings["DISALLOWED_SQL_FUNCTIONS"]["postgresql"]
    )


def test_local_settings_use_sqlite_and_a_shared_file_cache_that_benchmarks_can_turn_off(tmp_path):
    settings = _superset_settings(SUPERSET_SECRET_KEY="local-key", SUPERSET_HOME=str(tmp_path))
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith(f"sqlite:///{tmp_path}")
    assert settings["CACHE_CONFIG"]["CACHE_TYPE"] == settings["DATA_CACHE_CONFIG"]["CACHE_TYPE"] == "FileSystemCache"
    assert "SESSION_COOKIE_SECURE" not in settings
    off = _superset_settings(
        SUPERSET_SECRET_KEY="local-key", SUPERSET_HOME=str(tmp_path), PULSEOPS_SUPERSET_DATA_CACHE="off"
    )
    assert off["DATA_CACHE_CONFIG"] == {"CACHE_TYPE": "NullCache"}


def test_secrets_are_generated_locally_and_never_in_production(tmp_path):
    with environment(SUPERSET_SECRET_KEY=None, PULSEOPS_ENV=None):
        key = secret(tmp_path, "SUPERSET_SECRET_KEY")
        assert len(key) >= 32 and secret(tmp_path, "SUPERSET_SECRET_KEY") == key
        assert (tmp_path / "secrets" / "superset_secret_key").stat().st_mode & 0o077 == 0
    with environment(SUPERSET_SECRET_KEY=None, PULSEOPS_ENV="production"):
        with pytest.raises(RuntimeError, match="PULSEOPS_ENV=production"):
            secret(tmp_path / "elsewhere", "SUPERSET_SECRET_KEY")


def test_saved_charts_carry_no_sql_of_their_own():
    """Roles that may not write SQL use every saved chart: each names only its dataset's columns and
    metrics (superset_config/chart_sql_guard.py refuses anything else from them)."""
    columns = {}
    for path in (ASSETS_DIR / "datasets").rglob("*.yaml"):
        dataset = yaml.safe_load(path.read_text())
        columns[dataset["uuid"]] = {column["column_name"] for column in dataset["columns"]}
    charts = [yaml.safe_load(path.read_text()) for path in (ASSETS_DIR / "charts").glob("*.yaml")]
    assert len(charts) >= 40
    for chart in charts:
        saved = json.loads(chart["query_context"])
        for query in saved["queries"]:
            assert list(own_sql(query, columns[chart["dataset_uuid"]])) == [], chart["slice_name"]
        assert [f for f in chart["params"].get("adhoc_filters", []) if f["expressionType"] != "SIMPLE"] == [], chart[
            "slice_name"
        ]
