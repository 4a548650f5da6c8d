"""Connections to the upstreams: httpx clients in shards of a few connections each.

httpcore's pool re-examines every pooled connection and every waiting request on each request
and each response close, so one pool's cost per request grows with its size: at 200
concurrent streams through one pool, throughput fell to less than half of that at 50. Shards
of `SHARD_CONNECTIONS` keep every pool small; a request goes to the shard with the fewest
requests in flight, and a new shard opens when all are full, up to the connection limit.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

SHARD_CONNECTIONS = 16


class UpstreamPool:
    def __init__(
        self,
        make_client: Callable[[httpx.Limits], httpx.AsyncClient],
        *,
        max_connections: int = 1000,
        shard_connections: int | None = None,
    ) -> None:
        self._make = make_client
        shard = SHARD_CONNECTIONS if shard_connections is None else shard_connections
        self._size = max(1, min(shard, max_connections))
        self._max_shards = max(1, max_connections // self._size)
        self._clients: list[httpx.AsyncClient] = []
        self._busy: list[int] = []

    def _open_shard(self) -> int:
        # Idle connections are dropped before common server keep-alive timeouts (uvicorn 5 s):
        # reusing one the server is closing fails the request (ReadError).
        limits = httpx.Limits(
            max_connections=self._size, max_keepalive_connections=self._size, keepalive_expiry=4.0
        )
        self._clients.append(self._make(limits))
        self._busy.append(0)
        return len(self._clients) - 1

    @property
    def first(self) -> httpx.AsyncClient:
        """A client for building requests (any shard sends any request)."""
        if not self._clients:
            self._open_shard()
        return self._clients[0]

    def acquire(self) -> tuple[int, httpx.AsyncClient]:
        """The shard for the next request; `release` it when its response is closed."""
        best = min(range(len(self._busy)), key=self._busy.__getitem__, default=-1)
        if best < 0 or (self._busy[best] >= self._size and len(self._clients) < self._max_shards):
            best = self._open_shard()
        self._busy[best] += 1
        return best, self._clients[best]

    def release(self, shard: int) -> None:
        self._busy[shard] -= 1

    @property
    def in_flight(self) -> int:
        return sum(self._busy)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
