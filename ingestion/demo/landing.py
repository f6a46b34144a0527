"""Write the demo entities into the landing zone as their sources deliver them, plus the ground truth."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingestion.contracts import BY_NAME, Contract
from ingestion.demo.generate import generate
from ingestion.demo.scales import SCALES, Scale
from ingestion.object_store import ObjectStore

TRUTH_KEY = "demo_truth/ground_truth.json"
GZIPPED = {"rmm/device_snapshots"}  # RMM tools export compressed files; shows the loader reads .csv.gz
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"  # FOCUS date/times: ISO 8601 in UTC


def _column(frame: pd.DataFrame, name: str, type_: str, iso_timestamps: bool) -> pa.Array:
    array = pa.Array.from_pandas(frame[name])
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if type_ == "date" and pa.types.is_timestamp(array.type):
        return array.cast(pa.date32())
    if type_ == "timestamp" and pa.types.is_timestamp(array.type):
        array = array.cast(pa.timestamp("s"))
        return pc.strftime(array, format=ISO_UTC) if iso_timestamps else array
    return array


def to_csv_table(frame: pd.DataFrame, contract: Contract) -> pa.Table:
    """Dates as YYYY-MM-DD, timestamps to the second (ISO 8601 UTC for FOCUS), in the frame's column order."""
    types = {c.source_name: c.type for c in contract.columns}
    iso = contract.source == "focus"
    return pa.table({name: _column(frame, name, types.get(name, "text"), iso) for name in frame.columns})


def write_csv(frame: pd.DataFrame, contract: Contract, path: Path) -> None:
    table = to_csv_table(frame, contract)
    if path.name.endswith(".gz"):
        with pa.CompressedOutputStream(str(path), "gzip") as sink:
            pacsv.write_csv(table, sink)
    else:
        pacsv.write_csv(table, str(path))


def write_to_landing(
    store: ObjectStore,
    scale: str | Scale,
    as_of: date,
    seed: int = 7,
    *,
    focus_version: str = "1.2",
    focus_custom_columns: bool = True,
) -> dict[str, int]:
    """Generate every entity at `scale` (a preset's name or a Scale), put one file per entity into
    the landing zone and the ground truth beside it; return the row count of each entity."""
    preset = SCALES[scale] if isinstance(scale, str) else scale
    frames, truth = generate(
        preset, as_of, seed, focus_version=focus_version, focus_custom_columns=focus_custom_columns
    )
    counts = {}
    with TemporaryDirectory(prefix="pulseops-demo-") as tmp:
        for name, frame in frames.items():
            source, entity = name.split("/")
            suffix = ".csv.gz" if name in GZIPPED else ".csv"
            path = Path(tmp) / f"{entity}_{as_of.isoformat()}{suffix}"
            write_csv(frame, BY_NAME[f"{source}__{entity}"], path)
            store.put_file(path, f"landing/{source}/{entity}/{path.name}")
            path.unlink()
            counts[name] = len(frame)
    store.put_bytes(TRUTH_KEY, json.dumps(truth, indent=2, default=str).encode())
    return counts
