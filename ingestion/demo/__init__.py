"""A seeded demo generator: realistic MSP and IT source files with planted signals.

`generate(scale, as_of, seed)` builds every source entity as a DataFrame plus the ground truth of
what was planted; `write_to_landing(store, scale_name, as_of, seed)` writes them into the landing
zone (one file per entity) with the truth at `demo_truth/ground_truth.json`.

Planted: clients that churn after falling CSAT, rising P1 tickets, SLA misses and late payments;
rough patches that pass; service gaps with ticket demand (upsell); devices supported but not
billed; seats nobody uses; overlapping applications; spikes, drops and level shifts in
departmental cloud spend; an application outage in daily usage.
"""

from ingestion.demo.generate import generate
from ingestion.demo.landing import TRUTH_KEY, write_to_landing
from ingestion.demo.scales import SCALES, Scale

__all__ = ["SCALES", "TRUTH_KEY", "Scale", "generate", "write_to_landing"]
