"""Mapping profiles: how an export whose columns differ from a contract maps onto it, as YAML.

A profile names the contract it feeds and, for each contract column, the export's column (or a
constant), the values to translate ("1 - Critical" -> P1), the texts that mean "no value", and for
exports that log every change of a record, the rule that keeps each record's latest row. Dates are
read as the exporting instance wrote them: day-first or month-first is detected per column when the
values make it unambiguous, or set in the profile (`date_order`). An export is a CSV file or a JSON
document (or JSON lines) of records, nested fields named `parent/child`.

Profiles ship in ingestion/profiles/; users add their own in the folder PULSEOPS_PROFILES_DIR names
(default `profiles/` in the state folder), without touching code. A file is read through a profile when it
lands under `landing/<source>/<entity>/profile=<name>/` (`pulseops ingest --profile <name>` puts it
there), so the sensor, the Lambda and the CLI apply the same one.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml

from ingestion.contracts import BY_NAME, Contract
from ingestion.file_reading import (
    FALSE_WORDS,
    TRUE_WORDS,
    FileFormat,
    FileProblem,
    open_text,
)

SHIPPED = Path(__file__).resolve().parent / "profiles"
PROFILE_IN_KEY = re.compile(r"/profile=([A-Za-z0-9_-]+)/")
# Date layouts an export may use, by the order of day and month. ISO 8601 (with fractions of a second,
# `Z` or an offset) is tried first and never ambiguous; Jira writes "05/Dec/26 9:14 AM".
DATE_LAYOUTS = {
    "iso": ["iso"],
    "day_first": [
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%d-%m-%Y %H:%M:%S",
        "%d-%m-%Y %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
        "%d/%m/%Y %I:%M:%S %p",
        "%d/%m/%Y %I:%M %p",
        "%d/%m/%Y",
        "%d.%m.%Y",
        "%d-%m-%Y",
        "%d/%b/%y %I:%M %p",
        "%d/%b/%Y %I:%M %p",
        "%d/%b/%y",
    ],
    "month_first": [
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %I:%M %p",
        "%m-%d-%Y %H:%M:%S",
        "%m/%d/%Y",
        "%m-%d-%Y",
    ],
}


class _ProfileLoader(yaml.SafeLoader):
    """YAML as written: only true and false are booleans (YAML 1.1 also reads Yes, No, On and Off as
    booleans, and a value map {Yes: true} would then never match an export's "Yes")."""


_ProfileLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ProfileLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class Latest:
    """Keep one row per `key`: the one with the latest `order_by` (an export of every change)."""

    key: str
    order_by: str


@dataclass(frozen=True)
class Profile:
    name: str
    contract: Contract
    description: str
    columns: dict[str, str]  # contract column -> export column
    constants: dict[str, str] = field(default_factory=dict)  # contract column -> value
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # contract column -> {export value: value}
    null_markers: tuple[str, ...] = ()
    date_order: str | None = None  # day_first | month_first, where the values cannot tell
    latest: Latest | None = None
    # JSON exports: the key whose list holds the records (Graph's `value`, Autotask's `items`), and how a
    # list inside a record is written as one text (Microsoft's CSV reports join products with `+`).
    records: str | None = None
    list_separator: str = ", "

    @classmethod
    def from_yaml(cls, path: Path) -> Profile:
        spec = yaml.load(path.read_text(), Loader=_ProfileLoader)
        latest = spec.get("latest")
        # YAML reads true/false and numbers as such; exports hold them as text
        return cls(
            name=path.stem,
            contract=BY_NAME[spec["contract"]],
            description=spec.get("description", ""),
            columns=spec.get("columns", {}),
            constants={k: _text(v) for k, v in spec.get("constants", {}).items()},
            values={k: {_text(a): _text(b) for a, b in v.items()} for k, v in spec.get("values", {}).items()},
            null_markers=tuple(spec.get("null_markers", ())),
            date_order=spec.get("date_order"),
            latest=Latest(**latest) if latest else None,
            records=spec.get("records"),
            list_separator=spec.get("list_separator", ", "),
        )

    def apply(self, path: Path, target: Path) -> Path:
        """The delivered file as a CSV with the contract's headers; a file the profile does not fit
        is a FileProblem naming the profile, the missing columns or the first bad values."""
        frame = self._read(path)
        frame.columns = [c.strip() for c in frame.columns]
        needed = {*self.columns.values(), *((self.latest.key, self.latest.order_by) if self.latest else ())}
        missing = sorted(needed - set(frame.columns))
        frame = frame.replace({marker: "" for marker in self.null_markers})
        if missing:
            detail = f"missing columns {missing}, the file has {list(frame.columns)[:30]}"
            unmapped = "; ".join(f"{column} {values}" for column, values in self._unmapped_values(frame).items())
            raise FileProblem(
                "profile_mismatch",
                f"profile {self.name}: {detail}" + (f"; first values it does not map: {unmapped}" if unmapped else ""),
            )
        if self.latest:
            order = self._dates(frame[self.latest.order_by], self.latest.order_by)
            frame = frame.assign(_order=order).sort_values("_order", kind="stable")
            frame = frame.drop_duplicates(self.latest.key, keep="last").drop(columns="_order")
        out = pd.DataFrame(index=frame.index)
        for column in self.contract.columns:
            if column.name in self.constants:
                out[column.source_name] = self.constants[column.name]
            elif column.name in self.columns:
                values = frame[self.columns[column.name]].str.strip()
                if column.name in self.values:
                    values = values.map(lambda v, table=self.values[column.name]: table.get(v, v))
                if column.type in ("date", "timestamp"):
                    moments = self._dates(values, self.columns[column.name])
                    values = moments.map(
                        lambda m, day=column.type == "date": (
                            "" if pd.isna(m) else (m.date().isoformat() if day else m.isoformat(sep=" "))
                        )
                    )
                out[column.source_name] = values
        result = target / "profiled.csv"
        out.to_csv(result, index=False)
        return result

    def _read(self, path: Path) -> pd.DataFrame:
        """Every cell as text: a CSV as it is, a JSON export's records with nested fields as `a/b`."""
        try:
            if FileFormat.of(path).kind == "json":
                return pd.DataFrame(
                    [_flat(r, self.list_separator) for r in self._json_records(path)], dtype=str
                ).fillna("")
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise FileProblem("profile_mismatch", f"profile {self.name}: cannot read the file ({error})") from error

    def _json_records(self, path: Path) -> list[dict]:
        """The records of one JSON document (a list, or the list under `records`) or of JSON lines."""
        with open_text(path, FileFormat.of(path)) as handle:
            text = handle.read()
        try:
            document = json.loads(text, parse_float=str, parse_int=str)
        except json.JSONDecodeError:
            document = [json.loads(line, parse_float=str, parse_int=str) for line in text.splitlines() if line.strip()]
        if isinstance(document, dict) and not self.records:
            document = [document]  # JSON lines holding one record
        elif isinstance(document, dict):
            if not isinstance(document.get(self.records), list):
                raise ValueError(
                    f"no list of records under {self.records!r} (the document's keys: {list(document)[:10]})"
                )
            document = document[self.records]
        if not all(isinstance(record, dict) for record in document):
            raise ValueError("records that are not JSON objects")
        return document

    def _unmapped_values(self, frame: pd.DataFrame) -> dict[str, list[str]]:
        """The first values of each translated column present that the profile cannot turn into one the
        contract takes (its value map's keys, an allowed value, or a true/false word)."""
        found = {}
        for name, table in self.values.items():
            source = self.columns.get(name)
            if source not in frame.columns:
                continue
            column = self.contract.column(name)
            valid = {
                *table,
                *(column.allowed or ()),
                *((*TRUE_WORDS, *FALSE_WORDS) if column.type == "boolean" else ()),
            }
            bad = [v for v in frame[source].str.strip().unique() if v and v not in valid]
            if bad:
                found[source] = bad[:3]
        return found

    def _dates(self, values: pd.Series, column: str) -> pd.Series:
        """Each text as a moment (an instant with an offset in UTC), in the one layout that reads every
        value of the column."""
        present = [v for v in values.unique() if v]
        if not present:
            return values.map(lambda v: pd.NaT)
        orders = ["iso", self.date_order] if self.date_order else list(DATE_LAYOUTS)
        fitting = {order: layout for order in orders for layout in DATE_LAYOUTS[order] if _all_parse(present, layout)}
        if not fitting:
            raise FileProblem(
                "profile_mismatch",
                f"profile {self.name}: column {column!r} holds dates in no known layout, e.g. {present[:3]}",
            )
        if "iso" not in fitting and len(fitting) > 1:
            raise FileProblem(
                "profile_mismatch",
                f"profile {self.name}: column {column!r} reads both day-first "
                "and month-first; set date_order in the profile",
            )
        layout = fitting.get("iso") or next(iter(fitting.values()))
        return values.map(lambda v: _parse(v, layout) if v else pd.NaT)


def _text(value) -> str:
    """A YAML scalar as an export writes it (YAML's true is the text 'true')."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _flat(record: dict, separator: str, prefix: str = "") -> dict[str, str]:
    """A JSON record as one level of text cells: nested objects as `parent/child` (ConnectWise's own
    notation for a field of a reference), lists joined, true/false as words, null as empty."""
    cells = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            cells.update(_flat(value, separator, f"{name}/"))
        elif isinstance(value, list):
            cells[name] = separator.join(_cell(v) for v in value)
        else:
            cells[name] = _cell(value)
    return cells


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _parse(value: str, layout: str) -> datetime:
    if layout != "iso":
        return datetime.strptime(value, layout)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:  # stored as the instant in UTC, as the loader stores offsets
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _all_parse(values: list[str], layout: str) -> bool:
    try:
        for value in values:
            if layout == "iso" and not re.match(r"\d{4}-\d{2}-\d{2}", value):
                return False
            _parse(value, layout)
    except ValueError:
        return False
    return bool(values)


def profiles_dir() -> Path:
    state = os.environ.get("PULSEOPS_HOME") or Path(__file__).resolve().parents[1] / "state"
    return Path(os.environ.get("PULSEOPS_PROFILES_DIR") or Path(state) / "profiles")


def load_profile(name: str) -> Profile:
    """A user's profile of that name, else the shipped one."""
    for folder in (profiles_dir(), SHIPPED):
        path = folder / f"{name}.yaml"
        if path.exists():
            return Profile.from_yaml(path)
    known = sorted(p.stem for folder in (profiles_dir(), SHIPPED) if folder.exists() for p in folder.glob("*.yaml"))
    raise FileProblem("unknown_profile", f"no mapping profile {name!r} (known: {known})")


def profile_for_key(key: str) -> Profile | None:
    """The profile a landing key names (`.../profile=<name>/...`), if any."""
    found = PROFILE_IN_KEY.search(key)
    return load_profile(found.group(1)) if found else None
