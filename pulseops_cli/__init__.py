"""A local PulseOps: the `pulseops` command line and the services it starts and stops (the Dagster
UI and daemon, Superset), plus the `make eval` and `make docs` commands.

The top layer: it drives the Dagster code location (`orchestration`) and Superset
(`superset_config`) and nothing imports it.
"""
