"""Size presets of the demo data."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    clients: int  # MSP clients
    months: int  # history of the MSP side and of the cloud cost files
    employees: int  # people in the IT side's HR directory (leavers included)
    usage_days: int  # days of per-user SaaS activity
    resources_per_service: int = 1  # cloud resources behind each department's use of a service


SCALES = {
    "XS": Scale(clients=24, months=8, employees=40, usage_days=21),
    "S": Scale(clients=80, months=15, employees=200, usage_days=60),
    "M": Scale(clients=2500, months=24, employees=10000, usage_days=240, resources_per_service=24),
}
