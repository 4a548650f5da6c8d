"""`sseusage` command line: `inspect` on every shipped example (text and --json), stdin,
unreadable files, the ledger subcommands' registration, and the console entry point."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sseusage_fast.cli import main
from sseusage_fast.cli.inspect import line_ending_style
from sseusage_fast.ledger.writer import RowWriter

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

STRIPPED = "stripped upstream (a proxy or gateway removed usage)"


def run_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["inspect", *args]) == 0
    return capsys.readouterr().out


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["inspect", "--json", *args]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def example(name: str) -> str:
    return str(EXAMPLES / name)


def test_complete_anthropic_stream(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, example("anthropic_stream.sse"))
    ev, rec = out["events"], out["record"]
    assert ev["count"] == 8
    assert ev["by_type"] == {
        "message_start": 1,
        "content_block_start": 1,
        "ping": 1,
        "content_block_delta": 2,
        "content_block_stop": 1,
        "message_delta": 1,
        "message_stop": 1,
    }
    assert ev["line_endings"] == "LF"
    assert ev["bytes"] == (EXAMPLES / "anthropic_stream.sse").stat().st_size
    assert rec["status"] == "complete"
    assert rec["provider"] == "anthropic"
    assert rec["model"] == "claude-sonnet-4-5-20250929"
    assert rec["message_id"] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert (rec["input_tokens"], rec["output_tokens"]) == (472, 12)
    assert rec["cache_creation_input_tokens"] == 2048
    assert rec["cache_read_input_tokens"] == 5120
    assert rec["requires_manual_review"] is False
    assert rec["estimated"] == []
    assert out["diagnosis"] == []

    text = run_text(capsys, example("anthropic_stream.sse"))
    assert "events: 8" in text
    assert "line endings LF" in text
    assert "message_delta" in text
    assert "status                          complete" in text
    assert "none: usage complete" in text


def test_usage_stripped_upstream(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, example("anthropic_no_usage.sse"))
    rec = out["record"]
    assert rec["status"] == "no_usage"
    assert rec["no_usage_data"] is True
    assert rec["requires_manual_review"] is True
    assert "output_tokens" in rec["estimated"]
    assert rec["output_tokens"] > 0
    assert rec["input_tokens"] is None
    diag = out["diagnosis"]
    assert diag[0].startswith(STRIPPED)
    assert "message_start carries no usage fields" in diag[0]
    assert any("--request" in d for d in diag)

    text = run_text(capsys, example("anthropic_no_usage.sse"))
    assert STRIPPED in text
    assert "(estimated)" in text
    assert "doubtful" in text
    # The record's range and the cost's, for the estimate.
    low, high = rec["estimate_ranges"]["output_tokens"]
    assert f"range {low} to {high}" in text
    assert "estimate_reasons" in text and "no_request" in text


def test_request_body_gives_input_estimate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    req = tmp_path / "request.json"
    req.write_text(
        json.dumps(
            {
                "model": "claude-sonnet-4-5-20250929",
                "max_tokens": 1024,
                "messages": [{"role": "user", "content": "What is the capital of France?"}],
            }
        )
    )
    out = run_json(capsys, example("anthropic_no_usage.sse"), "--request", str(req))
    rec = out["record"]
    assert rec["input_tokens"] is not None and rec["input_tokens"] > 0
    assert "input_tokens" in rec["estimated"]
    assert not any("--request" in d for d in out["diagnosis"])


def test_cut_stream(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, example("anthropic_cut.sse"))
    rec = out["record"]
    assert rec["status"] == "partial"
    assert rec["input_tokens"] == 1318
    assert rec["estimated"] == ["output_tokens"]
    assert rec["requires_manual_review"] is True
    assert out["events"]["by_type"]["content_block_delta"] == 3
    assert "message_delta" not in out["events"]["by_type"]
    assert any(d.startswith("cut stream") for d in out["diagnosis"])
    assert not any(STRIPPED in d for d in out["diagnosis"])

    assert "cut stream: message_start but no message_delta" in run_text(
        capsys, example("anthropic_cut.sse")
    )


def test_cut_inside_the_last_event(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    body = (EXAMPLES / "anthropic_cut.sse").read_bytes().rstrip(b"\n")[:-10]
    path = tmp_path / "cut_mid_event.sse"
    path.write_bytes(body)
    out = run_json(capsys, str(path))
    assert out["events"]["unterminated_last_event"] is True
    assert "the last event was cut before its blank line" in out["diagnosis"]
    assert out["record"]["status"] == "partial"


def test_error_event_mid_stream(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, example("anthropic_error.sse"))
    rec = out["record"]
    assert rec["status"] == "error"
    assert rec["error_type"] == "overloaded_error"
    assert rec["error_message"] == "Overloaded"
    assert rec["input_tokens"] == 2041  # usage seen before the error is kept
    assert out["events"]["by_type"]["error"] == 1
    assert out["diagnosis"][0] == (
        "error event mid-stream: overloaded_error: Overloaded; usage seen before it is kept"
    )
    assert not any(d.startswith("cut stream") for d in out["diagnosis"])

    text = run_text(capsys, example("anthropic_error.sse"))
    assert "error_type                      overloaded_error" in text
    assert "error event mid-stream: overloaded_error: Overloaded" in text


def test_non_streaming_message_body(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, example("anthropic_message.json"))
    rec = out["record"]
    assert out["events"]["count"] == 0
    assert out["events"]["format"] == "JSON body"
    assert rec["status"] == "complete"
    assert (rec["input_tokens"], rec["output_tokens"]) == (14, 10)
    assert rec["model"] == "claude-haiku-4-5-20251001"
    assert out["diagnosis"] == []
    assert "JSON body" in run_text(capsys, example("anthropic_message.json"))


def test_html_error_page(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, example("error_page.html"))
    rec = out["record"]
    assert rec["status"] == "not_sse"
    assert rec["requires_manual_review"] is True
    assert out["events"]["format"] == "not an event stream"
    assert out["diagnosis"] == [f"not an event stream: {rec['error_message']}"]
    assert "HTML" in rec["error_message"]
    assert "not an event stream: an HTML" in run_text(capsys, example("error_page.html"))


def test_gzip_body(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "stream.sse.gz"
    path.write_bytes(gzip.compress((EXAMPLES / "anthropic_stream.sse").read_bytes()))
    out = run_json(capsys, str(path))
    assert out["record"]["status"] == "not_sse"
    assert "gzip" in out["diagnosis"][0]
    assert "decompress" in out["diagnosis"][0]


def test_json_error_body(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "error.json"
    path.write_text(
        '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},'
        '"request_id":"req_011CUbJ5m2QwXz8rTt4p7VnA"}'
    )
    out = run_json(capsys, str(path))
    rec = out["record"]
    assert rec["status"] == "error"
    assert rec["requires_manual_review"] is False  # an error response bills nothing
    assert out["diagnosis"] == [
        "error response body: overloaded_error: Overloaded (an error response bills nothing)"
    ]


def test_openai_chat_stream_with_usage_chunk(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, example("openai_chat_stream.sse"))
    rec = out["record"]
    assert rec["provider"] == "openai"
    assert rec["status"] == "complete"
    assert rec["model"] == "gpt-4o-2024-08-06"
    assert rec["input_tokens"] == 512  # prompt 1536 minus 1024 cached
    assert rec["cache_read_input_tokens"] == 1024
    assert rec["output_tokens"] == 9
    assert rec["requires_manual_review"] is False
    assert rec["estimated"] == []
    assert out["diagnosis"] == []


def test_openai_chat_stream_events(capsys: pytest.CaptureFixture[str]) -> None:
    # Event layer only: holds whatever the extractor does.
    out = run_json(capsys, example("openai_chat_stream.sse"))
    assert out["events"]["by_type"] == {"chat.completion.chunk": 5, "[DONE]": 1}
    assert not any("include_usage" in d for d in out["diagnosis"])


def test_openai_stream_without_usage_chunk(capsys: pytest.CaptureFixture[str]) -> None:
    frames = (EXAMPLES / "openai_chat_stream.sse").read_bytes().split(b"\n\n")
    body = b"\n\n".join(f for f in frames if b'"usage":{' not in f)
    stdin = io.TextIOWrapper(io.BytesIO(body))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdin", stdin)
        out = run_json(capsys, "-")
    assert out["events"]["by_type"] == {"chat.completion.chunk": 4, "[DONE]": 1}
    assert out["record"]["status"] == "no_usage"
    assert out["record"]["requires_manual_review"] is True
    assert any("ask for stream_options.include_usage" in d for d in out["diagnosis"])
    assert not any(d.startswith("cut stream") for d in out["diagnosis"])


def test_gemini_stream(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, example("gemini_stream.sse"))
    rec = out["record"]
    assert rec["provider"] == "gemini"
    assert rec["status"] == "complete"
    assert rec["model"] == "gemini-2.5-flash"
    assert rec["input_tokens"] == 11
    assert rec["output_tokens"] == 141  # candidates 27 + thoughts 114
    assert rec["reasoning_tokens"] == 114
    assert rec["requires_manual_review"] is False
    assert out["diagnosis"] == []


def test_gemini_stream_events(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, example("gemini_stream.sse"))
    assert out["events"]["line_endings"] == "CRLF"
    assert out["events"]["count"] == 3
    assert not any(d.startswith("cut stream") or STRIPPED in d for d in out["diagnosis"])
    assert "line endings CRLF" in run_text(capsys, example("gemini_stream.sse"))


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = (EXAMPLES / "anthropic_stream.sse").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    text = run_text(capsys, "-")
    assert text.startswith(f"<stdin>: {len(data):,} bytes")
    assert "472" in text


def test_provider_option(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--provider", "anthropic", example("anthropic_stream.sse"))
    assert out["record"]["status"] == "complete"
    assert main(["inspect", "--provider", "nope", example("anthropic_stream.sse")]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.sse"
    assert main(["inspect", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"sseusage inspect: cannot read {missing}: No such file or directory" in captured.err
    assert main(["inspect", str(tmp_path)]) == 2  # a directory
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("body", "style"),
    [
        (b"a\nb\n", "LF"),
        (b"a\r\nb\r\n", "CRLF"),
        (b"a\rb\r", "CR"),
        (b"a\r\nb\n", "mixed (LF, CRLF)"),
        (b"ab", "none"),
    ],
)
def test_line_ending_style(body: bytes, style: str) -> None:
    assert line_ending_style(body) == style


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("sseusage 0.1.0 (")
    assert main([]) == 2
    assert "inspect" in capsys.readouterr().err
    for command in ("inspect", "proxy", "report", "export", "backfill", "dashboard"):
        assert main([command, "--help"]) == 0
        assert f"sseusage {command}" in capsys.readouterr().out


def test_ledger_commands_unavailable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "sseusage_fast.cli.report", None)  # import fails
    assert main(["report", "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert "sseusage report: not available" in err
    assert "sseusage_fast.cli.report failed to import" in err
    # inspect still works
    assert main(["inspect", "--json", example("anthropic_stream.sse")]) == 0
    assert json.loads(capsys.readouterr().out)["record"]["status"] == "complete"


def test_console_entry_point_subprocess() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "sseusage_fast.cli", "inspect", "--json", "-"],
        input=(EXAMPLES / "anthropic_cut.sse").read_bytes(),
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["record"]["status"] == "partial"
    assert any(d.startswith("cut stream") for d in out["diagnosis"])


def test_inspect_does_not_import_the_proxy_stack() -> None:
    code = (
        "import sys; from sseusage_fast.cli import main; "
        f"rc = main(['inspect', {example('anthropic_stream.sse')!r}]); "
        "heavy = [m for m in ('starlette', 'uvicorn', 'httpx', 'psycopg') if m in sys.modules]; "
        "print('HEAVY', heavy); sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


def test_no_spool_help_says_where_rows_go(capsys: pytest.CaptureFixture[str]) -> None:
    # Without a spool no row is dropped: the ledger's bounded queue holds them, and what it
    # cannot hold (or still holds at exit) goes to stderr (README: "The ledger on a bad day").
    assert main(["proxy", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    help_ = text[text.rindex("--no-spool") :][:300]  # the option's line, not the usage
    assert "lost" not in help_
    assert f"up to {RowWriter.queue_limit:,}" in help_ and "stderr" in help_
