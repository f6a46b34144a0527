"""The Dagster Definitions as review sees them: asset keys, asset checks, jobs, schedules, sensors.

    make definitions-snapshot      # writes tests/definitions_snapshot.txt from orchestration.definitions

tests/test_definitions.py fails while the committed snapshot differs from what the code location
loads, so an added, removed or renamed asset, check, job, schedule or sensor shows in the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.txt")
UPDATE_COMMAND = "make definitions-snapshot"
HEADER = f"""\
# What orchestration.definitions loads: one line per asset, asset check, job, schedule and sensor.
# Written by `{UPDATE_COMMAND}`; tests/test_definitions.py fails when it differs from the code.
"""


def render(defs) -> str:
    """The snapshot text of `defs`: sorted sections, so concurrent additions merge line by line."""
    repository = defs.get_repository_def()
    graph = repository.asset_graph
    sections = {
        "assets": sorted(key.to_user_string() for key in graph.get_all_asset_keys()),
        "asset checks": sorted(f"{check.asset_key.to_user_string()} {check.name}" for check in graph.asset_check_keys),
        # Dagster's own hidden jobs (__ASSET_JOB...) are implementation, not part of the project's graph.
        "jobs": sorted(job.name for job in repository.get_all_jobs() if not job.name.startswith("__")),
        "schedules": sorted(f"{s.name} {s.cron_schedule} -> {s.job_name}" for s in repository.schedule_defs),
        "sensors": sorted(
            f"{s.name} -> {', '.join(sorted(t.job_name for t in s.targets))}" for s in repository.sensor_defs
        ),
    }
    lines = [HEADER.rstrip("\n")]
    for title, items in sections.items():
        lines += ["", f"[{title}]", *items]
    return "\n".join(lines) + "\n"


def main() -> int:
    from orchestration.definitions import defs

    SNAPSHOT.write_text(render(defs))
    print(f"wrote {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
