"""Several server processes on one listening socket (`--workers N`).

The supervisor binds the socket and forks; each worker opens its own ledger (its own writer
thread and its own spool file, see `ledger/spool.py`), serves the shared socket (the kernel
hands each connection to one of them) and drains on SIGTERM as a single process does. The
supervisor passes SIGTERM and SIGINT on to every worker once, waits for them all, and exits
with the worst status. A worker that dies on its own stops the others: the service manager
sees a failed proxy and restarts it whole, rather than a proxy quietly running short.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("sseusage_fast.proxy")


def supervise(count: int, serve: Callable[[], None]) -> int:
    """Run `serve` in `count` forked processes until all have ended; 0 when all ended 0, else
    the highest status (a worker killed by a signal counts as 1)."""
    children: dict[int, int] = {}
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child; the tests see its effects
            os._exit(_worker(index, serve))
        children[pid] = index
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            log.info("shutting down %d workers on %s", len(children), signal.Signals(signum).name)
        stopping = True
        _signal_all(children)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    worst = 0
    try:
        while children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid not in children:
                continue
            index = children.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                worst = max(worst, code if code > 0 else 1)
                if not stopping:
                    log.error(
                        "worker %d (pid %d) ended with status %d: stopping the others",
                        index,
                        pid,
                        code,
                    )
                    stopping = True
                    _signal_all(children)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return worst


def _signal_all(children: dict[int, int]) -> None:
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def _worker(index: int, serve: Callable[[], None]) -> int:  # pragma: no cover - in the child
    # A terminal's Ctrl-C goes to the process group: the worker leaves it, so that it gets the
    # supervisor's one SIGTERM only (a second signal would make uvicorn cut streams at once).
    os.setpgid(0, 0)
    try:
        serve()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # said in the log; the status tells the supervisor
        log.exception("worker %d failed", index)
        return 1
    finally:
        logging.shutdown()
    return 0
