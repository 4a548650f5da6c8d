"""Reconcile results as a table for people, JSON, or CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sseusage_fast.reconcile.match import Line
from sseusage_fast.reconcile.totals import COMPARED, SHOWN


def as_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def as_csv(lines: list[Line], by: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fields = COMPARED + SHOWN
    head = ["bucket_start", "model", "key", "service_tier", "verdict", "drift"]
    head += [f"ledger_{name}" for name in fields] + [f"provider_{name}" for name in fields]
    head += [f"diff_{name}" for name in COMPARED]
    head += ["ledger_cost_usd", "provider_cost_usd", "provider_billed_cost_usd"]
    head += ["ledger_requests", "provider_requests"]
    head += ["estimated_requests", "estimated_tokens", "estimated_share", "edge_requests"]
    writer.writerow(head)
    for line in lines:
        d = line.to_dict(by)
        led, prov = d["ledger"], d["provider"]
        row = [d["bucket_start"], d["model"], d.get("key"), d.get("service_tier")]
        row += [d["verdict"], d["drift"]]
        row += [led[name] for name in fields] + [prov[name] for name in fields]
        row += [d["diff"][name] for name in COMPARED]
        row += [led["cost_usd"], prov["cost_usd"], prov["billed_cost_usd"]]
        row += [led["requests"], prov["requests"]]
        row += [led["estimated_requests"], led["estimated_tokens"], d["estimated_share"]]
        row.append(led["edge_requests"])
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()


def _pct(share: str | None) -> str:
    return "n/a" if share is None else f"{float(share) * 100:.2f}%"


def _money(value: str | None) -> str:
    return "-" if value is None else f"${float(value):,.4f}"


def as_table(lines: list[Line], by: tuple[str, ...], header: str) -> str:
    out = [header]
    if not lines:
        out.append("no usage on either side in this window")
        return "\n".join(out) + "\n"
    titles = ["bucket_start", "model"]
    titles += [name for name in ("key", "service_tier") if name in by]
    titles += ["ledger tok", "provider tok", "diff", "drift", "ledger $", "provider $", "verdict"]
    rows = []
    for line in lines:
        d = line.to_dict(by)
        notes = []
        if line.ledger.estimated_requests:
            share = float(d["estimated_share"]) * 100
            notes.append(f"{line.ledger.estimated_requests} estimated ({share:.1f}% of tokens)")
            if line.estimates_may_explain:
                notes.append("within the estimates")
        if d["provider"]["billed_cost_usd"] is not None:
            notes.append(f"billed {_money(d['provider']['billed_cost_usd'])}")
        if line.ledger.edge_requests:
            notes.append(f"{line.ledger.edge_requests} at a bucket edge")
        cells = [d["bucket_start"], d["model"] or "-"]
        cells += [d.get(name) or "-" for name in ("key", "service_tier") if name in by]
        cells += [
            f"{line.ledger.billed():,}",
            f"{line.provider.billed():,}",
            f"{sum(line.diff.values()):+,}",
            _pct(d["drift"]),
            _money(d["ledger"]["cost_usd"]),
            _money(d["provider"]["cost_usd"]),
            d["verdict"] + (f" ({'; '.join(notes)})" if notes else ""),
        ]
        rows.append(cells)
    widths = [max(len(str(r[i])) for r in [titles, *rows]) for i in range(len(titles))]
    for cells in [titles, *rows]:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip())
    return "\n".join(out) + "\n"
