"""Repeated keys across a whole file, in memory that does not grow with the file.

Each row's key is hashed to 64 bits and the (hash, row number) pairs are spilled to bucket files
on disk, split by the hash's top bits. At the end each bucket is read and sorted on its own, so
the largest array held is a bucket: 1/BUCKETS of the file's 16 bytes per row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ingestion.validation import RuleViolation

BUCKET_BITS = 6
BUCKETS = 1 << BUCKET_BITS
PAIR = np.dtype([("hash", np.uint64), ("row", np.int64)])


class KeyTracker:
    def __init__(self, key: tuple[str, ...], workdir: Path):
        self.key = list(key)
        self.paths = [workdir / f"keys.{bucket:02d}.bin" for bucket in range(BUCKETS)]
        # closed by __exit__: the tracker is itself the context manager
        self.handles = [open(path, "wb") for path in self.paths] if self.key else []  # noqa: SIM115

    def __enter__(self) -> KeyTracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Flush and close the bucket files; a scan abandoned half way must not leave handles that
        a later scan's files (same names) would receive stray bytes from."""
        for handle in self.handles:
            handle.close()

    def add(self, frame: pd.DataFrame, first_row: int) -> None:
        """Note the keys of `frame`, whose first row is file row `first_row`."""
        if not self.key:
            return
        pairs = np.empty(len(frame), PAIR)
        pairs["hash"] = pd.util.hash_pandas_object(frame[self.key], index=False).to_numpy()
        pairs["row"] = np.arange(first_row, first_row + len(frame))
        buckets = (pairs["hash"] >> np.uint64(64 - BUCKET_BITS)).astype(np.uint8)  # radix-sorted below
        order = np.argsort(buckets, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(buckets, minlength=BUCKETS))])
        for bucket, handle in enumerate(self.handles):
            pairs[order[bounds[bucket] : bounds[bucket + 1]]].tofile(handle)

    def duplicates(self) -> RuleViolation | None:
        """The rows whose key appears more than once in the file, or None."""
        if not self.key:
            return None
        self.close()
        rows = []
        for path in self.paths:
            pairs = np.fromfile(path, PAIR)
            path.unlink()
            hashes = np.sort(pairs["hash"])
            repeated = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
            if len(repeated):
                rows.append(pairs["row"][np.isin(pairs["hash"], repeated)])
        if not rows:
            return None
        return RuleViolation(
            "unique_key",
            ",".join(self.key),
            np.sort(np.concatenate(rows)).tolist(),
            detail=f"key {self.key} appears more than once",
        )
