"""Read delivered files (CSV, gzip CSV, Parquet, JSON lines) in bounded batches.

Memory stays flat as files grow: nothing holds more than one batch. Two ways to read:
typed (the C++ parser converts to the contract's types: fast, but stops at the first bad value)
and as text (every cell a string: the careful path that finds every bad cell).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# Arrow's CSV and JSON readers parse blocks ahead of the consumer: small blocks keep that readahead
# (and so memory) small whatever the file's size; blocks are gathered into batches of BATCH_ROWS so
# each validation pass still sees many rows.
BLOCK_BYTES = 2 << 20
BATCH_ROWS = 250_000
TRUE_WORDS = ["true", "True", "TRUE", "t", "1", "yes", "Yes", "YES", "y"]
FALSE_WORDS = ["false", "False", "FALSE", "f", "0", "no", "No", "NO", "n"]
CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")
JSON_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".json")


class FileProblem(Exception):
    """The file as a whole cannot be read: names the rule it breaks."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule, self.detail = rule, detail


@dataclass(frozen=True)
class FileFormat:
    kind: str  # csv | parquet | json
    gzip: bool

    @classmethod
    def of(cls, path: Path) -> FileFormat:
        name = path.name.lower()
        if name.endswith(".parquet"):
            return cls("parquet", False)
        if name.endswith(JSON_SUFFIXES):
            return cls("json", name.endswith(".gz"))
        if name.endswith(CSV_SUFFIXES):
            return cls("csv", name.endswith(".gz"))
        raise FileProblem("unsupported_format", f"{path.name}: expected .csv, .csv.gz, .parquet or .jsonl")


def open_text(path: Path, fmt: FileFormat):
    return gzip.open(path, "rt", encoding="utf-8", newline="") if fmt.gzip else open(path, encoding="utf-8", newline="")


def read_header(path: Path) -> list[str]:
    """The column names as delivered (a UTF-8 byte-order mark is dropped)."""
    fmt = FileFormat.of(path)
    try:
        if fmt.kind == "parquet":
            return pq.ParquetFile(path).schema_arrow.names
        if fmt.kind == "json":
            keys = {}
            for _, record in _json_records(path, fmt):
                keys.update(dict.fromkeys(record))
            if not keys:
                raise FileProblem("empty_file", "the file has no records")
            return list(keys)
        with open_text(path, fmt) as handle:
            # The header line whatever its length (csv reads on until the line ends).
            header = next(csv.reader(handle), [])
            sample = handle.read(1)
    except FileProblem:
        raise
    except UnicodeDecodeError as error:
        raise FileProblem("encoding", f"not UTF-8 text (byte {error.start} of the header block)") from error
    except (EOFError, OSError, zlib.error) as error:
        raise FileProblem("unreadable", f"cannot read the file: {error}") from error
    except pa.ArrowInvalid as error:
        raise FileProblem("unreadable", str(error)) from error
    if not any(name.strip() for name in header) and not sample.strip():
        raise FileProblem("empty_file", "the file is empty")
    if header:
        header[0] = header[0].lstrip("\ufeff")
    return [name.strip() for name in header]


def sniff_delimiter(header: list[str]) -> str | None:
    """When a CSV parses as one column, the delimiter it probably used instead of a comma."""
    if len(header) != 1:
        return None
    return next((d for d in (";", "\t", "|") if d in header[0]), None)


def _csv_reader(source, header: list[str], column_types: dict[str, pa.DataType], null_markers=()):
    """Every column as text unless `column_types` names a type for it."""
    return pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={**{name: pa.string() for name in header}, **column_types},
            true_values=TRUE_WORDS,
            false_values=FALSE_WORDS,
            timestamp_parsers=[pacsv.ISO8601, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            null_values=["", *null_markers],
        ),
    )


def _as_text(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    nested = [f.name for f in table.schema if pa.types.is_nested(f.type)]
    if nested:
        raise FileProblem("nested_value", f"columns {nested} hold lists or structures where single values belong")
    return pa.table({name: table.column(name).cast(pa.string()) for name in table.column_names})


def iter_batches(
    path: Path,
    header: list[str],
    column_types: dict[str, pa.DataType] | None = None,
    null_markers: tuple[str, ...] = (),
) -> Iterator[pa.Table]:
    """Batches of the file. With `column_types` (by delivered header) cells are parsed to those types
    and a bad value raises pa.ArrowInvalid; without, every column is text. A cell that is empty or
    one of `null_markers` is null."""
    fmt = FileFormat.of(path)
    try:
        if fmt.kind == "csv":
            yield from _gathered(_csv_reader(path, header, column_types or {}, null_markers))
        elif fmt.kind == "parquet":
            for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
                yield _typed_or_text(_as_text(batch), column_types, null_markers)
        else:
            for table in _json_tables(path, fmt, header):
                yield _typed_or_text(table, column_types, null_markers)
    except pa.ArrowInvalid as error:
        message = str(error)
        if "UTF8" in message or "UTF-8" in message:
            raise FileProblem("encoding", "not UTF-8 text: " + message) from error
        if column_types and "conversion error" in message:
            raise  # a bad value: the caller re-reads the file as text to find every bad cell
        raise FileProblem("malformed", message) from error
    except (EOFError, OSError, zlib.error) as error:
        raise FileProblem("unreadable", f"cannot read the whole file (truncated or corrupt?): {error}") from error


def _json_records(path: Path, fmt: FileFormat) -> Iterator[tuple[int, dict]]:
    """(line number, record) of each JSON line. Numbers stay the text they were sent as (exact), a
    record that is not one flat JSON object is a FileProblem naming its line."""
    with open_text(path, fmt) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line, parse_float=str, parse_int=str, parse_constant=str)
            except json.JSONDecodeError as error:
                raise FileProblem("malformed", f"line {number}: not a JSON object ({error.msg})") from error
            if not isinstance(record, dict):
                raise FileProblem("malformed", f"line {number}: a JSON {type(record).__name__}, not an object")
            for key, value in record.items():
                if isinstance(value, (dict, list)):
                    raise FileProblem(
                        "nested_value", f"line {number}, key {key!r}: an object or list where a single value belongs"
                    )
            yield number, record


def _json_text(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value  # None, or the text of a string or number


def _json_tables(path: Path, fmt: FileFormat, header: list[str]) -> Iterator[pa.Table]:
    """JSON lines as text tables with every key of the file (a key first seen late is kept too)."""
    columns: dict[str, list] = {key: [] for key in header}
    for _, record in _json_records(path, fmt):
        for key in header:
            columns[key].append(_json_text(record.get(key)))
        if len(columns[header[0]]) >= BATCH_ROWS:
            yield pa.table({key: pa.array(values, pa.string()) for key, values in columns.items()})
            columns = {key: [] for key in header}
    if columns[header[0]]:
        yield pa.table({key: pa.array(values, pa.string()) for key, values in columns.items()})


def _gathered(reader) -> Iterator[pa.Table]:
    """The reader's small record batches, gathered into tables of about BATCH_ROWS rows."""
    pending, rows = [], 0
    for batch in reader:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= BATCH_ROWS:
            yield pa.Table.from_batches(pending)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _typed_or_text(table: pa.Table, column_types: dict[str, pa.DataType] | None, null_markers=()) -> pa.Table:
    """Parquet and JSON cells arrive as text here; parse them like CSV cells so every format
    follows one set of rules."""
    if not column_types and not null_markers:
        return table
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    buffer.seek(0)
    return _csv_reader(buffer, table.column_names, column_types or {}, null_markers).read_all()


def count_rows(path: Path, header: list[str]) -> int:
    """Data rows of a readable file (0 when it cannot be read to the end)."""
    try:
        return sum(table.num_rows for table in iter_batches(path, header))
    except FileProblem:
        return 0
