"""Landing -> raw: validate a delivered file, keep it, write Parquet to the raw zone, COPY it into
Postgres `raw`, and record the outcome in the ingestion ledger.

- Idempotent: a file whose checksum was already handled is skipped; a corrected re-delivery under
  the same key replaces its earlier rows.
- Atomic: the rows and the ledger entry commit in one transaction, so a load killed at any
  instant leaves all of the file or none of it, and the next run loads it again.
- Fast and flat in memory: the file is read in batches; a clean CSV streams unchanged into COPY
  on the server's core while this process validates it on the other.
- Bad input never raises: whole-file problems quarantine the file; bad rows of a contract that
  allows it are held back with a report while the good rows load.
"""

from __future__ import annotations

import csv
import errno
import gzip
import json
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from tempfile import TemporaryDirectory

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingestion import raw_tables
from ingestion.contracts import EXTRAS_COLUMN, Contract
from ingestion.file_reading import FileFormat, FileProblem, count_rows, iter_batches, read_header, sniff_delimiter
from ingestion.key_check import KeyTracker
from ingestion.mapping_profiles import profile_for_key
from ingestion.object_store import ObjectStore, StoredObject, sha256_of
from ingestion.quarantine import keep_rejected_file, keep_rejected_rows, object_name, write_report
from ingestion.raw_tables import LEDGER, ensure_raw_schema  # noqa: F401  (re-exported for callers)
from ingestion.typed_read import (
    apply_contract_types,
    arrow_schema,
    arrow_types_by_header,
    as_numbers,
    exact_amounts,
    to_pandas,
)
from ingestion.validation import (
    BatchValidator,
    HeaderMapping,
    RuleViolation,
    ViolationLog,
    cell_rules,
    check_header,
    non_finite_numbers,
)

# Operating-system errors of the state folder or the machine (full, read-only, no rights), as
# opposed to those a file's content provokes.
INFRASTRUCTURE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
WORKDIR_PREFIX = "pulseops-load-"
ABANDONED_AFTER_S = 24 * 3600  # no load runs for a day
SOURCE_ROW = "_source_row"  # the row's number in the delivered file, kept in the raw-zone Parquet
COPY_BLOCK = 1 << 20
PARQUET_COMPRESSION = "snappy"  # zstd saves a fifth of the bytes for twice the time in the hot path


BROKEN, HELD_BACK = "quarantined", "loaded_with_rejects"


@dataclass
class LoadResult:
    file_key: str
    status: str  # loaded | loaded_with_rejects | quarantined | unchanged
    previous_status: str | None = None  # for an unchanged file, how its earlier load ended
    rows_in: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    checksum: str = ""
    object_version: str = ""
    report_key: str | None = None
    parquet_key: str | None = None
    violations: list[RuleViolation] = field(default_factory=list)
    # What was kept or changed as the contract documents (extra columns, normalised values).
    notes: list[str] = field(default_factory=list)

    @property
    def broke_its_contract(self) -> bool:
        """Rows held back or the file quarantined, now or (an unchanged file) when it was loaded."""
        return BROKEN in (self.status, self.previous_status) or HELD_BACK in (self.status, self.previous_status)

    @property
    def error_summary(self) -> str:
        return "; ".join([*(v.describe() for v in self.violations), *self.notes])[:2000]


class EnumerationCase:
    """Allowed values delivered in another case ('Usage-based' for 'Usage-Based'), stored as the
    contract writes them and counted for the load report, and an empty text ("") taken as no value
    (contracts that normalise_allowed_case)."""

    def __init__(self, contract: Contract, mapping: HeaderMapping):
        by_warehouse_name = {name: header for header, name in mapping.rename.items()}
        self.columns = {
            by_warehouse_name[c.name]: {v.casefold(): v for v in c.allowed}
            for c in contract.columns
            if contract.normalise_allowed_case and c.allowed and c.name in by_warehouse_name
        }
        self.changed: dict[tuple[str, str, str], int] = {}

    def apply(self, table: pa.Table) -> pa.Table:
        for header, canonical in self.columns.items():
            column = table.column(header).cast(pa.string())
            column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
            for value in pc.unique(column).to_pylist():
                if value is None or value in canonical.values() or value.casefold() not in canonical:
                    continue
                matches = pc.equal(column, value)
                key = (header, value, canonical[value.casefold()])
                self.changed[key] = self.changed.get(key, 0) + pc.sum(matches).as_py()
                column = pc.if_else(matches, canonical[value.casefold()], column)
            table = table.set_column(table.column_names.index(header), header, column)
        return table

    def notes(self) -> list[str]:
        return [
            f"{header}: {value!r} stored as {allowed!r} on {rows} row(s)"
            for (header, value, allowed), rows in sorted(self.changed.items())
        ]


@dataclass
class _Scan:
    """What one validation pass over a file found."""

    rows: int
    log: ViolationLog
    parquet_path: Path
    notes: list[str]


def _parquet_schema(contract: Contract, meta: dict) -> pa.Schema:
    """Contract columns and each row's number in the file; what holds for the whole file (its key,
    checksum and load time) is kept once, as file metadata, not on every row."""
    schema = arrow_schema(contract)
    if contract.keeps_extra_columns:
        schema = schema.append(pa.field(EXTRAS_COLUMN, pa.string()))
    schema = schema.append(pa.field(SOURCE_ROW, pa.int64()))
    return schema.with_metadata({f"pulseops.{key.lstrip('_')}": str(value) for key, value in meta.items()})


def _parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """Row numbers count up by one: delta-encoded they cost almost nothing, where the default
    dictionary attempt takes half the write time for a column it can never shrink."""
    return pq.ParquetWriter(
        path,
        schema,
        compression=PARQUET_COMPRESSION,
        use_dictionary=[name for name in schema.names if name != SOURCE_ROW],
        column_encoding={SOURCE_ROW: "DELTA_BINARY_PACKED"},
    )


def _extras_json(table: pa.Table, mapping: HeaderMapping) -> pa.Array:
    extras = table.select(mapping.extras).to_pandas().astype(object)
    return pa.array(
        [json.dumps({k: v for k, v in row.items() if v is not None and v == v}) for row in extras.to_dict("records")],
        pa.string(),
    )


def _contract_table(contract: Contract, table: pa.Table, mapping: HeaderMapping, schema: pa.Schema) -> pa.Table:
    """Delivered columns under their warehouse names, in contract order, absent optional columns as
    nulls and kept extras packed as JSON: the contract's columns of `schema`, nothing else."""
    by_name = {mapping.rename[h]: table.column(h) for h in mapping.rename}
    columns = []
    for field_ in schema:
        if field_.name == EXTRAS_COLUMN:
            columns.append(_extras_json(table, mapping) if mapping.extras else pa.nulls(table.num_rows, pa.string()))
        elif field_.name in by_name:
            columns.append(by_name[field_.name].cast(field_.type))
        elif not field_.name.startswith("_"):
            columns.append(pa.nulls(table.num_rows, field_.type))
    names = [f.name for f in schema if not f.name.startswith("_")]
    return pa.table(columns, names=names)


def _with_source_rows(table: pa.Table, first_row: int, schema: pa.Schema) -> pa.Table:
    rows = pa.array(np.arange(first_row, first_row + table.num_rows), pa.int64())
    return pa.Table.from_arrays([*table.columns, rows], schema=schema)


def _scan(
    contract: Contract, path: Path, header: list[str], mapping: HeaderMapping, meta: dict, workdir: Path, typed: bool
) -> _Scan:
    """One pass: validate every batch, note repeated keys, write every row to a Parquet file.

    Typed, the fast parser has already typed the cells and pandas sees plain numpy columns (what
    Great Expectations checks fastest); as text, every cell is parsed here and noted if it fails."""
    validator = BatchValidator(contract, set(mapping.rename.values()))
    log, rows = ViolationLog(), 0
    normalised = EnumerationCase(contract, mapping)
    schema = _parquet_schema(contract, meta)
    contract_schema = pa.schema([f for f in schema if not f.name.startswith("_")])
    parquet_path = workdir / ("typed.parquet" if typed else "text.parquet")
    column_types = arrow_types_by_header(contract, mapping.rename) if typed else None
    with _parquet_writer(parquet_path, schema) as writer, KeyTracker(contract.key, workdir) as keys:
        for table in iter_batches(path, header, column_types, contract.null_markers):
            first_row = rows + 1
            table = normalised.apply(table)
            if typed:
                clean = _contract_table(contract, table, mapping, contract_schema)
                numbers = as_numbers(contract, clean)
                frame = numbers.to_pandas(date_as_object=False)
                not_finite = non_finite_numbers(contract, numbers, first_row)
                log.extend(not_finite)
                log.extend(_without_unparsed(validator.check(frame, first_row), not_finite))
                log.extend(cell_rules(contract, frame, first_row))
            else:
                text = to_pandas(
                    _contract_table(
                        contract, table, mapping, pa.schema([pa.field(f.name, pa.string()) for f in contract_schema])
                    )
                )
                frame, type_violations = apply_contract_types(contract, text, first_row)
                log.extend(type_violations)
                log.extend(_without_unparsed(validator.check(frame, first_row), type_violations))
                log.extend(cell_rules(contract, frame, first_row))
                clean = pa.Table.from_pandas(
                    exact_amounts(contract, text, frame), schema=contract_schema, preserve_index=False
                )
            keys.add(frame, first_row)
            writer.write_table(_with_source_rows(clean, first_row, schema))
            rows += table.num_rows
        duplicates = keys.duplicates()
    if duplicates:
        log.add(duplicates)
    return _Scan(rows, log, parquet_path, normalised.notes())


def scan_file(
    contract: Contract, path: Path, header: list[str], mapping: HeaderMapping, meta: dict, workdir: Path
) -> tuple[_Scan, bool]:
    """Every row validated and converted by the fast parser, or, when it refused a value, read again
    as text to find every bad cell (or to convert what COPY would take differently, such as a
    timestamp with a UTC offset); and whether the fast parser read it all."""
    try:
        scan, typed = _scan(contract, path, header, mapping, meta, workdir, typed=True), True
    except pa.ArrowInvalid:
        scan, typed = _scan(contract, path, header, mapping, meta, workdir, typed=False), False
    if scan.rows == 0:
        raise FileProblem("no_data_rows", "the file has a header but no data rows")
    return scan, typed


def whole_file_refused(contract: Contract, scan: _Scan) -> bool:
    """File-level findings, a contract that takes its file whole or not at all, or no good row."""
    return bool(scan.log) and (not contract.reject_rows or len(scan.log.bad_rows()) in (0, scan.rows))


def whole_file_violation(error: Exception) -> RuleViolation:
    """What quarantines a file that could not be read through: a problem named by the reader, or
    whatever else its content provoked."""
    if isinstance(error, FileProblem):
        return RuleViolation(error.rule, None, detail=error.detail)
    return RuleViolation("unreadable", None, detail=f"{type(error).__name__}: {error}"[:1000])


@dataclass
class FileCheck:
    """What loading a file would find and decide."""

    status: str  # loaded | loaded_with_rejects | quarantined
    violations: list[RuleViolation]


def check_file(contract: Contract, path: Path, file_key: str, workdir: Path) -> FileCheck:
    """The validation of `load_file` without a database or an object store: the same header
    check, scan and verdict (the fast check tier runs the bad-input corpus through it)."""
    try:
        readable = _readable(path, contract, file_key, workdir)
        header = read_header(readable)
        mapping = check_header(contract, header, sniff_delimiter(header))
        if mapping.violations:
            return FileCheck(BROKEN, mapping.violations)
        meta = {"_file_key": file_key, "_file_checksum": "", "_loaded_at": datetime.now(timezone.utc), "_file_id": 0}
        scan, _ = scan_file(contract, readable, header, mapping, meta, workdir)
    except Exception as error:  # noqa: BLE001 - as in load_file
        if is_infrastructure_error(error):
            raise
        return FileCheck(BROKEN, [whole_file_violation(error)])
    if whole_file_refused(contract, scan):
        return FileCheck(BROKEN, scan.log.violations)
    return FileCheck(HELD_BACK if len(scan.log.bad_rows()) else "loaded", scan.log.violations)


def _without_unparsed(violations: list[RuleViolation], type_violations: list[RuleViolation]) -> list[RuleViolation]:
    """A cell that failed to parse (or is no finite number) is empty after typing: report it once,
    as a type error."""
    unparsed = {(v.column, row) for v in type_violations for row in v.rows}
    kept = []
    for violation in violations:
        if violation.rule == "not_null" and unparsed:
            rows = [row for row in violation.rows if (violation.column, row) not in unparsed]
            if not rows:
                continue
            violation.rows = rows
        kept.append(violation)
    return kept


class _RawCopy(threading.Thread):
    """Streams a clean CSV file, unchanged, into COPY while the file is being validated."""

    def __init__(self, conn, contract: Contract, path: Path, columns: list[str]):
        super().__init__(daemon=True)
        self.conn, self.contract, self.path, self.columns = conn, contract, path, columns
        self.error: Exception | None = None

    def run(self) -> None:
        names = ", ".join(f'"{c}"' for c in self.columns)
        fmt = FileFormat.of(self.path)
        try:
            with self.conn.cursor() as cursor:
                with cursor.copy(
                    f"copy {self.contract.raw_table} ({names}) from stdin "
                    "with (format csv, header true, encoding 'UTF8')"
                ) as copy:
                    with gzip.open(self.path, "rb") if fmt.gzip else open(self.path, "rb") as source:
                        while block := source.read(COPY_BLOCK):
                            copy.write(block)
        except Exception as error:  # noqa: BLE001 - judged by the caller, which falls back
            self.error = error


def _copy_parquet(conn, contract: Contract, parquet_path: Path, drop_rows: np.ndarray | None = None) -> int:
    """COPY validated rows from the scan's Parquet file (all but `drop_rows`); the load metadata
    columns take their defaults from the transaction (see raw_tables.begin_file_load)."""
    loaded = 0
    parquet = pq.ParquetFile(parquet_path)
    columns = [n for n in parquet.schema_arrow.names if n != SOURCE_ROW]
    names = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor() as cursor:
        with cursor.copy(f"copy {contract.raw_table} ({names}) from stdin with (format csv)") as copy:
            for batch in parquet.iter_batches(batch_size=200_000):
                table = pa.Table.from_batches([batch])
                if drop_rows is not None and len(drop_rows):
                    keep = ~np.isin(table.column(SOURCE_ROW).to_numpy(), drop_rows)
                    table = table.filter(pa.array(keep))
                table = table.select(columns)
                buffer = pa.BufferOutputStream()
                pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
                copy.write(buffer.getvalue().to_pybytes())
                loaded += table.num_rows
    return loaded


def _filtered_parquet(parquet_path: Path, drop_rows: np.ndarray, target: Path) -> None:
    parquet = pq.ParquetFile(parquet_path)
    with _parquet_writer(target, parquet.schema_arrow) as writer:
        for batch in parquet.iter_batches(batch_size=200_000):
            keep = ~np.isin(batch.column(SOURCE_ROW).to_numpy(), drop_rows)
            writer.write_table(pa.Table.from_batches([batch]).filter(pa.array(keep)))


def is_infrastructure_error(error: BaseException) -> bool:
    """An error of the machinery around a load (the database, the state folder), not of the file."""
    if isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError)):
        return True
    return isinstance(error, OSError) and error.errno in INFRASTRUCTURE_ERRNOS


def spreadsheet_safe(value):
    """A cell an operator may open in a spreadsheet: text that would start a formula gets a leading
    quote (OWASP's advice for CSV injection), so it shows as delivered and never runs."""
    if isinstance(value, str) and value[:1] in FORMULA_PREFIXES:
        return "'" + value
    return value


def _write_rejected_rows(path: Path, header: list[str], log: ViolationLog, bad_rows: np.ndarray, target: Path) -> None:
    """The bad rows as delivered, with their row number and the rules they break."""
    rules_of_row: dict[int, list[str]] = {}
    for violation in log.violations:
        for row in violation.rows:
            rules_of_row.setdefault(row, []).append(f"{violation.rule}:{violation.column}")
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["_source_row", "_rules", *header])
        first = 1
        for table in iter_batches(path, header):
            wanted = bad_rows[(bad_rows >= first) & (bad_rows < first + table.num_rows)]
            if len(wanted):
                picked = table.take(pa.array(wanted - first)).to_pylist()
                for row_number, record in zip(wanted.tolist(), picked, strict=True):
                    writer.writerow(
                        [
                            row_number,
                            " ".join(rules_of_row.get(row_number, [])),
                            *[spreadsheet_safe(record[h]) for h in header],
                        ]
                    )
            first += table.num_rows


def _kept_unknown_columns(contract: Contract, mapping: HeaderMapping) -> list[str]:
    """Columns the contract does not know, kept in extra_columns (a custom-prefixed one is expected)."""
    unknown = [
        name
        for name in mapping.extras
        if not (contract.keep_extra_prefix and name.startswith(contract.keep_extra_prefix))
    ]
    return [f"columns outside the contract kept in {EXTRAS_COLUMN}: {unknown}"] if unknown else []


def _parquet_key(contract: Contract, file_key: str, checksum: str, loaded_at: datetime) -> str:
    return (
        f"raw/{contract.source}/{contract.entity}/load_date={loaded_at.date().isoformat()}/"
        f"{object_name(PurePosixPath(file_key).name)}.{checksum[:12]}.parquet"
    )


def _quarantine_whole_file(conn, store, contract, result: LoadResult, path: Path, loaded_at) -> LoadResult:
    conn.rollback()
    # The object under this key is now the rejected one: none of an earlier delivery's rows stay.
    raw_tables.forget_earlier_delivery(conn, contract, result.file_key)
    result.status, result.rows_loaded, result.rows_rejected = "quarantined", 0, result.rows_in
    keep_rejected_file(store, contract, result.file_key, path)
    result.report_key = write_report(store, contract, result, whole_file=True)
    raw_tables.record_in_ledger(conn, contract, result, None, loaded_at)
    conn.commit()
    return result


def _remove_abandoned_workdirs() -> None:
    """A load killed outright (SIGKILL, power loss) cannot remove its work folder: a later one does."""
    for folder in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            if time.time() - folder.stat().st_mtime > ABANDONED_AFTER_S:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:
            pass  # another load removed it first


def load_file(conn, store: ObjectStore, contract: Contract, stored: StoredObject) -> LoadResult:
    """Ingest one landing object. Never raises for bad content: the result says what happened."""
    file_key = stored.key
    _remove_abandoned_workdirs()
    with (
        raw_tables.file_lock(conn, file_key),
        store.local_copy(file_key) as path,
        TemporaryDirectory(prefix=WORKDIR_PREFIX) as tmp,
    ):
        checksum = sha256_of(path)
        result = LoadResult(file_key, "loaded", checksum=checksum, object_version=stored.version)
        earlier = raw_tables.ledger_entry(conn, file_key)
        if earlier and earlier["checksum"] == checksum:
            raw_tables.remember_version(conn, file_key, stored.version)  # touched, not changed
            result.status, result.previous_status = "unchanged", earlier["status"]
            result.rows_in, result.rows_loaded, result.rows_rejected, result.report_key = (
                earlier["rows_in"],
                earlier["rows_loaded"],
                earlier["rows_rejected"],
                earlier["report_key"],
            )
            return result
        loaded_at = datetime.now(timezone.utc)
        writes = _ObjectsOfThisLoad(store)
        try:
            try:
                return _load(
                    conn,
                    writes,
                    contract,
                    _readable(path, contract, file_key, Path(tmp)),
                    Path(tmp),
                    result,
                    loaded_at,
                    delivered=path,
                )
            except Exception as error:  # noqa: BLE001 - whatever a file holds, it must not stop the files after it
                if is_infrastructure_error(error):
                    raise  # not the file's fault: the caller stops and says so
                result.violations = [whole_file_violation(error)]
            writes.discard()
            return _quarantine_whole_file(conn, writes, contract, result, path, loaded_at)
        except BaseException:
            writes.discard()
            raise


class _ObjectsOfThisLoad:
    """The object store as one load writes to it, noting each object, so that a load whose
    transaction does not commit leaves nothing the ledger does not know of."""

    def __init__(self, store: ObjectStore):
        self.store, self.keys = store, []

    def put_file(self, local_path: Path, key: str) -> None:
        self.keys.append(key)
        self.store.put_file(local_path, key)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.keys.append(key)
        self.store.put_bytes(key, data)

    def uri(self, key: str) -> str:
        return self.store.uri(key)

    def discard(self) -> None:
        for key in self.keys:
            try:
                self.store.delete(key)
            except Exception:  # noqa: BLE001 - the store may be what failed; the ledger stays the truth
                pass
        self.keys = []


def _readable(path: Path, contract: Contract, file_key: str, workdir: Path) -> Path:
    """The file as the contract reads it: through the mapping profile its landing key names, if any."""
    profile = profile_for_key(file_key)
    if profile is None:
        return path
    if profile.contract != contract:
        raise FileProblem(
            "profile_mismatch", f"profile {profile.name} maps onto {profile.contract.name}, not {contract.name}"
        )
    return profile.apply(path, workdir)


def _load(
    conn, store, contract: Contract, path: Path, workdir: Path, result: LoadResult, loaded_at, delivered: Path
) -> LoadResult:
    """Load `path` (the delivered file, or what its profile made of it); quarantine `delivered`."""
    header = read_header(path)
    mapping = check_header(contract, header, sniff_delimiter(header))
    if mapping.violations:
        result.rows_in = count_rows(path, header)
        result.violations = mapping.violations
        return _quarantine_whole_file(conn, store, contract, result, delivered, loaded_at)
    file_id = raw_tables.new_file_id(conn)  # a sequence: kept whatever happens to the transaction
    raw_tables.begin_file_load(conn, contract, result.file_key, file_id)
    meta = {
        "_file_key": result.file_key,
        "_file_checksum": result.checksum,
        "_loaded_at": loaded_at,
        "_file_id": file_id,
    }
    streaming = None
    if (
        FileFormat.of(path).kind == "csv"
        and not mapping.extras
        and not contract.null_markers
        and not contract.normalise_allowed_case
    ):
        streaming = _RawCopy(conn, contract, path, [mapping.rename[h] for h in header])
        streaming.start()
    try:
        scan, typed = scan_file(contract, path, header, mapping, meta, workdir)
    finally:
        if streaming:
            streaming.join()
    result.rows_in = scan.rows
    result.notes = [*_kept_unknown_columns(contract, mapping), *scan.notes]

    bad_rows = scan.log.bad_rows()
    result.violations = scan.log.violations
    if whole_file_refused(contract, scan):
        return _quarantine_whole_file(conn, store, contract, result, delivered, loaded_at)

    parquet_path = scan.parquet_path
    # The delivered bytes went to COPY as they are: keep them only if the fast parser read every
    # value as COPY does; otherwise load the converted rows of the scan.
    if len(bad_rows) or streaming is None or streaming.error is not None or not typed:
        conn.rollback()
        raw_tables.begin_file_load(conn, contract, result.file_key, file_id)
        if len(bad_rows):
            parquet_path = workdir / "good.parquet"
            _filtered_parquet(scan.parquet_path, bad_rows, parquet_path)
        result.rows_loaded = _copy_parquet(conn, contract, parquet_path)
    else:
        result.rows_loaded = scan.rows

    result.parquet_key = _parquet_key(contract, result.file_key, result.checksum, loaded_at)
    store.put_file(parquet_path, result.parquet_key)
    if len(bad_rows):
        result.status, result.rows_rejected = "loaded_with_rejects", len(bad_rows)
        rejected = workdir / "rejected.csv"
        _write_rejected_rows(path, header, scan.log, bad_rows, rejected)
        keep_rejected_rows(store, contract, result.file_key, rejected)
    if len(bad_rows) or result.notes:
        result.report_key = write_report(store, contract, result, whole_file=False)
    raw_tables.record_in_ledger(conn, contract, result, result.parquet_key, loaded_at, file_id)
    conn.commit()
    return result
