"""The HR directory: employees with departments, cost centres, hire and leave dates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion.demo.timeline import Timeline, ids

DEPARTMENTS = ("Engineering", "Sales", "Marketing", "Finance", "Operations", "Support", "IT")
DEPARTMENT_P = (0.25, 0.17, 0.1, 0.08, 0.14, 0.17, 0.09)
EMAIL_DOMAIN = "contoso.com"
FIRST_NAMES = (
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "John",
    "Hedy",
    "Tim",
    "Radia",
    "Vint",
    "Katherine",
    "Donald",
    "Anita",
    "Edsger",
    "Sophie",
    "Guido",
    "Joan",
    "Niklaus",
    "Karen",
    "Bjarne",
    "Shafi",
    "Leslie",
    "Mary",
    "James",
    "Jean",
    "Brian",
)
LAST_NAMES = (
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "McCarthy",
    "Lamarr",
    "Berners-Lee",
    "Perlman",
    "Cerf",
    "Johnson",
    "Knuth",
    "Borg",
    "Dijkstra",
    "Wilson",
    "van Rossum",
    "Clarke",
    "Wirth",
    "Jones",
    "Stroustrup",
    "Goldwasser",
    "Lamport",
    "Kenneth",
    "Gosling",
    "Sammet",
    "Kernighan",
)


@dataclass
class People:
    ids: np.ndarray
    upn: np.ndarray
    display_name: np.ndarray
    department: np.ndarray  # index into DEPARTMENTS
    hired: np.ndarray  # day numbers
    left: np.ndarray  # day number of leaving, NaN while employed

    @property
    def n(self) -> int:
        return len(self.ids)


def make_employees(rng, n: int, timeline: Timeline) -> tuple[pd.DataFrame, People]:
    end = timeline.end
    first = rng.choice(FIRST_NAMES, n)
    last = rng.choice(LAST_NAMES, n)
    display = np.char.add(np.char.add(first, " "), last)
    handle = pd.Series(np.char.lower(np.char.replace(np.char.add(np.char.add(first, "."), last), " ", "")))
    repeat = handle.groupby(handle).cumcount().to_numpy()
    handle = np.where(repeat > 0, handle + (repeat + 1).astype(str), handle)
    upn = np.char.add(handle.astype(str), "@" + EMAIL_DOMAIN)

    department = rng.choice(len(DEPARTMENTS), n, p=DEPARTMENT_P)
    tenure = np.clip(rng.exponential(3 * 365, n), 1, 12 * 365)
    tenure = np.where(rng.random(n) < 0.02, rng.uniform(1, 20, n), tenure)  # this month's joiners
    hired = np.floor(end - tenure)
    leaves = (rng.random(n) < 0.1) & (tenure > 60)
    left = np.where(leaves, np.floor(end - rng.random(n) * np.minimum(tenure - 30, 600)), np.nan)
    cost_center = np.char.add("CC-", (1000 + 100 * department + 10 * rng.integers(1, 3, n)).astype(str))
    frame = pd.DataFrame(
        {
            "employee_id": ids("E", np.arange(1, n + 1), 5),
            "user_principal_name": upn,
            "display_name": display,
            "department": np.array(DEPARTMENTS)[department],
            "cost_center": cost_center,
            "hired_date": timeline.dates(hired),
            "terminated_date": timeline.dates(left),
        }
    )
    people = People(frame["employee_id"].to_numpy(), upn, display, department, hired, left)
    return frame, people
