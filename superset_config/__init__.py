"""Superset for PulseOps: its settings, launcher, bootstrap and the dashboards kept as code."""
