"""Source contracts: one module per source, one Contract per entity."""

from ingestion.contracts import focus, hr, m365, psa, rmm, saas
from ingestion.contracts.model import EXTRAS_COLUMN, PG_TYPES, Column, Contract, col, snake_case

CONTRACTS: tuple[Contract, ...] = (
    *psa.CONTRACTS,
    *rmm.CONTRACTS,  # MSP side
    *hr.CONTRACTS,
    *saas.CONTRACTS,
    *m365.CONTRACTS,
    *focus.CONTRACTS,  # IT side
)
BY_NAME = {c.name: c for c in CONTRACTS}


def contract_for_key(object_key: str) -> Contract | None:
    """The contract of a landing object key `landing/<source>/<entity>/<file>`, if any."""
    parts = object_key.split("/")
    if len(parts) < 4 or parts[0] != "landing":
        return None
    return BY_NAME.get(f"{parts[1]}__{parts[2]}")


__all__ = [
    "BY_NAME",
    "CONTRACTS",
    "EXTRAS_COLUMN",
    "PG_TYPES",
    "Column",
    "Contract",
    "col",
    "contract_for_key",
    "snake_case",
]
