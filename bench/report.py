"""Benchmark figures: bench/results.json (machine-readable) and BENCHMARKS.md (for people)."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"
MARKDOWN = BENCH_DIR.parent / "BENCHMARKS.md"


def write_results(section: str, figures: dict, notes: str = "") -> None:
    """Replace one section's figures, keep the others, and re-render BENCHMARKS.md."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[section] = {
        "figures": figures,
        "notes": notes,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Benchmarks",
        "",
        "Measured by `make bench`; every speed figure is a ratio against a baseline measured in the same run.",
        "",
    ]
    for name, section_results in results.items():
        lines += [
            f"## {name}",
            "",
            f"{section_results['notes']}",
            "",
            f"Measured {section_results['measured_at']} on {section_results['machine']}.",
            "",
            "| figure | value |",
            "|---|---|",
        ]
        lines += [f"| `{key}` | {value} |" for key, value in section_results["figures"].items()]
        lines.append("")
    MARKDOWN.write_text("\n".join(lines))
