"""Superset for PulseOps: its settings, bootstrap, operator commands and the dashboards kept as code."""
