"""Provider deliveries: the files a cloud provider's export writes together, loaded as one delivery.

Cloud cost exports arrive as several files per billing period, and the provider writes a billing
period again as the month goes on. Three layouts are recognised anywhere under a contract's landing
folder (landing/focus/costs/<anything>/...):

- AWS Data Exports: `<export>/data/BILLING_PERIOD=2025-01/[<execution-id>/]<export>-00001.snappy.parquet`
  and `<export>/metadata/BILLING_PERIOD=2025-01/[<execution-id>/]<export>-Manifest.json`, whose
  `dataFiles` list the delivery's files (full S3 URIs).
- Azure Cost Management exports: `<directory>/<export>/<YYYYMMDD-YYYYMMDD>/<run-id>/part_0_0001.csv.gz`
  with a `manifest.json` per run whose `blobs[].blobName` list the run's files.
- Sharded exports without a manifest (a BigQuery export of a FOCUS view to GCS with a wildcard URI):
  `<name>-000000000000.csv`, `<name>-000000000001.csv`, ... in one folder are one delivery.

A data file of a manifest layout is loaded only through its manifest, once the manifest and every
file it lists have arrived (providers write the manifest last; a copy job may not). A manifest that
cannot be read is quarantined with a report, as a file that breaks its contract is. A manifest
replaces every earlier delivery of its period: files of the period it does not list lose their rows
(the ledger forgets them), so whether the provider overwrote the files or wrote a new version beside
them, the raw table holds the latest delivery only. Every file of
a delivery ends with one `_loaded_at`, so staging, which keeps a provider's billing period
from its latest load, keeps all of the delivery's files. Each file goes through the loader as any
other (its lock, ledger entry, quarantine); the delivery holds a lock of its own on its period.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath

from ingestion import raw_tables
from ingestion.contracts import Contract
from ingestion.loader import LEDGER, LoadResult, load_file
from ingestion.object_store import ObjectStore, StoredObject
from ingestion.quarantine import quarantine_prefix, write_report
from ingestion.validation import RuleViolation

log = logging.getLogger(__name__)

DELIVERIES = "raw._deliveries"
AWS_MANIFEST = re.compile(r"^(?P<export>.+)/metadata/(?P<partition>[^/]+=[^/]+)/(?:[^/]+/)?[^/]+-Manifest\.json$")
AWS_DATA = re.compile(r"^(?P<export>.+)/data/(?P<partition>[^/]+=[^/]+)/.+$")
AZURE_MANIFEST = re.compile(r"^(?P<period>.+/\d{8}-\d{8})/(?P<run>[^/]+)/manifest\.json$", re.IGNORECASE)
AZURE_DATA = re.compile(r"^(?P<period>.+/\d{8}-\d{8})/[^/]+/[^/]+$")
# BigQuery numbers the files of a wildcard export with twelve digits.
SHARD = re.compile(r"^(?P<group>.+)-\d{12}\.(?:csv|csv\.gz|parquet)$", re.IGNORECASE)
WAITING = "waiting"


@dataclass
class Delivery:
    """Files loaded together. `period`: the key prefix of everything this delivery replaces."""

    key: str  # the manifest's key, the shard group, or the single file's key
    files: list[str]
    manifest: StoredObject | None = None
    period: str | None = None
    issued: str = ""  # the manifest's own time, where it has one (orders two runs of one period)
    missing: list[str] = field(default_factory=list)
    unlisted: bool = False  # a data file of a manifest layout that no manifest at hand lists
    problem: str | None = None  # why the manifest could not be read

    @property
    def keys(self) -> set[str]:
        return {*self.files, *self.missing, *([self.manifest.key] if self.manifest else [])}


def ensure_deliveries_table(conn) -> None:
    conn.execute(f"""
        create table if not exists {DELIVERIES} (
            manifest_key text primary key,
            object_version text not null,
            period text not null,
            issued text not null,
            files jsonb not null,
            replaced jsonb not null,
            delivered_at timestamptz not null default now()
        )""")
    conn.commit()


def is_manifest(key: str) -> bool:
    return bool(AWS_MANIFEST.match(key) or AZURE_MANIFEST.match(key))


def governed_by_manifest(key: str) -> bool:
    """A data file of a layout whose manifest says which files make the delivery."""
    return not is_manifest(key) and bool(AWS_DATA.match(key) or AZURE_DATA.match(key))


def _shard_group(key: str) -> str | None:
    match = SHARD.match(key)
    return match["group"] if match else None


def read_manifest(store: ObjectStore, manifest: StoredObject, present: set[str]) -> Delivery:
    """The delivery a manifest describes, its files as landing keys."""
    body = json.loads(store.get_bytes(manifest.key))
    if match := AWS_MANIFEST.match(manifest.key):
        data_folder = f"{match['export']}/data/"
        # Full S3 URIs of the bucket AWS wrote to: what follows `/data/` is the same wherever the
        # export's folder was pointed (or copied).
        files = [data_folder + uri.split("/data/", 1)[1] for uri in body.get("dataFiles", [])]
        period, issued = f"{data_folder}{match['partition']}/", ""
    else:
        match = AZURE_MANIFEST.match(manifest.key)
        run_folder = manifest.key.rsplit("/", 1)[0]
        marker = f"/{match['run']}/"
        files = [
            f"{run_folder}/"
            + (b["blobName"].split(marker, 1)[1] if marker in b["blobName"] else PurePosixPath(b["blobName"]).name)
            for b in body.get("blobs", [])
        ]
        period, issued = f"{match['period']}/", str(body.get("runInfo", {}).get("submittedTime", ""))
    return Delivery(
        manifest.key,
        [f for f in files if f in present],
        manifest,
        period,
        issued,
        [f for f in files if f not in present],
    )


def deliveries_of(store: ObjectStore, contract: Contract, keys: set[str]) -> list[Delivery]:
    """The deliveries the landing objects `keys` belong to, in the order to load them."""
    objects = store.list(contract.landing_prefix)
    by_key = {o.key: o for o in objects}
    present = set(by_key)
    units: dict[str, Delivery] = {}
    for key in sorted(k for k in keys & present if is_manifest(k)):
        try:
            units[key] = read_manifest(store, by_key[key], present)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
            units[key] = Delivery(key, [], by_key[key], problem=f"{type(error).__name__}: {error}"[:500])
    listed = {f for unit in units.values() for f in unit.files}
    for key in sorted(keys & present):
        if key.endswith(".partial") or key in units or key in listed:
            continue
        if governed_by_manifest(key):
            units[key] = Delivery(key, [], unlisted=True)
        elif group := _shard_group(key):
            shards = sorted(k for k in present if _shard_group(k) == group)
            units.setdefault(group, Delivery(group, shards))
        else:
            units[key] = Delivery(key, [key])
    # Two runs of one period pending at once: the later one is loaded last, so it stays.
    return sorted(units.values(), key=lambda d: (d.period or "", d.issued, d.key))


def pending_objects(conn, store: ObjectStore, contract: Contract) -> list[StoredObject]:
    """Landing objects new or changed since they were loaded (data files) or delivered (manifests).

    A data file a later delivery replaced stays in the landing zone but is no longer news; a data
    file that arrives after its manifest is, so the sensor starts the run that completes the delivery."""
    ensure_deliveries_table(conn)
    seen = raw_tables.seen_versions(conn, contract)
    seen |= set(conn.execute(f"select manifest_key, object_version from {DELIVERIES}").fetchall())
    replaced = {key for (keys,) in conn.execute(f"select replaced from {DELIVERIES}") for key in keys}
    conn.rollback()
    return [
        o
        for o in store.list(contract.landing_prefix)
        if (o.key, o.version) not in seen
        and not o.key.endswith(".partial")
        and not (o.key in replaced and governed_by_manifest(o.key))
    ]


def pending_deliveries(conn, store: ObjectStore, contract: Contract) -> list[Delivery]:
    return deliveries_of(store, contract, {o.key for o in pending_objects(conn, store, contract)})


def load_delivery(conn, store: ObjectStore, contract: Contract, delivery: Delivery) -> list[LoadResult]:
    """Load each file of the delivery; then, in one transaction, drop what it replaces and give all
    its rows one load time. A manifest whose files are not all there yet waits (nothing loaded)."""
    if delivery.problem:
        return [_quarantine_manifest(conn, store, contract, delivery)]
    if delivery.unlisted:
        return [
            LoadResult(
                delivery.key,
                WAITING,
                notes=["a file of a provider's delivery: it loads with the manifest that lists it"],
            )
        ]
    if delivery.missing:
        return [
            LoadResult(
                delivery.key,
                WAITING,
                notes=[f"{len(delivery.missing)} listed file(s) not delivered yet: {delivery.missing[:5]}"],
            )
        ]
    ensure_deliveries_table(conn)
    with raw_tables.file_lock(conn, f"delivery:{delivery.period or delivery.key}"):
        if delivery.manifest and _already_delivered(conn, delivery):
            _remember_manifest(conn, delivery, replaced=[])  # seen: no run loads it again
            conn.commit()
            return [LoadResult(delivery.key, "unchanged", notes=["a later run of this period was loaded before"])]
        stored = {o.key: o for o in store.list(contract.landing_prefix)}
        results = [load_file(conn, store, contract, stored[key]) for key in delivery.files]
        if len(delivery.files) > 1 or delivery.manifest:
            _settle(conn, contract, delivery)
    return results


def _quarantine_manifest(conn, store: ObjectStore, contract: Contract, delivery: Delivery) -> LoadResult:
    """A manifest that cannot be read loads nothing: it is kept in quarantine with a report and a
    ledger entry, as a file that breaks its contract is, until a readable one replaces it."""
    body = store.get_bytes(delivery.key)
    result = LoadResult(
        delivery.key,
        "quarantined",
        checksum=hashlib.sha256(body).hexdigest(),
        object_version=delivery.manifest.version,
        violations=[RuleViolation("unreadable_manifest", None, detail=delivery.problem)],
    )
    store.put_bytes(quarantine_prefix(contract, delivery.key), body)
    result.report_key = write_report(store, contract, result, whole_file=True)
    raw_tables.record_in_ledger(conn, contract, result, None, datetime.now(timezone.utc))
    conn.commit()
    return result


def _already_delivered(conn, delivery: Delivery) -> bool:
    """A run older than the one already loaded for its period (delivered late, or again)."""
    latest = conn.execute(
        f"select max(issued) from {DELIVERIES} where period = %s and manifest_key <> %s",
        (delivery.period, delivery.key),
    ).fetchone()[0]
    conn.rollback()
    return bool(delivery.issued and latest and delivery.issued < latest)


def _settle(conn, contract: Contract, delivery: Delivery) -> None:
    file_ids = [
        file_id
        for (file_id,) in conn.execute(
            f"select file_id from {LEDGER} where file_key = any(%s) and status <> 'quarantined'", (delivery.files,)
        )
    ]
    replaced = []
    if delivery.period:
        replaced = [
            key
            for (key,) in conn.execute(
                f"select file_key from {LEDGER} where starts_with(file_key, %s) and not file_key = any(%s) "
                "order by file_key",
                (delivery.period, delivery.files),
            )
            if not is_manifest(key)
        ]
        for key in replaced:
            raw_tables.forget_earlier_delivery(conn, contract, key)
        conn.execute(f"delete from {LEDGER} where file_key = any(%s)", (replaced,))
    conn.execute(f"update {contract.raw_table} set _loaded_at = now() where _file_id = any(%s)", (file_ids,))
    if delivery.manifest:
        _remember_manifest(conn, delivery, replaced)
    conn.commit()
    if replaced:
        log.info("%s replaced %d earlier file(s) of %s", delivery.key, len(replaced), delivery.period)


def _remember_manifest(conn, delivery: Delivery, replaced: list[str]) -> None:
    conn.execute(
        f"""
        insert into {DELIVERIES} as delivered (manifest_key, object_version, period, issued, files, replaced)
        values (%s, %s, %s, %s, %s, %s)
        on conflict (manifest_key) do update set object_version = excluded.object_version,
            issued = excluded.issued, files = excluded.files, delivered_at = now(),
            -- every file this manifest ever replaced: none of them is news again
            replaced = (select coalesce(jsonb_agg(distinct key order by key), '[]')
                        from jsonb_array_elements_text(delivered.replaced || excluded.replaced) as key)""",
        (
            delivery.key,
            delivery.manifest.version,
            delivery.period,
            delivery.issued,
            json.dumps(delivery.files),
            json.dumps(replaced),
        ),
    )
