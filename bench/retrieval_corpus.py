"""How ``bench/data/retrieval/corpus.json`` was made: 48 problem classes, 5 resolved sessions each.

Each class is one kind of problem with one fix (a Zebra label printer skipping labels, an Outlook
password loop after MFA, ...). Its sessions vary in wording, asset, customer, environment and
steps; customers and environments are drawn from pools shared by every domain, so they carry no
signal. Classes come in near-miss groups (several printer brands, two VPN clients, HP printers
next to HP laptops). The labelled queries (``queries.json``) are written by hand, not drawn from
these templates. Rewrite both files: ``.venv/bin/python -m bench.retrieval_corpus``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.retrieval_classes import CLASSES
from bench.retrieval_queries import queries

DATA = Path(__file__).parent / "data" / "retrieval"
OUT = DATA / "corpus.json"
QUERIES = DATA / "queries.json"
PER_CLASS = 5
CUSTOMERS = [
    "Acme Dental",
    "Northwind Legal",
    "Harbor Bakery",
    "Blue Fern Clinic",
    "Contoso Logistics",
    "Maple Street Books",
    "Riverside Vets",
    "Oak & Pine Architects",
    "Summit Fitness",
    "Lakeside Hotel",
    "Greenleaf Grocers",
    "Atlas Accounting",
]
OS_VALUES = ["Windows 11 23H2", "Windows 11 24H2", "Windows 10 22H2", "macOS 14 Sonoma"]
RESOLVERS = ["eng-erin", "eng-sam", "admin-ada", "eng-lee", "tech-tom"]


@dataclass(frozen=True)
class Spec:
    key: str
    domain: str
    titles: tuple[str, ...]
    problems: tuple[str, ...]
    assets: tuple[str, ...]
    steps: tuple[tuple[str, str], ...]
    resolutions: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


def build(specs: list[Spec], seed: int = 19) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    sessions: list[dict[str, Any]] = []
    for spec in specs:
        for i in range(PER_CLASS):
            steps = list(spec.steps)
            rng.shuffle(steps)
            chosen = steps[: 1 + (i % len(spec.steps))]
            env = {"os": rng.choice(OS_VALUES)} if spec.domain != "pos" else {}
            env.update(dict(spec.env[i % len(spec.env) :][:1]) if spec.env else {})
            sessions.append(
                {
                    "id": f"{spec.key}-{i + 1}",
                    "class": spec.key,
                    "domain": spec.domain,
                    "title": spec.titles[i % len(spec.titles)],
                    "problem": spec.problems[(i * 2 + 1) % len(spec.problems)],
                    "customer": rng.choice(CUSTOMERS),
                    "asset": spec.assets[i % len(spec.assets)],
                    "environment": env,
                    "steps": [
                        item
                        for action, result in chosen
                        for item in (["action", action], ["result", result])
                    ],
                    "resolution": spec.resolutions[i % len(spec.resolutions)],
                    "resolved_by": rng.choice(RESOLVERS),
                    "resolved_at": (start + timedelta(hours=rng.randrange(24 * 60))).isoformat(),
                }
            )
    return sessions


def main() -> None:
    specs = [Spec(**c) for c in CLASSES]
    keys = [s.key for s in specs]
    assert len(keys) == len(set(keys)), "duplicate class key"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(specs), indent=1, ensure_ascii=False) + "\n")
    labelled = queries()
    unknown = {c for q in labelled for c in q["relevant"]} - set(keys)
    assert not unknown, f"queries name unknown classes: {unknown}"
    QUERIES.write_text(json.dumps(labelled, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT} ({len(specs) * PER_CLASS} sessions, {len(specs)} classes)")
    print(f"wrote {QUERIES} ({len(labelled)} queries)")


if __name__ == "__main__":
    main()
