"""`sseusage export` of a large ledger: wall time and peak memory of the command, as a user
runs it (a subprocess writing to /dev/null, so terminal speed is not measured).

The ledger is made once with realistic rows (varied models, tokens, a tenth flagged, tags on
half), written straight through SQL so that making it takes seconds, not the proxy's pace.
Peak memory is the child's maximum resident set (getrusage), for two sizes: if rows were
gathered it would grow with the row count.

    PYTHONPATH=python python benches/bench_export.py [--rows 1000000] [--pg DSN]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from sseusage_fast.ledger import COLUMNS, LedgerRow, open_ledger
from sseusage_fast.ledger.base import row_to_json

MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o", "gpt-4o-mini", "gemini-2.5-pro")


def make_rows(n: int, seed: int = 7) -> list[tuple]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        flagged = rng.random() < 0.1
        row = LedgerRow(
            ts=start + timedelta(seconds=i * 5),
            latency_ms=rng.uniform(200, 9000),
            http_status=200,
            method="POST",
            path="/v1/messages",
            request_id=f"req_{i:09d}",
            message_id=f"msg_{rng.getrandbits(64):016x}",
            key_fingerprint=f"key-{rng.randrange(20)}",
            provider="anthropic",
            model=rng.choice(MODELS),
            input_tokens=rng.randrange(50, 20000),
            output_tokens=rng.randrange(1, 4000),
            cache_read_input_tokens=rng.randrange(0, 50000),
            status="partial" if flagged else "complete",
            no_usage_data=False,
            requires_manual_review=flagged,
            estimated=("output_tokens",) if flagged else (),
            source="estimate" if flagged else "provider",
        )
        out.append(row)
    return out


def build_sqlite(path: str, n: int) -> None:
    import sqlite3

    open_ledger(path, spool=False).close()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE requests ADD COLUMN tags TEXT")
    conn.execute("ALTER TABLE requests ADD COLUMN end_user TEXT")
    cols = [*COLUMNS, "tags", "end_user"]
    sql = f"INSERT INTO requests ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    for lo in range(0, n, 50_000):
        batch = []
        for row in make_rows(min(50_000, n - lo), seed=lo):
            data = json.loads(row_to_json(row))
            data["no_usage_data"] = int(data["no_usage_data"])
            data["requires_manual_review"] = int(data["requires_manual_review"])
            data["estimated"] = json.dumps(data["estimated"])
            data["uuid"] = f"{lo}-{data['request_id']}"
            tags = '{"team": "search"}' if data["latency_ms"] > 4000 else None
            batch.append([*(data[c] for c in COLUMNS), tags, "user-1"])
        conn.executemany(sql, batch)
        conn.commit()
    conn.close()


# The child reports its own peak (VmHWM: the high-water mark of its own address space,
# which a fork from this larger process does not inherit, unlike getrusage's maxrss).
CHILD = (
    "import sys; from sseusage_fast.cli import main; rc = main(sys.argv[1:]); "
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]; "
    "sys.stderr.write(hwm); sys.exit(rc)"
)


def run_export(db: str, fmt: str) -> tuple[float, float]:
    """Seconds and the child's peak RSS (MiB) of one `sseusage export` to /dev/null."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    t0 = time.perf_counter()
    with open(os.devnull, "w") as sink:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, "export", "--db", db, "--format", fmt],
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            check=True,
        )
    elapsed = time.perf_counter() - t0
    kib = int(proc.stderr.split()[-2])
    return elapsed, kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "small.db")
        big = os.path.join(tmp, "big.db")
        t0 = time.perf_counter()
        build_sqlite(small, args.rows // 20)
        build_sqlite(big, args.rows)
        print(
            f"made ledgers of {args.rows // 20:,} and {args.rows:,} rows in "
            f"{time.perf_counter() - t0:.0f} s"
        )
        for fmt in ("csv", "jsonl"):
            s_time, s_rss = run_export(small, fmt)
            b_time, b_rss = run_export(big, fmt)
            print(
                f"{fmt:5}: {args.rows:,} rows in {b_time:.1f} s "
                f"({args.rows / b_time:,.0f} rows/s); peak RSS {b_rss:.0f} MiB "
                f"(vs {s_rss:.0f} MiB for {args.rows // 20:,} rows in {s_time:.1f} s)"
            )


if __name__ == "__main__":
    main()
