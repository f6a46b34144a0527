"""What every PulseOps process needs, and nothing else: settings, secrets, the warehouse's URL (an
embedded PostgreSQL when none is given) and the warehouse logins Superset uses.

The bottom layer: it imports no other PulseOps package, and `orchestration`, `superset_config`, the
command line and the container entrypoint all import it (tests/test_layering.py holds the order).
"""
