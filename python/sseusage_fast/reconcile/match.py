"""Ledger lines beside provider lines, and a verdict for each.

A line's drift is the sum over the compared token buckets of |ledger - provider|, over the
provider's billed tokens: a share, so one tolerance fits small and large lines. Within
`tolerance` percent the line is `within_tolerance`; beyond it the net difference says
`under_metered` (the ledger has fewer tokens than the provider billed) or `over_metered`.
A line one side lacks (or holds no tokens on) is `missing_in_ledger` / `missing_at_provider`.
A share alone would flag tiny lines over a few tokens (5 of 200 is 2.5%): a line whose summed
difference is at most `min_tokens` is `within_tolerance`, whatever its share or side.

Ledger rows that hold estimates count at their estimated values; the verdict is not relaxed
for them (an estimate that misses is exactly what reconciling is for), but the line says how
much of it is estimated and whether the estimated tokens alone could cover the difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sseusage_fast.reconcile.buckets import rfc3339
from sseusage_fast.reconcile.totals import COMPARED, GroupKey, Side, decimal_text

WITHIN = "within_tolerance"
VERDICTS = (WITHIN, "under_metered", "over_metered", "missing_in_ledger", "missing_at_provider")
SHARE_PLACES = Decimal("0.000001")
# The default token floor: differences this small are rounding, not a metering problem.
DEFAULT_MIN_TOKENS = 10


@dataclass(slots=True)
class Line:
    group: GroupKey
    ledger: Side
    provider: Side
    diff: dict[str, int]
    drift: Decimal | None  # None: the provider billed nothing on this line
    verdict: str
    estimates_may_explain: bool

    @property
    def ok(self) -> bool:
        return self.verdict == WITHIN

    def estimated_share(self) -> Decimal:
        billed = self.ledger.billed()
        if not billed:
            return Decimal(0)
        return (Decimal(self.ledger.estimated_tokens) / billed).quantize(SHARE_PLACES)

    def to_dict(self, by: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {"bucket_start": rfc3339(self.group.bucket_start)}
        out["model"] = self.group.model
        if "key" in by:
            out["key"] = self.group.key
        if "service_tier" in by:
            out["service_tier"] = self.group.service_tier
        out["ledger"] = self.ledger.to_dict(ledger=True)
        out["provider"] = self.provider.to_dict(ledger=False)
        out["diff"] = dict(self.diff)
        cost_diff = None
        if self.ledger.cost_usd is not None and self.provider.cost_usd is not None:
            cost_diff = decimal_text(self.ledger.cost_usd - self.provider.cost_usd)
        out["diff"]["cost_usd"] = cost_diff
        billed = self.provider.billed_cost_usd
        if billed is not None:
            out["diff"]["billed_cost_usd"] = decimal_text((self.ledger.cost_usd or 0) - billed)
        out["drift"] = None if self.drift is None else str(self.drift)
        out["estimated_share"] = str(self.estimated_share())
        out["estimates_may_explain"] = self.estimates_may_explain
        out["verdict"] = self.verdict
        return out


def _sort_key(group: GroupKey) -> tuple[Any, ...]:
    return (group.bucket_start, group.model or "", group.key or "", group.service_tier or "")


def compare(
    ledger: Mapping[GroupKey, Side],
    provider: Mapping[GroupKey, Side],
    tolerance_pct: Decimal,
    *,
    min_tokens: int = DEFAULT_MIN_TOKENS,
) -> list[Line]:
    """One line per group either side has tokens on, in bucket order."""
    lines = []
    for group in sorted(set(ledger) | set(provider), key=_sort_key):
        mine = ledger.get(group) or Side()
        theirs = provider.get(group) or Side(requests=None)
        ours, billed = mine.billed(), theirs.billed()
        if not ours and not billed:
            continue  # error rows, empty buckets: nothing billed on either side
        diff = {name: mine.tokens[name] - theirs.tokens[name] for name in COMPARED}
        net = sum(diff.values())
        apart = sum(abs(v) for v in diff.values())
        drift: Decimal | None = (Decimal(apart) / billed).quantize(SHARE_PLACES) if billed else None
        if apart <= min_tokens:
            verdict = WITHIN
        elif not billed:
            verdict = "missing_at_provider"
        elif not ours:
            verdict = "missing_in_ledger"
        elif drift is not None and drift * 100 <= tolerance_pct:
            verdict = WITHIN
        else:
            # Net zero with drift (input low, output high): the largest difference decides.
            lean = net or max(diff.values(), key=abs)
            verdict = "under_metered" if lean < 0 else "over_metered"
        explain = (
            verdict != WITHIN and mine.estimated_tokens > 0 and abs(net) <= mine.estimated_tokens
        )
        lines.append(Line(group, mine, theirs, diff, drift, verdict, explain))
    return lines
