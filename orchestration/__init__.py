"""Dagster orchestration, runtime settings and the `pulseops` command line."""
