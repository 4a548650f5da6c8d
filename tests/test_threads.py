"""Thread safety.

- One native parser (or decoder) fed from two threads at once: each call either works or raises
  RuntimeError ("Already borrowed" / "already mutably borrowed", PyO3's guard on `&mut self`);
  never a crash, never a corrupt record. When every call worked, the record is exactly the one
  that feeding the same chunks from one thread gives.
- Many parsers in many threads are independent: each gives its exact record (both backends).
- The pure parser shared between threads is documented as unsupported (`UsageParser`'s
  docstring): it must not crash the interpreter and `finish()` still gives a sane record.
- The extension declares `gil_used = false`; where the interpreter can tell
  (`sys._is_gil_enabled`, Python 3.13+), importing it leaves the GIL disabled on a free-threaded
  build. Elsewhere: it imports and works under threads.
- One Estimator shared by parsers in many threads stays consistent: no lost samples, the same
  learned ratio as the same records observed one after another.
"""

from __future__ import annotations

import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from sseusage_fast.estimate import Estimator
from sseusage_fast.record import STATUSES, TOKEN_FIELDS, UsageRecord

ROOT = Path(__file__).resolve().parent.parent
BORROW_MESSAGES = ("already borrowed", "already mutably borrowed")

START = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_t","type":'
    b'"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":'
    b'{"input_tokens":120,"output_tokens":1}}}\n\n'
)
# A chunk of whole events, so that the order chunks arrive in does not change the record.
DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":'
    b'{"type":"text_delta","text":"The quick brown fox jumps over the lazy dog. "}}\n\n'
) * 8 + b'event: ping\ndata: {"type": "ping"}\n\n'


def end(output_tokens: int) -> bytes:
    return (
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":'
        b'"end_turn"},"usage":{"output_tokens":' + str(output_tokens).encode() + b"}}\n\n"
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )


def assert_sane(record: UsageRecord) -> None:
    assert isinstance(record, UsageRecord)
    assert record.status in STATUSES
    for name in TOKEN_FIELDS:
        value = getattr(record, name)
        assert value is None or (type(value) is int and 0 <= value <= 10**12), (name, value)


@contextmanager
def fast_switching() -> Iterator[None]:
    """Switch threads as often as the interpreter allows, to make interleavings likely."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(count: int, target: Callable[[int], None]) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    with fast_switching():
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def is_borrow_error(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in BORROW_MESSAGES)


# ---------------------------------------------------------------------------------------------
# one native object, two threads


FEEDS_PER_THREAD = 400


def test_one_native_parser_two_threads_errors_clearly_or_is_safe(
    both: tuple[ModuleType, ModuleType],
) -> None:
    native, _ = both
    parser = native.UsageParser(estimator=Estimator())
    parser.feed(START)
    fed = [0, 0]
    refused = [0, 0]

    def feed(index: int) -> None:
        for _ in range(FEEDS_PER_THREAD):
            try:
                parser.feed(DELTA)
            except RuntimeError as exc:
                assert is_borrow_error(exc), f"unexpected error: {exc!r}"
                refused[index] += 1
            else:
                fed[index] += 1

    run_threads(2, feed)
    parser.feed(end(900))
    record = parser.finish()
    assert_sane(record)

    # The same chunks from one thread: the record must be exactly this one.
    alone = native.UsageParser(estimator=Estimator())
    alone.feed(START)
    for _ in range(sum(fed)):
        alone.feed(DELTA)
    alone.feed(end(900))
    assert record.to_dict() == alone.finish().to_dict()
    assert sum(fed) + sum(refused) == 2 * FEEDS_PER_THREAD
    assert sum(fed) >= FEEDS_PER_THREAD  # a refused call never blocks the other thread out


def test_one_native_decoder_two_threads_errors_clearly_or_is_safe(
    both: tuple[ModuleType, ModuleType],
) -> None:
    native, _ = both
    decoder = native.SSEDecoder()
    per_chunk = len(native.SSEDecoder().feed(DELTA))
    got = [0, 0]
    fed = [0, 0]

    def feed(index: int) -> None:
        for _ in range(FEEDS_PER_THREAD):
            try:
                batch = decoder.feed(DELTA)
            except RuntimeError as exc:
                assert is_borrow_error(exc), f"unexpected error: {exc!r}"
            else:
                fed[index] += 1
                got[index] += len(batch)
                assert all(e.data.startswith("{") for e in batch)

    run_threads(2, feed)
    assert sum(got) == sum(fed) * per_chunk
    assert decoder.flush() == []


def test_native_feed_after_finish_from_another_thread(
    both: tuple[ModuleType, ModuleType],
) -> None:
    native, _ = both
    parser = native.UsageParser(estimator=Estimator())
    parser.feed(START + DELTA + end(50))
    record = parser.finish()
    outcome: list[BaseException | None] = []

    def late(_: int) -> None:
        try:
            parser.feed(DELTA)
        except RuntimeError as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    run_threads(1, late)
    assert isinstance(outcome[0], RuntimeError) and "finish" in str(outcome[0])
    assert parser.finish() == record


# ---------------------------------------------------------------------------------------------
# many parsers, many threads: independent


def stream_for(index: int) -> bytes:
    return START.replace(b"120", str(100 + index).encode()) + DELTA * (index + 1) + end(index)


def test_many_parsers_in_many_threads_are_independent(backend: ModuleType) -> None:
    threads, rounds = 8, 20 if backend.__name__.endswith("native") else 5
    expected = {
        i: backend.parse_usage(stream_for(i), estimator=Estimator()).to_dict()
        for i in range(threads)
    }
    results: dict[int, list[dict[str, Any]]] = {i: [] for i in range(threads)}

    def work(index: int) -> None:
        body = stream_for(index)
        for r in range(rounds):
            parser = backend.UsageParser(estimator=Estimator())
            step = 7 + r * 13 + index
            for start in range(0, len(body), step):
                parser.feed(body[start : start + step])
            results[index].append(parser.finish().to_dict())
            results[index].append(backend.parse_usage(body, estimator=Estimator()).to_dict())

    run_threads(threads, work)
    for index, records in results.items():
        assert len(records) == 2 * rounds
        for record in records:
            assert record == expected[index]
            assert record["input_tokens"] == 100 + index
            assert record["output_tokens"] == index


def test_many_decoders_in_many_threads_are_independent(backend: ModuleType) -> None:
    threads = 8
    expected = {i: len(backend.SSEDecoder().feed(stream_for(i))) for i in range(threads)}
    counts: dict[int, int] = {}

    def work(index: int) -> None:
        decoder = backend.SSEDecoder(last_event_id=str(index))
        body = stream_for(index)
        total = 0
        for start in range(0, len(body), 5):
            batch = decoder.feed(body[start : start + 5])
            assert all(e.id == str(index) for e in batch)
            total += len(batch)
        counts[index] = total

    run_threads(threads, work)
    assert counts == expected


# ---------------------------------------------------------------------------------------------
# the pure parser shared between threads: unsupported (documented), but never a crash


def test_pure_parser_shared_between_threads_is_unsupported_but_safe(
    both: tuple[ModuleType, ModuleType],
) -> None:
    _, pure = both
    assert "not supported" in (pure.UsageParser.__doc__ or "")
    parser = pure.UsageParser(estimator=Estimator())
    parser.feed(START)
    unexpected: list[BaseException] = []

    def feed(_: int) -> None:
        for _ in range(FEEDS_PER_THREAD // 4):
            try:
                parser.feed(DELTA)
            except Exception as exc:  # noqa: BLE001 - any Python error is "unsupported"
                unexpected.append(exc)

    run_threads(2, feed)
    parser.feed(end(900))
    record = parser.finish()
    assert_sane(record)
    assert record.status in ("complete", "partial", "no_usage", "error")
    # Interleaved feeds may lose or mix text; the provider's own counts still come through.
    assert record.output_tokens == 900 or unexpected


# ---------------------------------------------------------------------------------------------
# free-threading stance


def test_extension_declares_gil_not_used() -> None:
    source = (ROOT / "rust" / "python" / "mod.rs").read_text()
    assert "#[pymodule(gil_used = false)]" in source


def test_extension_keeps_the_gil_disabled_where_the_interpreter_can_tell(
    both: tuple[ModuleType, ModuleType],
) -> None:
    native, _ = both
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if is_gil_enabled is None:
        # Python < 3.13: nothing to ask; the module imports and works under threads.
        records: list[UsageRecord] = []
        run_threads(
            4,
            lambda i: records.append(native.parse_usage(stream_for(i), estimator=Estimator())),
        )
        assert sorted(r.output_tokens for r in records) == [0, 1, 2, 3]
        return
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        # A module that did not declare gil_used = false would have re-enabled the GIL.
        assert is_gil_enabled() is False
    else:
        assert is_gil_enabled() is True


# ---------------------------------------------------------------------------------------------
# one Estimator shared by parsers in threads


def calibration_stream(index: int) -> bytes:
    # Complete, text-only records: each teaches the estimator one output sample, all the same
    # ratio, so the learned state does not depend on the order the threads finish in.
    return START + DELTA * (4 + index % 3) + end(400 * (4 + index % 3))


def test_estimator_shared_by_parsers_in_threads_stays_consistent(backend: ModuleType) -> None:
    threads, per_thread = 8, 25
    shared = Estimator()
    estimates: list[int] = []

    def work(index: int) -> None:
        for i in range(per_thread):
            parser = backend.UsageParser(estimator=shared)
            body = calibration_stream(index * per_thread + i)
            for start in range(0, len(body), 97):
                parser.feed(body[start : start + 97])
            record = parser.finish()
            assert record.status == "complete"
            assert record.estimated == ()
            estimates.append(shared.count("hello world " * 50, model="claude-sonnet-4-5"))

    run_threads(threads, work)

    sequential = Estimator()
    for n in range(threads * per_thread):
        parser = backend.UsageParser(estimator=sequential)
        parser.feed(calibration_stream(n))
        parser.finish()
    assert shared.learned == sequential.learned == threads * per_thread
    model = "claude-sonnet-4-5"
    assert shared.samples(model) == sequential.samples(model)
    assert shared.ratio(model) == sequential.ratio(model)
    assert shared.ratio(model) is not None
    assert shared.to_json() == sequential.to_json()
    assert all(0 < e < 10_000 for e in estimates)
