"""Settings of one proxy instance."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    upstream: str
    # Long generations stream for minutes and may pause between events while thinking: the read
    # timeout is per read, so 600 s only fires on a stalled upstream.
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    write_timeout: float = 60.0
    pool_timeout: float = 30.0
    # On SIGTERM/SIGINT: stop accepting, let in-flight streams finish for up to this long, then
    # cut what is left (recorded `cancelled`). Rows are written before the process exits.
    drain_timeout: float = 300.0
    # False turns the proxy into a plain relay (no parsing, no ledger): the benchmark baseline.
    meter: bool = True
    # Keep the bodies of flagged requests so that `backfill` can re-estimate them later.
    keep_flagged_bodies: bool = False
    max_kept_bytes: int = 8 * 1024 * 1024
    # Honour HTTP(S)_PROXY from the environment for the upstream connection.
    trust_env: bool = True
