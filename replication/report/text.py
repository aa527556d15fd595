"""Short text helpers shared by the chapters' prose and tables: one ``span``, one label."""
from __future__ import annotations


def _span(first: str | None, last: str | None) -> str:
    if not first:
        return "—"
    a, b = first[:10], (last or first)[:10]
    return a if a == b else f"{a} to {b}"
