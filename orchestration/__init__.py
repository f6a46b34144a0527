"""The Dagster code location: `definitions.py` merges the per-concept modules of `defs/`."""
