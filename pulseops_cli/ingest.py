"""`pulseops ingest PATH --source S [--entity E]`: load given files now, outside the schedule.

Exit codes: 0 every file loaded, 1 some file broke its contract (rows held back or the file
quarantined, each with its report), 2 could not run (bad arguments, the database unreachable, the
state folder not writable or full).
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg

from ingestion.contracts import CONTRACTS, Contract
from ingestion.deliveries import deliveries_of, load_delivery
from ingestion.loader import LoadResult, ensure_raw_schema


class UsageError(Exception):
    pass


def choose_contract(source: str, entity: str | None) -> Contract:
    candidates = [c for c in CONTRACTS if c.source == source and (entity is None or c.entity == entity)]
    if len(candidates) == 1:
        return candidates[0]
    known = ", ".join(sorted(f"{c.source}/{c.entity}" for c in CONTRACTS if c.source == source)) or "none"
    if not candidates:
        sources = ", ".join(sorted({c.source for c in CONTRACTS}))
        raise UsageError(
            f"no contract for source {source!r} entity {entity!r} (sources: {sources}; entities of {source!r}: {known})"
        )
    raise UsageError(f"source {source!r} has several entities, name one with --entity: {known}")


def files_under(path: Path) -> dict[str, Path]:
    """Each file to load by its landing name: its path below the folder given (so files of one
    name in two sub-folders of a delivery stay two files), or its name for a single file."""
    if path.is_file():
        return {path.name: path}
    if path.is_dir():
        return {
            p.relative_to(path).as_posix(): p
            for p in sorted(path.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
        }
    raise UsageError(f"{path}: no such file or folder")


def report_line(result: LoadResult, store) -> str:
    status = result.status
    if result.previous_status:
        status = f"unchanged since it was loaded: {result.previous_status}"
    line = f"{result.file_key}: {status}, {result.rows_loaded} of {result.rows_in} rows loaded"
    if result.rows_rejected:
        line += f", {result.rows_rejected} rejected"
    for violation in result.violations:
        line += f"\n    {violation.describe()}"
    for note in result.notes:
        line += f"\n    note: {note}"
    if result.report_key:
        line += f"\n    report: {store.uri(result.report_key)}"
    return line


def ingest(
    paths: dict[str, Path], contract: Contract, warehouse, store, profile: str | None = None
) -> list[LoadResult]:
    """Put each file into the landing zone (kept as delivered) and load it."""
    results = []
    folder = contract.landing_prefix + (f"profile={profile}/" if profile else "")
    with warehouse.connect() as conn:
        ensure_raw_schema(conn, [contract])
        keys = set()
        for name, path in paths.items():
            keys.add(f"{folder}{name}")
            store.put_file(path, f"{folder}{name}")
        # a provider's folder (manifest and the files it lists) loads as the sensor would load it
        for delivery in deliveries_of(store, contract, keys):
            for result in load_delivery(conn, store, contract, delivery):
                print(report_line(result, store), flush=True)
                results.append(result)
    return results


def run(path: str, source: str, entity: str | None, profile: str | None = None) -> int:
    from orchestration.resources import ObjectStoreResource, WarehouseResource

    try:
        contract = choose_contract(source, entity)
        paths = files_under(Path(path))
    except UsageError as error:
        print(f"pulseops ingest: {error}", file=sys.stderr)
        return 2
    try:
        results = ingest(paths, contract, WarehouseResource(), ObjectStoreResource().store(), profile)
    except (psycopg.Error, OSError) as error:
        # Not a file's fault: one line that says what could not run (no traceback).
        print(
            f"pulseops ingest: could not run: {type(error).__name__}: {str(error).strip().splitlines()[0]}",
            file=sys.stderr,
        )
        return 2
    bad = [r for r in results if r.broke_its_contract]
    if bad:
        print(
            f"pulseops ingest: {len(bad)} of {len(results)} file(s) broke the {contract.name} contract", file=sys.stderr
        )
        return 1
    return 0
