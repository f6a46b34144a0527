"""The contract model: what a source entity's files must look like.

A contract drives the validation suite, the typed read of a file and the raw table's DDL,
so a change to a source is one edit in its contract module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Warehouse type of each contract type.
PG_TYPES = {
    "text": "text",
    "integer": "bigint",
    # no scale cap: a cloud line item may cost 0.0000008, and rounding it would make totals drift
    "numeric": "numeric",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
}
EXTRAS_COLUMN = "extra_columns"  # JSON of the kept unknown columns (FOCUS x_ columns)


def snake_case(name: str) -> str:
    name = re.sub(r"[^0-9A-Za-z]+", "_", name)
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return name.strip("_").lower()


@dataclass(frozen=True)
class Column:
    source_name: str  # header as the source system exports it
    type: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    aliases: tuple[str, ...] = ()  # other headers meaning the same (older versions of a spec)

    @property
    def name(self) -> str:
        return snake_case(self.source_name)


@dataclass(frozen=True)
class Contract:
    source: str
    entity: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # warehouse (snake_case) column names
    description: str = ""
    expected_cadence_hours: int = 24
    # Facts may load their good rows and hold back the bad ones; a partial master list would mislead.
    reject_rows: bool = True
    # Unknown columns with this prefix are kept (as JSON in EXTRAS_COLUMN) instead of rejecting the file.
    keep_extra_prefix: str | None = None
    # Every unknown column is kept so (a spec that providers extend), and named in the load report.
    keep_unknown_columns: bool = False
    # Cell texts that mean "no value" besides an empty cell (FOCUS files write NULL).
    null_markers: tuple[str, ...] = ()
    # An allowed value in another case ('Usage-based') is stored as the spec writes it and reported.
    normalise_allowed_case: bool = False

    @property
    def name(self) -> str:
        return f"{self.source}__{self.entity}"

    @property
    def keeps_extra_columns(self) -> bool:
        return bool(self.keep_extra_prefix) or self.keep_unknown_columns

    @property
    def raw_table(self) -> str:
        return f"raw.{self.name}"

    @property
    def landing_prefix(self) -> str:
        return f"landing/{self.source}/{self.entity}/"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def header_map(self) -> dict[str, str]:
        """Every accepted source header (and its snake_case form) -> warehouse column name."""
        mapping = {}
        for column in self.columns:
            for header in (column.source_name, *column.aliases):
                mapping[header] = column.name
                mapping[snake_case(header)] = column.name
        return mapping


def col(
    source_name: str,
    type_: str,
    required: bool = True,
    allowed=None,
    minimum=None,
    maximum=None,
    aliases: tuple[str, ...] = (),
) -> Column:
    return Column(source_name, type_, required, tuple(allowed) if allowed else None, minimum, maximum, tuple(aliases))
