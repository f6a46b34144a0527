"""Mapping profiles: how an export whose columns differ from a contract maps onto it, as YAML.

A profile names the contract it feeds and, for each contract column, the export's column (or a
constant), the values to translate ("1 - Critical" -> P1), the texts that mean "no value", and for
exports that log every change of a record, the rule that keeps each record's latest row. Dates are
read as the exporting instance wrote them: day-first or month-first is detected per column when the
values make it unambiguous, or set in the profile (`date_order`).

Profiles ship in ingestion/profiles/; users add their own in the folder PULSEOPS_PROFILES_DIR names
(default `profiles/` in the state folder), without touching code. A file is read through a profile when it
lands under `landing/<source>/<entity>/profile=<name>/` (`pulseops ingest --profile <name>` puts it
there), so the sensor, the Lambda and the CLI apply the same one.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
import yaml

from ingestion.contracts import BY_NAME, Contract
from ingestion.file_reading import FileProblem

SHIPPED = Path(__file__).resolve().parent / "profiles"
PROFILE_IN_KEY = re.compile(r"/profile=([A-Za-z0-9_-]+)/")
# Date layouts an export may use, by the order of day and month; ISO first (it is never ambiguous).
DATE_LAYOUTS = {
    "iso": ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
    "day_first": ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
                  "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y"],
    "month_first": ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p",
                    "%m-%d-%Y %H:%M:%S", "%m/%d/%Y", "%m-%d-%Y"],
}


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

    @classmethod
    def from_yaml(cls, path: Path) -> Profile:
        spec = yaml.safe_load(path.read_text())
        latest = spec.get("latest")
        return cls(name=path.stem, contract=BY_NAME[spec["contract"]], description=spec.get("description", ""),
                   columns=spec.get("columns", {}), constants={k: str(v) for k, v in spec.get("constants", {}).items()},
                   values={k: {str(a): str(b) for a, b in v.items()} for k, v in spec.get("values", {}).items()},
                   null_markers=tuple(spec.get("null_markers", ())), date_order=spec.get("date_order"),
                   latest=Latest(**latest) if latest else None)

    def apply(self, path: Path, target: Path) -> Path:
        """The delivered file as a CSV with the contract's headers; a file the profile does not fit
        is a FileProblem naming the profile, the missing columns or the first bad values."""
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise FileProblem("profile_mismatch", f"profile {self.name}: cannot read the file as CSV ({error})") from error
        frame.columns = [c.strip() for c in frame.columns]
        needed = {*self.columns.values(), *((self.latest.key, self.latest.order_by) if self.latest else ())}
        missing = sorted(needed - set(frame.columns))
        if missing:
            raise FileProblem("profile_mismatch", f"profile {self.name}: missing columns {missing}, "
                                                  f"the file has {list(frame.columns)[:30]}")
        frame = frame.replace({marker: "" for marker in self.null_markers})
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
                    values = self._dates(values, self.columns[column.name]).map(
                        lambda m: "" if pd.isna(m) else m.isoformat(sep=" "))
                out[column.source_name] = values
        result = target / "profiled.csv"
        out.to_csv(result, index=False)
        return result

    def _dates(self, values: pd.Series, column: str) -> pd.Series:
        """Each text as a moment, in the one layout that reads every value of the column."""
        present = [v for v in values.unique() if v]
        orders = [self.date_order] if self.date_order else list(DATE_LAYOUTS)
        fitting = {order: layout for order in orders for layout in DATE_LAYOUTS[order] if _all_parse(present, layout)}
        if not fitting:
            raise FileProblem("profile_mismatch", f"profile {self.name}: column {column!r} holds dates in no known "
                                                  f"layout, e.g. {present[:3]}")
        if "iso" not in fitting and len(fitting) > 1:
            raise FileProblem("profile_mismatch", f"profile {self.name}: column {column!r} reads both day-first "
                                                  "and month-first; set date_order in the profile")
        layout = fitting.get("iso") or next(iter(fitting.values()))
        return values.map(lambda v: datetime.strptime(v, layout) if v else pd.NaT)


def _all_parse(values: list[str], layout: str) -> bool:
    try:
        for value in values:
            datetime.strptime(value, layout)
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
