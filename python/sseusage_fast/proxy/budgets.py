"""Budgets: USD limits per key fingerprint or tag, enforced before a request is forwarded.

Spend in a budget's window = the cost the ledger has recorded (read from the database, so it
includes every proxy sharing it) + the holds of this proxy's requests still running, or ended
but perhaps not yet committed (their rows are left out of the read while their holds count,
so nothing is counted twice). A hold is the request's estimated cost at admission (its body
as input tokens, at about 4 bytes a token, plus `max_tokens` of output: an upper bound), and
becomes the row's cost when it ends (its estimate when the row has none).

A request is refused when spend has reached the limit. The recorded part is re-read at most
every `refresh` seconds, and before every admission once spend is past `close_fraction` of
the limit. Admission (check and hold) happens without a pause in between, so requests of one
proxy always see each other. What one proxy cannot see is another's requests still running:
see the README (Budgets) for the worst case this leaves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import anyio

from sseusage_fast.proxy.config import Budget, window_start

# A row is committed this long after its request ended, at most, in normal running (the row
# batch, the writer's linger and its transaction); until then a hold still counts.
SETTLE_MARGIN = 2.0
BYTES_PER_TOKEN = 4


@dataclass(slots=True)
class Hold:
    budgets: tuple[int, ...]
    amount: Decimal
    settled_at: float | None = None
    # The row's uuid once it has one: left out of ledger reads while the hold counts.
    uuid: str | None = None
    # Budgets whose recorded spend (as last read) includes this request's row.
    in_recorded: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Recorded:
    spend: Decimal = Decimal(0)
    window_start: datetime | None = None
    read_at: float = -float("inf")  # when the read that gave `spend` started
    lock: anyio.Lock = field(default_factory=anyio.Lock)


def seconds_to_reset(budget: Budget, now: datetime) -> int | None:
    """For Retry-After: seconds until a calendar window starts again; None for rolling ones."""
    start = window_start(budget, now)
    if budget.window == "day":
        end = start + timedelta(days=1)
    elif budget.window == "month":
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        return None
    return max(1, int((end - now).total_seconds()))


def ledger_spend(
    ledger: Any, budget: Budget, since: datetime, exclude: tuple[str, ...] = ()
) -> Decimal:
    """Cost recorded in the ledger since `since` for the budget's key or tag, without the rows
    named in `exclude` (counted by their holds). Runs in a worker thread (a database call)."""
    if ledger is None or not hasattr(ledger, "_fetchall"):
        return Decimal(0)
    p = ledger.placeholder
    total = getattr(ledger, "cost_sum_expr", "SUM(cost_usd)")
    params: list[Any] = [ledger._to_db("ts", since)]
    if budget.key is not None:
        where = f"key_fingerprint = {p}"
        params.append(budget.key)
    else:
        # Tags are stored sorted as `a=1,b=2`: a whole tag is found between commas.
        where = f"(',' || tags || ',') LIKE {p}"
        params.append("%," + _like_escape(str(budget.tag)) + ",%")
    sql = f"SELECT {total} FROM requests WHERE ts >= {p} AND {where}"
    if "LIKE" in where:
        sql += " ESCAPE '\\'"
    if exclude:
        sql += f" AND uuid NOT IN ({', '.join([p] * len(exclude))})"
        params.extend(exclude)
    value = ledger._fetchall(sql, params)[0][0]
    return Decimal(str(value)) if value is not None else Decimal(0)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class BudgetBook:
    def __init__(
        self,
        budgets: tuple[Budget, ...],
        ledger: Any,
        *,
        refresh: float = 1.0,
        close_fraction: Decimal = Decimal("0.9"),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budgets = budgets
        self.ledger = ledger
        self.refresh = refresh
        self.close_fraction = close_fraction
        self.clock = clock
        self._recorded = [_Recorded() for _ in budgets]
        self._holds: list[Hold] = []

    def matching(self, key_fingerprint: str | None, tags: dict[str, str]) -> tuple[int, ...]:
        found = []
        for i, budget in enumerate(self.budgets):
            if budget.key is not None and budget.key == key_fingerprint:
                found.append(i)
            elif budget.tag is not None:
                name, _, value = budget.tag.partition("=")
                if tags.get(name) == value:
                    found.append(i)
        return tuple(found)

    def spend(self, i: int) -> Decimal:
        """Recorded spend (as last read) plus the holds that are not in it."""
        held = sum(
            (h.amount for h in self._holds if i in h.budgets and i not in h.in_recorded),
            Decimal(0),
        )
        return self._recorded[i].spend + held

    async def _read(self, i: int, now: datetime) -> None:
        state = self._recorded[i]
        async with state.lock:  # one read per budget at a time; others wait for its result
            start = window_start(self.budgets[i], now)
            fresh = self.clock() - state.read_at < self.refresh and state.window_start == start
            close = self.spend(i) >= self.budgets[i].usd * self.close_fraction
            if fresh and not close:
                return
            began = self.clock()
            # Rows of requests ended long enough ago are in the database: read with them.
            # Those of more recent ones may not be: read without them, their holds count.
            cutoff = began - SETTLE_MARGIN
            mine = [h for h in self._holds if i in h.budgets and h.uuid is not None]
            recent = tuple(str(h.uuid) for h in mine if (h.settled_at or 0.0) > cutoff)
            folded = [h for h in mine if (h.settled_at or 0.0) <= cutoff]
            if self.ledger is None:
                # No database: what the holds settled is the only record of spend.
                previous = state.spend if state.window_start == start else Decimal(0)
                spend = previous + sum(
                    (h.amount for h in folded if i not in h.in_recorded), Decimal(0)
                )
            else:
                spend = await anyio.to_thread.run_sync(
                    ledger_spend, self.ledger, self.budgets[i], start, recent
                )
            state.spend, state.window_start, state.read_at = spend, start, began
            for h in folded:
                h.in_recorded.add(i)  # settled well before the read began: in its sum
            self._holds = [h for h in self._holds if not h.in_recorded.issuperset(h.budgets)]

    async def admit(
        self, key_fingerprint: str | None, tags: dict[str, str], estimate: Decimal
    ) -> tuple[Hold | None, Budget | None, Decimal]:
        """(hold, None, 0) when the request may go, (None, budget, spend) when `budget` is
        spent. (None, None, 0) when no budget applies."""
        found = self.matching(key_fingerprint, tags)
        if not found:
            return None, None, Decimal(0)
        now = datetime.now(timezone.utc)
        for i in found:
            await self._read(i, now)
        # From here to the hold, no await: requests of this proxy see each other's holds.
        for i in found:
            spend = self.spend(i)
            if spend >= self.budgets[i].usd:
                return None, self.budgets[i], spend
        hold = Hold(found, estimate)
        self._holds.append(hold)
        return hold, None, Decimal(0)

    def is_close(self, hold: Hold) -> bool:
        """One of the hold's budgets is near its limit: its row should not wait for a batch,
        so that other proxies see it sooner."""
        return any(self.spend(i) >= self.budgets[i].usd * self.close_fraction for i in hold.budgets)

    def settle(self, hold: Hold, cost: Decimal | None, uuid: str) -> None:
        """The request has ended: its hold becomes its cost, counted here until a ledger read
        that began `SETTLE_MARGIN` after it includes its row (`uuid`)."""
        if cost is not None:
            hold.amount = cost
        hold.settled_at = self.clock()
        hold.uuid = uuid


def estimate_cost(
    price: Callable[[Any], Decimal | None], model: str | None, body: bytes, max_tokens: Any
) -> Decimal:
    """An upper estimate of a request's cost, for its hold: its body as input tokens, plus
    `max_tokens` of output. 0 when the model has no price."""
    if model is None:
        return Decimal(0)
    from sseusage_fast.record import UsageRecord

    output = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 0
    record = UsageRecord(
        model=model, input_tokens=len(body) // BYTES_PER_TOKEN, output_tokens=output
    )
    return price(record) or Decimal(0)
