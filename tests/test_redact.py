"""redact.py: secrets out of stored and logged text, control characters out of log lines."""

from __future__ import annotations

import pytest
from sseusage_fast.ledger import LedgerRow
from sseusage_fast.redact import escape_control, safe_text, scrub_secrets

ANTHROPIC = "sk-ant-api03-" + "A1b2C3d4" * 11 + "-xyzAA"
OPENAI = "sk-proj-" + "Zz09_-" * 8
GOOGLE = "AIza" + "SyD-0123456789abcdefghijklmnopqrstu"
AWS = "AKIAIOSFODNN7EXAMPLE"


@pytest.mark.parametrize(
    "text",
    [
        f"invalid x-api-key: {ANTHROPIC}",
        f"Incorrect API key provided: {OPENAI}. You can find your API key at ...",
        f"API key not valid: {GOOGLE}",
        f"The security token {AWS} is invalid",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature",
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "GET /v1beta/models/x:generate?alt=sse&key=AnyShapeOfKeyValue123",
        "api_key: abcdefgh12345678",
    ],
)
def test_key_shaped_tokens_are_scrubbed(text: str) -> None:
    out = scrub_secrets(text)
    assert "***" in out
    for secret in (ANTHROPIC, OPENAI, GOOGLE, AWS, "eyJhbGciOiJIUzI1NiJ9", "wJalrXUtnFEMI"):
        assert secret not in out
    assert "AnyShapeOfKeyValue123" not in out and "abcdefgh12345678" not in out


def test_known_secrets_of_any_shape_are_scrubbed_longest_first() -> None:
    known = ("custom-key-1234", "Bearer custom-key-1234", "abc")
    out = scrub_secrets("auth Bearer custom-key-1234 then custom-key-1234; abc stays", known)
    assert out == "auth *** then ***; abc stays"  # values under 4 characters are not secrets


def test_ordinary_text_is_left_alone() -> None:
    text = "model claude-opus-4-6, task-ask-skeleton, sk-short, the key=short, Bearer token, api"
    assert scrub_secrets(text) == text


def test_escape_control_makes_one_inert_line() -> None:
    assert escape_control("plain text, ünïcode") == "plain text, ünïcode"
    forged = "claude\n2026-01-01 INFO forged line\r\x1b[2J\x07\x00\x7f\x85\u2028end\t"
    out = escape_control(forged)
    assert out == (
        "claude\\n2026-01-01 INFO forged line\\r\\x1b[2J\\x07\\x00\\x7f\\x85\\u2028end\\t"
    )
    assert out.isprintable()


def test_safe_text_scrubs_escapes_and_cuts() -> None:
    assert safe_text(None) == "-"
    out = safe_text(f"bad key\n{ANTHROPIC} " + "x" * 100, limit=20)
    assert out.startswith("bad key\\n*** xxxxxxx") and out.endswith("...(+93)")
    assert "\n" not in out


def test_row_scrubbed_cuts_secrets_from_every_text_column() -> None:
    row = LedgerRow(
        error_message=f"invalid x-api-key: {ANTHROPIC}",
        model=f"m-{OPENAI}",
        path="/v1/messages/my-own-secret-1",
        request_id="req_1",
    )
    out = row.scrubbed(("my-own-secret-1",))
    assert out.error_message == "invalid x-api-key: ***"
    assert out.model == "m-***" and out.path == "/v1/messages/***"
    assert out.request_id == "req_1" and out.uuid == row.uuid
    clean = LedgerRow(error_message="overloaded", model="claude-opus-4-6")
    assert clean.scrubbed(("unrelated-secret",)) is clean  # nothing to cut: the same object
